package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/apps/phonebook/internal/contact"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

// riakHTTPEmulator answers the Riak HTTP endpoints RiakHTTP uses:
// GET/PUT /types/default/buckets/<b>/keys/<k> and
// GET /types/default/buckets/<b>/index/<index>/<lo>/<hi>?max_results=N.
type riakHTTPEmulator struct {
	data     *fakeRiak
	requests atomic.Int64
}

func (e *riakHTTPEmulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.requests.Add(1)
	var seg []string
	for _, s := range strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/") {
		u, err := url.PathUnescape(s)
		if err != nil {
			http.Error(w, "bad escape", http.StatusBadRequest)
			return
		}
		seg = append(seg, u)
	}
	if len(seg) < 6 || seg[0] != "types" || seg[1] != "default" || seg[2] != "buckets" {
		http.Error(w, "unknown path "+r.URL.EscapedPath(), http.StatusNotFound)
		return
	}
	bucket := seg[3]
	switch {
	case seg[4] == "keys" && len(seg) == 6 && r.Method == http.MethodGet:
		o, ok := e.data.get(bucket, seg[5])
		if !ok {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", o.contentType)
		_, _ = w.Write(o.value)
	case seg[4] == "keys" && len(seg) == 6 && r.Method == http.MethodPut:
		body, _ := io.ReadAll(r.Body)
		terms := map[string]string{}
		for name, vs := range r.Header {
			if idx, ok := strings.CutPrefix(strings.ToLower(name), "x-riak-index-"); ok {
				terms[idx] = vs[0]
			}
		}
		e.data.put(bucket, seg[5], fakeObject{value: body, contentType: r.Header.Get("Content-Type"), terms: terms})
		w.WriteHeader(http.StatusNoContent)
	case seg[4] == "index" && len(seg) == 8 && r.Method == http.MethodGet:
		max, _ := strconv.Atoi(r.URL.Query().Get("max_results"))
		keys := e.data.rangeQuery(bucket, seg[5], seg[6], seg[7], max)
		if keys == nil {
			keys = []string{}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	default:
		http.Error(w, fmt.Sprintf("emulator does not know %s %s", r.Method, r.URL), http.StatusBadRequest)
	}
}

func newRiakHTTPEmulators(t *testing.T, n int) (*fakeRiak, []*riakHTTPEmulator, []string) {
	data := newFakeRiak()
	var emus []*riakHTTPEmulator
	var addrs []string
	for range n {
		e := &riakHTTPEmulator{data: data}
		srv := httptest.NewServer(e)
		t.Cleanup(srv.Close)
		emus = append(emus, e)
		addrs = append(addrs, strings.TrimPrefix(srv.URL, "http://"))
	}
	return data, emus, addrs
}

func TestRiakHTTP(t *testing.T) {
	t.Run("emulated two-node cluster", func(t *testing.T) {
		_, emus, addrs := newRiakHTTPEmulators(t, 2)
		s, err := Open("riak-http://"+strings.Join(addrs, ","), Options{Bucket: uniqueBucket(t)})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		testContract(t, s)
		for i, e := range emus {
			if e.requests.Load() == 0 {
				t.Errorf("node %d got no requests: want round-robin over both", i)
			}
		}
	})
	t.Run("first node down", func(t *testing.T) {
		_, _, addrs := newRiakHTTPEmulators(t, 1)
		dead := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
		s, err := Open("riak-http://"+dead+","+addrs[0], Options{Bucket: uniqueBucket(t)})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		testContract(t, s)
	})
	t.Run("real Riak", func(t *testing.T) {
		nodes := realRiak(t, "CLOUDLABS_RIAK_HTTP")
		s, err := Open("riak-http://"+nodes, Options{Bucket: uniqueBucket(t)})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		testContract(t, s)
	})
}

// TestRiakHTTPErrors checks Riak's own error answers become errors (not
// ErrNotFound, not retried on another node) and that no node at all is an
// error too.
func TestRiakHTTPErrors(t *testing.T) {
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Error:\nall nodes down", http.StatusServiceUnavailable)
	}))
	defer broken.Close()
	dead := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	tests := []struct {
		name, nodes, mention string
	}{
		{"riak answers 503", strings.TrimPrefix(broken.URL, "http://"), "503"},
		{"every node down", dead, "no riak node answered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open("riak-http://"+tt.nodes, Options{Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			_, gerr := s.Get(ctx, "x")
			perr := s.Put(ctx, contact.Contact{Name: "x", Number: "1"})
			_, lerr := s.List(ctx, "", 10)
			for op, err := range map[string]error{"get": gerr, "put": perr, "list": lerr} {
				if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), tt.mention) {
					t.Errorf("%s: error %v, want one mentioning %q", op, err, tt.mention)
				}
			}
		})
	}
}
