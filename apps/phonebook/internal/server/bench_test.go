package server

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

// BenchmarkGetCached is the hot path of scripts/bench-phonebook.sh without
// the HTTP server: a cache hit for one name, many goroutines at once.
func BenchmarkGetCached(b *testing.B) {
	mc := testkit.Memcached(b)
	h := newServer(b, nil, newCache(b, mc.Addr)).Handler()
	add := httptest.NewRequest("POST", "/add/handle/", strings.NewReader(url.Values{"name": {"John Doe"}, "number": {"1"}}.Encode()))
	add.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	h.ServeHTTP(httptest.NewRecorder(), add)
	b.SetParallelism(25) // like wrk -c50 on two cores: enough for reads to batch
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest("GET", "/get/John%20Doe", nil)
		for pb.Next() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Errorf("status %d", w.Code)
				return
			}
		}
	})
}
