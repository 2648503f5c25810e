// Package server is the phone book's HTTP API: an HTML form to add
// contacts, JSON lookups and paginated listing, over a Store with an
// optional memcached cache in front of reads.
package server

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/cloudlabs/cloudlabs/apps/phonebook/internal/cache"
	"github.com/cloudlabs/cloudlabs/apps/phonebook/internal/store"
	"github.com/cloudlabs/cloudlabs/internal/appkit"
)

// Server routes the phone book's endpoints. Store, Logger and Metrics are
// required; Cache may be nil (every read then goes to the store).
type Server struct {
	Store   store.Store
	Cache   *cache.Cache
	Logger  *slog.Logger
	Metrics *appkit.Metrics
	// StoreTimeout bounds one store call per request (default 5s).
	StoreTimeout time.Duration

	m          *metrics
	cacheLog   *limitedLogger
	routes     map[string]http.Handler
	getHandler http.Handler
}

// Handler returns the server's root handler. Routing works on the escaped
// path, not http.ServeMux: the mux would clean /get/%2E%2E into a redirect
// and merge %2F with /, but both belong to names here.
func (s *Server) Handler() http.Handler {
	if s.StoreTimeout <= 0 {
		s.StoreTimeout = 5 * time.Second
	}
	s.m = newMetrics(s.Metrics)
	s.cacheLog = &limitedLogger{logger: s.Logger, every: 10 * time.Second}
	inst := s.Metrics.Instrument
	form := inst("add_form", http.HandlerFunc(s.addForm))
	add := inst("add", http.HandlerFunc(s.add))
	list := inst("list", http.HandlerFunc(s.list))
	s.routes = map[string]http.Handler{
		"/add":         form,
		"/add/":        form,
		"/add/handle":  add,
		"/add/handle/": add,
		"/list":        list,
		"/list/":       list,
		"/healthz":     inst("healthz", http.HandlerFunc(appkit.Healthz)),
		"/readyz":      inst("readyz", http.HandlerFunc(s.readyz)),
		"/metrics":     s.Metrics.Handler(),
		"/":            inst("index", http.HandlerFunc(index)),
	}
	s.getHandler = inst("get", http.HandlerFunc(s.get))
	s.routes["/get"] = s.getHandler
	return http.HandlerFunc(s.route)
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	if strings.HasPrefix(p, "/get/") {
		s.getHandler.ServeHTTP(w, r)
		return
	}
	if h, ok := s.routes[p]; ok {
		h.ServeHTTP(w, r)
		return
	}
	appkit.WriteError(w, http.StatusNotFound, "no such endpoint: try GET /add/, POST /add/handle/, GET /get/<name>, GET /get?name=<name>, GET /list")
}

// index sends people who open the bare address to the form.
func index(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/add/", http.StatusFound)
}

// allow answers 405 with an Allow header unless r uses one of methods.
func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	appkit.WriteError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed; use "+strings.Join(methods, " or "))
	return false
}
