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
// Accept: application/json get 201 and the stored contact.
func (s *Server) add(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodPost) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case err != nil && r.Header.Get("Content-Type") != "":
		appkit.WriteError(w, http.StatusUnsupportedMediaType, "bad Content-Type: send application/x-www-form-urlencoded or multipart/form-data")
		return
	case mt == "multipart/form-data":
		err = r.ParseMultipartForm(MaxBodyBytes)
	case mt == "application/x-www-form-urlencoded":
		err = r.ParseForm()
	default:
		appkit.WriteError(w, http.StatusUnsupportedMediaType, "Content-Type "+strconvQuote(mt)+" not supported: send application/x-www-form-urlencoded or multipart/form-data")
		return
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			appkit.WriteError(w, http.StatusRequestEntityTooLarge, "request body over the limit of 8192 bytes; names are at most 256 bytes, numbers 32")
			return
		}
		appkit.WriteError(w, http.StatusBadRequest, "cannot parse the form: "+err.Error())
		return
	}
	c, err := contact.New(strings.TrimSpace(r.PostFormValue("name")), strings.TrimSpace(r.PostFormValue("number")))
	if err != nil {
		appkit.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := s.storePut(r.Context(), c); err != nil {
		appkit.WriteError(w, http.StatusServiceUnavailable, "the contact store is unavailable; nothing was saved, try again later")
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

// wantsJSON is true when the client lists application/json in Accept.
func wantsJSON(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "application/json" {
			return true
		}
	}
	return false
}
