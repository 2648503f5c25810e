package admin

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/apps/cachenode/internal/cache"
	"github.com/cloudlabs/cloudlabs/apps/cachenode/internal/window"
	"github.com/cloudlabs/cloudlabs/internal/appkit"
)

// testToken is the write token of every test API made by newAPI.
const testToken = "s3cret-token"

func newAPI(t *testing.T) (*httptest.Server, *cache.Store) {
	t.Helper()
	return newAPIWithToken(t, testToken)
}

func newAPIWithToken(t *testing.T, token string) (*httptest.Server, *cache.Store) {
	t.Helper()
	st := cache.New(cache.Config{Capacity: 1 << 20})
	w := window.New(60)
	api := &API{Store: st, Requests: w, Started: time.Now(), Token: token}
	srv := httptest.NewServer(api.Handler(appkit.NewMetrics("cachenode")))
	t.Cleanup(srv.Close)
	return srv, st
}

// do sends an authorized request, as the pool manager would: the bearer
// token and, with a body, Content-Type application/json.
func do(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	h := http.Header{"Authorization": {"Bearer " + testToken}}
	if body != "" {
		h.Set("Content-Type", "application/json")
	}
	return doWith(t, method, url, body, h)
}

func doWith(t *testing.T, method, url, body string, h http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func fill(st *cache.Store, n int) {
	for i := range n {
		st.Store(cache.Set, []byte(fmt.Sprintf("key-%d", i)), make([]byte, 100), 0, 0, 0)
	}
}

func TestStats(t *testing.T) {
	srv, st := newAPI(t)
	fill(st, 3)
	st.Get([]byte("key-0"))
	st.Get([]byte("absent"))
	code, body := do(t, "GET", srv.URL+"/stats", "")
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	var s Stats
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	want := Stats{Hits: 1, Misses: 1, HitRate: 0.5, MissRate: 0.5, Items: 3, Bytes: 3 * cache.ItemSize(5, 100),
		CapacityBytes: 1 << 20, Capacity: "1MB", Policy: "lru", Gets: 2, Sets: 3, Requests: 5, RequestsPerSecond: []int64{}}
	s.UptimeSeconds = 0
	if fmt.Sprint(s) != fmt.Sprint(want) {
		t.Errorf("got %+v\nwant %+v", s, want)
	}
	for _, field := range []string{`"requests_last_minute"`, `"uptime_seconds"`, `"capacity_bytes"`, `"miss_rate"`} {
		if !strings.Contains(body, field) {
			t.Errorf("body lacks %s: %s", field, body)
		}
	}
}

func TestPutConfig(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		code     int
		contains string
		capacity int64
		policy   string
	}{
		{"policy only", `{"policy":"random"}`, 200, `"policy":"random"`, 1 << 20, "random"},
		{"capacity bytes", `{"capacity_bytes":2048}`, 200, `"capacity_bytes":2048`, 2048, "lru"},
		{"capacity with units and lfu", `{"capacity":"2MB","policy":"LFU"}`, 200, `"capacity":"2MB"`, 2 << 20, "lfu"},
		{"bad policy names the allowed ones", `{"policy":"fifo"}`, 400, "lru, random, lfu", 1 << 20, "lru"},
		{"negative capacity", `{"capacity_bytes":-5}`, 400, "want 0 to 1099511627776 bytes (1024GB)", 1 << 20, "lru"},
		{"capacity beyond int64", `{"capacity_bytes":9223372036854775808}`, 400, "want JSON", 1 << 20, "lru"},
		{"max int64 capacity names the maximum", `{"capacity_bytes":9223372036854775807}`, 400, "capacity_bytes 9223372036854775807: want 0 to 1099511627776 bytes (1024GB)", 1 << 20, "lru"},
		{"capacity just over the maximum", `{"capacity_bytes":1099511627777}`, 400, "want 0 to 1099511627776", 1 << 20, "lru"},
		{"capacity at the maximum", `{"capacity_bytes":1099511627776}`, 200, `"capacity":"1024GB"`, 1 << 40, "lru"},
		{"capacity with units over the maximum", `{"capacity":"2048GB"}`, 400, `capacity \"2048GB\": want 0 to`, 1 << 20, "lru"},
		{"trailing data", `{"policy":"lfu"} {"policy":"random"}`, 400, "exactly one JSON object", 1 << 20, "lru"},
		{"bad units", `{"capacity":"12XB"}`, 400, "unit", 1 << 20, "lru"},
		{"unknown field", `{"size":1}`, 400, "capacity_bytes", 1 << 20, "lru"},
		{"empty object", `{}`, 400, "at least one", 1 << 20, "lru"},
		{"not json", `nope`, 400, "want JSON", 1 << 20, "lru"},
		{"both capacities", `{"capacity":"1MB","capacity_bytes":1}`, 400, "not both", 1 << 20, "lru"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, st := newAPI(t)
			code, body := do(t, "PUT", srv.URL+"/config", tt.body)
			if code != tt.code || !strings.Contains(body, tt.contains) {
				t.Errorf("PUT %s = %d %s, want %d containing %q", tt.body, code, body, tt.code, tt.contains)
			}
			if code == 400 && !strings.Contains(body, `"error"`) {
				t.Errorf("error body is not {\"error\":...}: %s", body)
			}
			if st.Capacity() != tt.capacity || st.Policy().String() != tt.policy {
				t.Errorf("store now %d/%s, want %d/%s", st.Capacity(), st.Policy(), tt.capacity, tt.policy)
			}
		})
	}
}

func TestShrinkEvictsImmediately(t *testing.T) {
	srv, st := newAPI(t)
	fill(st, 1000)
	if code, body := do(t, "PUT", srv.URL+"/config", `{"capacity_bytes":4096}`); code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	s := st.Stats()
	if s.Bytes > 4096 || s.Evictions == 0 {
		t.Errorf("after shrink: bytes %d evictions %d, want <= 4096 and > 0", s.Bytes, s.Evictions)
	}
}

func TestClearHealthMetrics(t *testing.T) {
	srv, st := newAPI(t)
	fill(st, 10)
	st.Get([]byte("key-1"))
	if code, body := do(t, "POST", srv.URL+"/clear", ""); code != 200 || st.Stats().Items != 0 {
		t.Errorf("POST /clear = %d %s, items now %d", code, body, st.Stats().Items)
	}
	if code, body := do(t, "GET", srv.URL+"/healthz", ""); code != 200 || !strings.Contains(body, "ok") {
		t.Errorf("GET /healthz = %d %s", code, body)
	}
	code, body := do(t, "GET", srv.URL+"/metrics", "")
	for _, m := range []string{"cachenode_get_hits_total 1", "cachenode_items 0", "cachenode_capacity_bytes 1.048576e+06", "cachenode_http_requests_total"} {
		if code != 200 || !strings.Contains(body, m) {
			t.Errorf("/metrics (%d) lacks %q", code, m)
		}
	}
	if code, _ := do(t, "GET", srv.URL+"/clear", ""); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /clear = %d, want 405", code)
	}
}
