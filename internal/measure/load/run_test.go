package load

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// clients runs each case with both HTTP clients.
var clients = []struct {
	name string
	std  bool
}{{"wire", false}, {"net/http", true}}

func fixed(r *Request) Source { return func(int) *Request { return r } }

func mustRequest(t *testing.T, method, url string, body []byte, h http.Header) *Request {
	t.Helper()
	r, err := NewRequest(method, url, body, h)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// stallingServer answers 500 to every 5th request, never answers every 7th
// (its handler blocks until the client gives up or the test ends, so the
// client's timeout is certain, whatever the machine's speed) and "ok" to
// the rest. It counts the 500s it sent and the requests it stalled.
type stallingServer struct {
	*httptest.Server
	served500, stalled atomic.Int64
}

func newStallingServer(t *testing.T) *stallingServer {
	t.Helper()
	s := &stallingServer{}
	release := make(chan struct{})
	var n atomic.Int64
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch i := n.Add(1); {
		case i%5 == 0:
			s.served500.Add(1)
			http.Error(w, "boom", http.StatusInternalServerError)
		case i%7 == 0:
			s.stalled.Add(1)
			select {
			case <-r.Context().Done(): // the client timed out and closed
			case <-release:
			}
		default:
			if _, err := fmt.Fprint(w, "ok"); err != nil {
				t.Errorf("write reply: %v", err)
			}
		}
	}))
	// Cleanups run last in, first out: release the stalled handlers, then close.
	t.Cleanup(s.Close)
	t.Cleanup(func() { close(release) })
	return s
}

func TestRunCountsEveryFailureKind(t *testing.T) {
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			srv := newStallingServer(t)
			res, err := Run(context.Background(), Options{Concurrency: 8, Requests: 200, Timeout: time.Second, StdClient: c.std},
				fixed(mustRequest(t, "GET", srv.URL+"/x", nil, nil)))
			if err != nil {
				t.Fatal(err)
			}
			if res.Requests != 200 {
				t.Fatalf("got %d requests, want 200: the run stopped early", res.Requests)
			}
			stalled, served500 := int(srv.stalled.Load()), int(srv.served500.Load())
			if stalled == 0 || served500 == 0 {
				t.Fatalf("the server stalled %d and failed %d requests, want some of each", stalled, served500)
			}
			// Every stalled request is a certain timeout; an "ok" one slower
			// than the timeout on a crowded machine would add to them.
			if got := res.Errors[KindTimeout]; got < stalled {
				t.Errorf("%d timeouts counted, want at least the %d requests the server never answered; errors %v, examples %v",
					got, stalled, res.Errors, res.Examples)
			}
			if got := res.Errors["status 500"]; got != served500 {
				t.Errorf("%d \"status 500\" counted, want the %d the server sent; errors %v", got, served500, res.Errors)
			}
			sum := 0
			for _, v := range res.Errors {
				sum += v
			}
			if sum != res.Failed || res.Responses+res.Errors[KindTimeout]+res.Errors[KindReset]+res.Errors[KindOther] != 200 {
				t.Errorf("counts do not add up: %+v", res)
			}
			if res.Responses == 0 || res.Latency.Max <= 0 || res.Latency.P50 > res.Latency.P99 {
				t.Errorf("latency summary inconsistent: %+v", res.Latency)
			}
		})
	}
}

func TestRunReset(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		if err := conn.(*net.TCPConn).SetLinger(0); err != nil { // RST, not FIN
			t.Errorf("set linger: %v", err)
		}
		if err := conn.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}))
	defer srv.Close()
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			res, err := Run(context.Background(), Options{Concurrency: 4, Requests: 20, Timeout: time.Second, StdClient: c.std},
				fixed(mustRequest(t, "GET", srv.URL, nil, nil)))
			if err != nil {
				t.Fatal(err)
			}
			if res.Errors[KindReset] != 20 || res.Responses != 0 {
				t.Fatalf("got %+v, want 20 resets", res)
			}
		})
	}
}

func TestRunRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil { // nothing listens there now
		t.Fatal(err)
	}
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			res, err := Run(context.Background(), Options{Concurrency: 4, Requests: 20, Timeout: time.Second, StdClient: c.std},
				fixed(mustRequest(t, "GET", "http://"+addr+"/", nil, nil)))
			if err != nil {
				t.Fatal(err)
			}
			if res.Errors[KindRefused] != 20 || res.Failed != 20 || res.Responses != 0 {
				t.Fatalf("got %+v, want 20 refused", res)
			}
		})
	}
}

func TestRunBodiesAndCheck(t *testing.T) {
	big := strings.Repeat("x", 100_000)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, `{"name":%q}`, r.PostForm.Get("name"))
	})
	mux.HandleFunc("GET /chunked", func(w http.ResponseWriter, r *http.Request) {
		for range 3 {
			fmt.Fprint(w, "part-")
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("GET /big", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, big) })
	mux.HandleFunc("HEAD /big", func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Content-Length", "100000") })
	mux.HandleFunc("GET /close", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		fmt.Fprint(w, "bye")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	cases := []struct {
		name, method, path, body, want string
		wantLen                        int
	}{
		{"form post echoes", "POST", "/echo", "name=J%C3%B6rg", `{"name":"Jörg"}`, 0},
		{"chunked reply", "GET", "/chunked", "", "part-part-part-", 0},
		{"big reply truncated for the check", "GET", "/big", "", "", MaxCheckBody},
		{"head has no body", "HEAD", "/big", "", "", 0},
		{"connection close", "GET", "/close", "", "bye", 0},
	}
	for _, c := range clients {
		for _, tc := range cases {
			t.Run(c.name+"/"+tc.name, func(t *testing.T) {
				r := mustRequest(t, tc.method, srv.URL+tc.path, []byte(tc.body), form)
				var got atomic.Value
				r.Check = func(status int, body []byte) error {
					got.Store(string(body))
					if tc.want != "" && string(body) != tc.want {
						return errors.New("unexpected body")
					}
					if tc.wantLen != 0 && len(body) != tc.wantLen {
						return fmt.Errorf("body of %d bytes, want %d", len(body), tc.wantLen)
					}
					return nil
				}
				res, err := Run(context.Background(), Options{Concurrency: 2, Requests: 6, StdClient: c.std}, fixed(r))
				if err != nil {
					t.Fatal(err)
				}
				if res.Failed != 0 || res.Responses != 6 {
					t.Fatalf("got %+v (last body %.40q), want 6 clean replies", res, got.Load())
				}
			})
		}
	}
}

func TestRunMismatch(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "wrong") }))
	defer srv.Close()
	r := mustRequest(t, "GET", srv.URL, nil, nil)
	r.Check = func(int, []byte) error { return errors.New("number differs") }
	res, err := Run(context.Background(), Options{Concurrency: 1, Requests: 3}, fixed(r))
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors[KindMismatch] != 3 || res.Responses != 3 {
		t.Fatalf("got %+v, want 3 body mismatches", res)
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	if _, err := Run(context.Background(), Options{Concurrency: 0, Requests: 1}, nil); err == nil {
		t.Fatal("concurrency 0 accepted")
	}
}
