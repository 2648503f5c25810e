// Package fakephonebook is an in-memory stand-in for apps/phonebook's HTTP
// API, for testing the measuring commands without Riak or memcached.
package fakephonebook

import (
	"encoding/json"
	"net/http"
	"sync"
)

// Server stores contacts in a map. It is safe for concurrent use.
type Server struct {
	mu       sync.Mutex
	contacts map[string]string
}

// New returns an empty phone book.
func New() *Server { return &Server{contacts: map[string]string{}} }

// Len is how many contacts are stored.
func (s *Server) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.contacts)
}

// Set stores a contact directly, as if it had been added.
func (s *Server) Set(name, number string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.contacts[name] = number
}

// Number returns the stored number of name.
func (s *Server) Number(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.contacts[name]
	return n, ok
}

// ServeHTTP answers POST /add/handle/ (form name, number) and GET /get/<name>.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /add/handle/", func(w http.ResponseWriter, r *http.Request) {
		name, number := r.PostFormValue("name"), r.PostFormValue("number")
		if name == "" || number == "" {
			http.Error(w, `{"error":"name and number are required"}`, http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.contacts[name] = number
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"name": name, "number": number})
	})
	mux.HandleFunc("GET /get/{name}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		number, ok := s.Number(name)
		if !ok {
			http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"name": name, "number": number})
	})
	mux.ServeHTTP(w, r)
}
