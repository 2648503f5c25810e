package server

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/cloudlabs/cloudlabs/apps/gallery/internal/images"
	"github.com/cloudlabs/cloudlabs/apps/gallery/internal/server/templates"
)

// render executes a page into a buffer first, so a template error becomes
// a clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, status int, page string, data any) {
	var buf bytes.Buffer
	if err := templates.Pages[page].ExecuteTemplate(&buf, "layout", data); err != nil {
		s.Logger.Error("render page", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) pageError(w http.ResponseWriter, status int, msg string) {
	s.render(w, status, "error.html", struct {
		Status  string
		Message string
	}{fmt.Sprintf("%d %s", status, http.StatusText(status)), msg})
}

func getOnly(s *Server, w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	s.pageError(w, http.StatusMethodNotAllowed, "This page only answers GET.")
	return false
}

type uploadPage struct {
	Error, Key  string
	MaxKeyBytes int
	MaxImage    string
}

func (s *Server) uploadPage(w http.ResponseWriter, status int, key, errMsg string) {
	s.render(w, status, "upload.html", uploadPage{Error: errMsg, Key: key, MaxKeyBytes: images.MaxKeyBytes, MaxImage: humanBytes(s.MaxImage)})
}

func (s *Server) uploadForm(w http.ResponseWriter, r *http.Request) {
	if getOnly(s, w, r) {
		s.uploadPage(w, http.StatusOK, "", "")
	}
}

// upload handles the form: on success it redirects (303) to the key's
// page, so reloading it does not upload again; on failure it shows the
// form again with the message and the refusal's status.
func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.pageError(w, http.StatusMethodNotAllowed, "Upload with the form on the upload page.")
		return
	}
	key, data, err := s.readUpload(w, r)
	if err != nil {
		var ue *uploadError
		if errors.As(err, &ue) {
			s.uploadPage(w, ue.status, key, ue.msg)
			return
		}
		s.uploadPage(w, http.StatusBadRequest, key, err.Error())
		return
	}
	ctx, cancel := s.storageContext(r)
	defer cancel()
	if err := s.Images.Upload(ctx, key, data); err != nil {
		status, msg := s.status(r, err)
		s.uploadPage(w, status, key, msg)
		return
	}
	u := keyURL("/key", key)
	if key == "." || key == ".." {
		u += "&saved=1"
	} else {
		u += "?saved=1"
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// requestKey is the key of /key/<key> or /key?key=<key> (and /image).
func requestKey(r *http.Request, base string) (string, error) {
	if r.URL.EscapedPath() == base {
		return r.URL.Query().Get("key"), nil
	}
	return pathKey(r, base+"/")
}

func (s *Server) keyPage(w http.ResponseWriter, r *http.Request) {
	if !getOnly(s, w, r) {
		return
	}
	key, err := requestKey(r, "/key")
	if err != nil || key == "" {
		s.pageError(w, http.StatusBadRequest, "Name a key: /key/<key>.")
		return
	}
	ctx, cancel := s.storageContext(r)
	defer cancel()
	img, err := s.Images.Get(ctx, key)
	if err != nil {
		status, msg := s.status(r, err)
		s.pageError(w, status, fmt.Sprintf("Key %q: %s.", key, msg))
		return
	}
	s.render(w, http.StatusOK, "key.html", struct {
		Key, ImageURL, ContentType string
		Size                       int
		Saved                      bool
	}{key, keyURL("/image", key), img.ContentType, len(img.Data), r.URL.Query().Has("saved")})
}

// image serves the bytes with their content type. no-cache: a key's
// image can be replaced at any time.
func (s *Server) image(w http.ResponseWriter, r *http.Request) {
	if !getOnly(s, w, r) {
		return
	}
	key, err := requestKey(r, "/image")
	if err != nil || key == "" {
		http.Error(w, "name a key: /image/<key>", http.StatusBadRequest)
		return
	}
	ctx, cancel := s.storageContext(r)
	defer cancel()
	img, err := s.Images.Get(ctx, key)
	if err != nil {
		status, msg := s.status(r, err)
		http.Error(w, msg, status)
		return
	}
	w.Header().Set("Content-Type", img.ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(img.Data)))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(img.Data)
	}
}

type keyLink struct{ Key, URL string }

// keysPage lists keys in byte order, PageSize at a time, continuing after
// the key in ?after= (keyset pagination: stable while keys are added).
func (s *Server) keysPage(w http.ResponseWriter, r *http.Request) {
	if !getOnly(s, w, r) {
		return
	}
	after := r.URL.Query().Get("after")
	ctx, cancel := s.storageContext(r)
	defer cancel()
	keys, err := s.Images.Keys(ctx, after, s.PageSize+1)
	if err != nil {
		status, msg := s.status(r, err)
		s.pageError(w, status, msg)
		return
	}
	next := ""
	if len(keys) > s.PageSize {
		keys = keys[:s.PageSize]
		next = "/keys?after=" + url.QueryEscape(keys[len(keys)-1])
	}
	links := make([]keyLink, len(keys))
	for i, k := range keys {
		links[i] = keyLink{Key: k, URL: keyURL("/key", k)}
	}
	s.render(w, http.StatusOK, "keys.html", struct {
		Keys  []keyLink
		After string
		Next  string
	}{links, after, next})
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
