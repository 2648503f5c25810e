package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cloudlabs/cloudlabs/apps/phonebook/internal/cache"
	"github.com/cloudlabs/cloudlabs/apps/phonebook/internal/contact"
	"github.com/cloudlabs/cloudlabs/apps/phonebook/internal/store"
	"github.com/cloudlabs/cloudlabs/internal/appkit"
)

// jsonType is shared so the hot path does not allocate the header value.
var jsonType = []string{"application/json"}

// get answers GET /get/<name>: the name is the rest of the escaped path,
// unescaped once, so %2F and %3F stay inside the name. GET /get?name=<name>
// is the same lookup for names a browser would not send in a path ("."
// and "..", see getHref).
func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	var raw string
	if p := r.URL.EscapedPath(); p == "/get" {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			appkit.WriteError(w, http.StatusBadRequest, "name: bad URL escape in the query: "+err.Error()+"; write a literal % as %25")
			return
		}
		raw = q.Get("name")
		if raw == "" {
			appkit.WriteError(w, http.StatusBadRequest, "name: missing; use GET /get?name=<url-escaped name> or GET /get/<url-escaped name>")
			return
		}
	} else {
		var err error
		if raw, err = url.PathUnescape(strings.TrimPrefix(p, "/get/")); err != nil {
			appkit.WriteError(w, http.StatusBadRequest, "name: bad URL escape in path: "+err.Error()+"; write a literal % as %25")
			return
		}
	}
	name, err := contact.Name(raw)
	if err != nil {
		appkit.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	var lease cache.Lease // what this lookup lets us cache (cache.Fill)
	if s.Cache != nil {
		reply, l, err := s.Cache.Get(name)
		switch {
		case err == nil:
			s.m.cacheHits.Inc()
			writeReply(w, http.StatusOK, reply)
			return
		case errors.Is(err, cache.ErrMiss):
			lease = l
			s.m.cacheMisses.Inc()
		default:
			s.m.cacheErrors.Inc()
			s.cacheLog.Warn("memcached read failed; answering from the store", "err", err)
		}
	}
	c, err := s.storeGet(r.Context(), name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		appkit.WriteError(w, http.StatusNotFound, "no contact named "+strconvQuote(name))
		return
	case err != nil:
		appkit.WriteError(w, http.StatusServiceUnavailable, "the contact store is unavailable; try again later")
		return
	}
	reply := encode(c)
	if s.Cache != nil {
		if err := s.Cache.Fill(name, lease, reply); err != nil {
			s.m.cacheWriteErrors.Inc()
			s.cacheLog.Warn("memcached fill failed", "err", err)
		}
	}
	writeReply(w, http.StatusOK, reply)
}

func (s *Server) storeGet(ctx context.Context, name string) (contact.Contact, error) {
	ctx, cancel := context.WithTimeout(ctx, s.StoreTimeout)
	defer cancel()
	start := time.Now()
	c, err := s.Store.Get(ctx, name)
	s.m.storeLatency.WithLabelValues("get").Observe(time.Since(start).Seconds())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.m.storeErrors.WithLabelValues("get").Inc()
		s.Logger.Error("store get failed", "name", name, "err", err)
	}
	return c, err
}

// encode is the one JSON form of a contact, cached and sent as is.
func encode(c contact.Contact) []byte {
	b, _ := json.Marshal(c) // two strings cannot fail to encode
	return append(b, '\n')
}

func writeReply(w http.ResponseWriter, status int, reply []byte) {
	w.Header()["Content-Type"] = jsonType
	w.WriteHeader(status)
	_, _ = w.Write(reply)
}

// strconvQuote quotes a name for an error message without escaping its
// non-ASCII letters, which JSON carries fine.
func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
