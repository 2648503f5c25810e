package server

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/cloudlabs/cloudlabs/apps/phonebook/internal/contact"
	"github.com/cloudlabs/cloudlabs/internal/appkit"
)

// List page sizes: /list?limit=N.
const (
	DefaultListLimit = 50
	MaxListLimit     = 100
)

// listPage is the reply of /list. Next is the name to pass as after= for
// the following page, empty on the last page.
type listPage struct {
	Contacts []contact.Contact `json:"contacts"`
	Next     string            `json:"next,omitempty"`
}

// list answers GET /list?limit=50&after=<name> with contacts ordered by
// name. It asks the store for one more than the page to know if there is
// a next page, so "next" is never a link to an empty page.
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	q := r.URL.Query()
	limit := DefaultListLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxListLimit {
			appkit.WriteError(w, http.StatusBadRequest, "limit: want a whole number from 1 to "+strconv.Itoa(MaxListLimit))
			return
		}
		limit = n
	}
	// The cursor is compared with stored names, which are NFC.
	after := contact.Normalize(q.Get("after"))
	if len(after) > contact.MaxNameBytes {
		appkit.WriteError(w, http.StatusBadRequest, "after: at most "+strconv.Itoa(contact.MaxNameBytes)+" bytes, as names are")
		return
	}
	cs, err := s.storeList(r.Context(), after, limit+1)
	if err != nil {
		appkit.WriteError(w, http.StatusServiceUnavailable, "the contact store is unavailable; try again later")
		return
	}
	page := listPage{Contacts: cs}
	if len(cs) > limit {
		page.Contacts = cs[:limit]
		page.Next = cs[limit-1].Name
	}
	if page.Contacts == nil {
		page.Contacts = []contact.Contact{}
	}
	appkit.WriteJSON(w, http.StatusOK, page)
}

func (s *Server) storeList(ctx context.Context, after string, limit int) ([]contact.Contact, error) {
	ctx, cancel := context.WithTimeout(ctx, s.StoreTimeout)
	defer cancel()
	start := time.Now()
	cs, err := s.Store.List(ctx, after, limit)
	s.m.storeLatency.WithLabelValues("list").Observe(time.Since(start).Seconds())
	if err != nil {
		s.m.storeErrors.WithLabelValues("list").Inc()
		s.Logger.Error("store list failed", "after", after, "err", err)
	}
	return cs, err
}

// readyz answers 200 when the store answers a one-contact listing, so a
// load balancer stops sending traffic to a phone book without a database.
// The cache is not checked: the phone book works without it.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := s.Store.List(ctx, "", 1); err != nil {
		appkit.WriteError(w, http.StatusServiceUnavailable, "store not ready: "+err.Error())
		return
	}
	appkit.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
