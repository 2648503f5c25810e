// Package web is the manager's HTTP side: the JSON API (fixed names; tools,
// checks and the gallery call them) and the pages people use, each page
// one handler, each form beside an API call that does the same.
package web

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/cloudlabs/cloudlabs/apps/manager/internal/control"
	"github.com/cloudlabs/cloudlabs/apps/manager/internal/store"
	"github.com/cloudlabs/cloudlabs/apps/manager/internal/web/templates"
	"github.com/cloudlabs/cloudlabs/internal/appkit"
	"github.com/cloudlabs/cloudlabs/internal/pool/metrics"
)

// Server serves the manager. Set the fields, then call Handler.
type Server struct {
	Control  *control.Controller
	Metrics  metrics.Store
	Notifier *store.Notifier
	// Token is the manager's API token and the sign-in secret.
	Token   string
	AppMets *appkit.Metrics
	Logger  *slog.Logger
	// DeleteData deletes the application's stored data beyond the caches
	// (the gallery's images and rows: main wires store.WipeGallery when
	// --gallery is set); nil deletes only the caches.
	DeleteData func(ctx context.Context) error
	// Now is the clock for sessions and charts (time.Now when nil).
	Now func() time.Time
	// MaxWait caps ?wait= on GET /api/pool (default 60 s).
	MaxWait time.Duration
}

func (s *Server) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// Handler routes every page and API call on its own mux.
func (s *Server) Handler() http.Handler {
	if s.AppMets == nil {
		s.AppMets = appkit.NewMetrics("manager")
	}
	if s.Notifier == nil {
		s.Notifier = store.NewNotifier()
	}
	mux := http.NewServeMux()
	inst := s.AppMets.Instrument
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.pageError(w, http.StatusForbidden, "This form was sent from another site, so it was refused.")
	}))
	route := func(pattern, name string, h http.Handler) { mux.Handle(pattern, inst(name, h)) }
	// API: each path also gets a method-less fallback, so a wrong method
	// is a JSON 405 naming the allowed ones, not net/http's plain text.
	api := func(path, name string, methods map[string]http.HandlerFunc) {
		allowed := ""
		for m, h := range methods {
			route(m+" "+path, name, s.api(h))
			allowed += " " + m
		}
		route(path, name, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allowed[1:])
			appkit.WriteError(w, http.StatusMethodNotAllowed, r.Method+" "+path+": method not allowed; use"+allowed)
		}))
	}
	api("/api/pool", "api_pool", map[string]http.HandlerFunc{"GET": s.apiPool})
	api("/api/pool/grow", "api_grow", map[string]http.HandlerFunc{"POST": s.apiStep(+1)})
	api("/api/pool/shrink", "api_shrink", map[string]http.HandlerFunc{"POST": s.apiStep(-1)})
	api("/api/policy", "api_policy", map[string]http.HandlerFunc{"GET": s.apiGetPolicy, "PUT": s.apiPutPolicy})
	api("/api/config", "api_config", map[string]http.HandlerFunc{"GET": s.apiGetConfig, "PUT": s.apiPutConfig})
	api("/api/clear", "api_clear", map[string]http.HandlerFunc{"POST": s.apiClear})
	api("/api/delete", "api_delete", map[string]http.HandlerFunc{"POST": s.apiDelete})
	api("/api/metrics", "api_metrics", map[string]http.HandlerFunc{"GET": s.apiMetrics})
	api("/api/decisions", "api_decisions", map[string]http.HandlerFunc{"GET": s.apiDecisions})
	route("/api/", "api_unknown", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		appkit.WriteError(w, http.StatusNotFound, r.URL.Path+": no such API; see GET /api/pool, /api/policy, /api/metrics, /api/decisions")
	}))

	route("GET /login", "page_login", http.HandlerFunc(s.loginForm))
	route("POST /login", "login", csrf.Handler(http.HandlerFunc(s.login)))
	route("POST /logout", "logout", csrf.Handler(http.HandlerFunc(s.logout)))
	route("GET /{$}", "page_dashboard", s.page(s.dashboard))
	route("GET /decisions", "page_decisions", s.page(s.decisionsPage))
	route("GET /delete", "page_delete", s.page(s.deletePage))
	for path, h := range map[string]func(http.ResponseWriter, *http.Request){
		"/pool/grow": s.formStep(+1), "/pool/shrink": s.formStep(-1), "/policy": s.formPolicy,
		"/config": s.formConfig, "/clear": s.formClear, "/delete": s.formDelete,
	} {
		route("POST "+path, "form"+path, csrf.Handler(s.form(h)))
	}
	route("GET /healthz", "healthz", http.HandlerFunc(appkit.Healthz))
	mux.Handle("GET /metrics", s.AppMets.Handler())
	return mux
}

func (s *Server) render(w http.ResponseWriter, status int, page string, data any) {
	var b bytes.Buffer
	if err := templates.Pages[page].ExecuteTemplate(&b, "layout", data); err != nil {
		s.logger().Error("render", "page", page, "err", err)
		http.Error(w, "could not render the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

func (s *Server) pageError(w http.ResponseWriter, status int, msg string) {
	s.render(w, status, "error.html", map[string]any{"Title": http.StatusText(status), "Message": msg, "Status": status})
}
