package server

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cloudlabs/cloudlabs/apps/phonebook/internal/contact"
	"github.com/cloudlabs/cloudlabs/internal/appkit"
)

// MaxBodyBytes caps a POST body: a maximal name percent-encoded three times
// over plus a number and multipart framing fits well within it.
const MaxBodyBytes = 8 << 10

// add answers POST /add/handle/ with fields name and number, form- or
// multipart-encoded. Browsers get a 303 back to the form; clients sending
// Accept: application/json get 201 and the stored contact. A refusal is
// the form again with the error for a browser (Accept: text/html), JSON
// for everyone else (see fail).
func (s *Server) add(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodPost) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case err != nil && r.Header.Get("Content-Type") != "":
		s.addFailed(w, r, http.StatusUnsupportedMediaType, "bad Content-Type: send application/x-www-form-urlencoded or multipart/form-data", contact.Contact{})
		return
	case mt == "multipart/form-data":
		err = r.ParseMultipartForm(MaxBodyBytes)
	case mt == "application/x-www-form-urlencoded":
		err = r.ParseForm()
	default:
		s.addFailed(w, r, http.StatusUnsupportedMediaType, "Content-Type "+strconvQuote(mt)+" not supported: send application/x-www-form-urlencoded or multipart/form-data", contact.Contact{})
		return
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.addFailed(w, r, http.StatusRequestEntityTooLarge, "request body over the limit of 8192 bytes; names are at most 256 bytes, numbers 32", contact.Contact{})
			return
		}
		s.addFailed(w, r, http.StatusBadRequest, "cannot parse the form: "+err.Error(), contact.Contact{})
		return
	}
	typed := contact.Contact{Name: strings.TrimSpace(r.PostFormValue("name")), Number: strings.TrimSpace(r.PostFormValue("number"))}
	c, err := contact.New(typed.Name, typed.Number)
	if err != nil {
		s.addFailed(w, r, http.StatusBadRequest, err.Error(), typed)
		return
	}
	if err := s.storePut(r.Context(), c); err != nil {
		s.addFailed(w, r, http.StatusServiceUnavailable, "the contact store is unavailable; nothing was saved, try again later", typed)
		return
	}
	reply := encode(c)
	if s.Cache != nil {
		// Invalidate, not set, after the store: overlapping writes could
		// reach memcached in the other order (package cache explains).
		if err := s.Cache.Invalidate(c.Name); err != nil {
			s.m.cacheWriteErrors.Inc()
			s.cacheLog.Warn("memcached invalidation failed", "err", err)
		}
	}
	if wantsJSON(r) {
		writeReply(w, http.StatusCreated, reply)
		return
	}
	http.Redirect(w, r, "/add/?saved="+url.QueryEscape(c.Name), http.StatusSeeOther)
}

func (s *Server) storePut(ctx context.Context, c contact.Contact) error {
	ctx, cancel := context.WithTimeout(ctx, s.StoreTimeout)
	defer cancel()
	start := time.Now()
	err := s.Store.Put(ctx, c)
	s.m.storeLatency.WithLabelValues("put").Observe(time.Since(start).Seconds())
	if err != nil {
		s.m.storeErrors.WithLabelValues("put").Inc()
		s.Logger.Error("store put failed", "name", c.Name, "err", err)
	}
	return err
}

// addFailed answers a refused POST: a browser gets the form again with
// the error and what it typed, so the user can fix it; API clients get the
// JSON error.
func (s *Server) addFailed(w http.ResponseWriter, r *http.Request, status int, msg string, typed contact.Contact) {
	if !wantsHTML(r) {
		appkit.WriteError(w, status, msg)
		return
	}
	s.renderForm(w, status, formPage{Error: msg, Name: typed.Name, Number: typed.Number})
}

// wantsJSON is true when the client lists application/json in Accept.
func wantsJSON(r *http.Request) bool { return accepts(r, "application/json") }

// wantsHTML is true for a browser: it lists text/html in Accept and
// application/json not at all. Clients that say nothing get JSON.
func wantsHTML(r *http.Request) bool {
	return !wantsJSON(r) && (accepts(r, "text/html") || accepts(r, "application/xhtml+xml"))
}

// accepts reports whether the Accept header lists the media type.
func accepts(r *http.Request, mediaType string) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == mediaType {
			return true
		}
	}
	return false
}
