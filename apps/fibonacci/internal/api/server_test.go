package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/cloudlabs/cloudlabs/internal/appkit"
)

// start serves a new Server on a 127.0.0.1 listener with the production
// timeouts and returns its base URL.
func start(t *testing.T, cfg Config) (string, *Server) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logger := slog.New(slog.DiscardHandler)
	go func() { done <- appkit.Serve(ctx, appkit.NewHTTPServer(s, logger), ln, logger) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String(), s
}

type response struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, method, url string, body io.Reader) response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", method, url, err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

func TestLabExample(t *testing.T) {
	base, _ := start(t, Config{})
	// curl -X POST -H 'Content-Type: application/json' http://HOST/fibonacci -d '{"fibonacci_number": 20}'
	got := do(t, http.MethodPost, base+"/fibonacci", strings.NewReader(`{"fibonacci_number": 20}`))
	const want = `{"fibonacci_number": 20, "value": 6765}` // no newline, as Flask's Response
	if got.status != http.StatusOK || got.body != want {
		t.Fatalf("got %d %q, want 200 %q", got.status, got.body, want)
	}
	if ct := got.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
}

// decimalFib computes fib(n) by schoolbook addition of decimal strings:
// independent of math/big and of the server's code.
func decimalFib(n int) []string {
	add := func(a, b string) string { // len(a) >= len(b)
		out := make([]byte, len(a)+1)
		carry := 0
		for i := 0; i < len(a); i++ {
			d := int(a[len(a)-1-i]-'0') + carry
			if i < len(b) {
				d += int(b[len(b)-1-i] - '0')
			}
			out[len(out)-1-i], carry = byte('0'+d%10), d/10
		}
		out[0] = byte('0' + carry)
		return strings.TrimLeft(string(out), "0")
	}
	fibs := []string{"0", "1"}
	for i := 2; i <= n; i++ {
		fibs = append(fibs, add(fibs[i-1], fibs[i-2]))
	}
	return fibs[:n+1]
}

func TestExactValues(t *testing.T) {
	base, _ := start(t, Config{})
	want := decimalFib(1000)
	if len(want[1000]) != 209 {
		t.Fatalf("reference fib(1000) has %d digits, want 209", len(want[1000]))
	}
	// Descending first so lookups of memoized values are checked too.
	for _, n := range []int{1000, 500, 2} {
		got := do(t, http.MethodPost, base+"/fibonacci", strings.NewReader(fmt.Sprintf(`{"fibonacci_number": %d}`, n)))
		if w := fmt.Sprintf(`{"fibonacci_number": %d, "value": %s}`, n, want[n]); got.body != w {
			t.Fatalf("fib(%d): got %q, want %q", n, got.body, w)
		}
	}
	for n := 0; n <= 1000; n++ {
		got := do(t, http.MethodPost, base+"/fibonacci", strings.NewReader(fmt.Sprintf(`{"fibonacci_number": %d}`, n)))
		if w := fmt.Sprintf(`{"fibonacci_number": %d, "value": %s}`, n, want[n]); got.status != 200 || got.body != w {
			t.Fatalf("fib(%d): got %d %q, want %q", n, got.status, got.body, w)
		}
	}
	// The value is a JSON number, exact when read as one.
	var v struct {
		Value json.Number `json:"value"`
	}
	got := do(t, http.MethodGet, base+"/fibonacci?n=1000", nil)
	if err := json.Unmarshal([]byte(got.body), &v); err != nil || string(v.Value) != want[1000] {
		t.Errorf("fib(1000) as JSON: %v, value %q", err, v.Value)
	}
}

func TestGetForms(t *testing.T) {
	base, _ := start(t, Config{})
	tests := []struct {
		name string
		url  string
		body string
		want string
	}{
		{"query", "/fibonacci?n=20", "", `{"fibonacci_number": 20, "value": 6765}`},
		{"query zero", "/fibonacci?n=0", "", `{"fibonacci_number": 0, "value": 0}`},
		{"JSON body", "/fibonacci", `{"fibonacci_number": 10}`, `{"fibonacci_number": 10, "value": 55}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			got := do(t, http.MethodGet, base+tc.url, body)
			if got.status != 200 || got.body != tc.want {
				t.Errorf("GET %s: got %d %q, want 200 %q", tc.url, got.status, got.body, tc.want)
			}
		})
	}
}

func TestStatus(t *testing.T) {
	base, _ := start(t, Config{})
	steps := []struct {
		name   string
		method string
		path   string
		body   string
		want   string
	}{
		{"fresh", "", "", "", `{"cache_length": 2, "requests": 0}`},
		{"fib 20", "POST", "/fibonacci", `{"fibonacci_number": 20}`, `{"cache_length": 21, "requests": 1}`},
		{"smaller n keeps the cache", "POST", "/fibonacci", `{"fibonacci_number": 5}`, `{"cache_length": 21, "requests": 2}`},
		{"bad input counts", "POST", "/fibonacci", `{"fibonacci_number": -1}`, `{"cache_length": 21, "requests": 3}`},
		{"too large counts, computes nothing", "POST", "/fibonacci", `{"fibonacci_number": 10001}`, `{"cache_length": 21, "requests": 4}`},
		{"GET query counts", "GET", "/fibonacci?n=100", "", `{"cache_length": 101, "requests": 5}`},
		{"wrong method does not count", "PUT", "/fibonacci", `{"fibonacci_number": 20}`, `{"cache_length": 101, "requests": 5}`},
		{"other paths do not count", "GET", "/nope", "", `{"cache_length": 101, "requests": 5}`},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.method != "" {
				do(t, st.method, base+st.path, strings.NewReader(st.body))
			}
			got := do(t, http.MethodGet, base+"/status", nil)
			if got.status != 200 || got.body != st.want || got.header.Get("Content-Type") != "application/json" {
				t.Errorf("status: got %d %q (%s), want 200 %q", got.status, got.body, got.header.Get("Content-Type"), st.want)
			}
		})
	}
}

// chunked hides a body's length so the client sends it chunked.
type chunked struct{ io.Reader }

func TestBadRequests(t *testing.T) {
	base, _ := start(t, Config{MaxN: 500})
	huge := `{"fibonacci_number": ` + strings.Repeat("1", 3000) + `}`
	tooBig := `{"fibonacci_number": 20}` + strings.Repeat(" ", MaxBodyBytes)
	tests := []struct {
		name    string
		method  string
		path    string
		body    io.Reader
		status  int
		wantErr string
	}{
		{"empty body", "POST", "/fibonacci", strings.NewReader(""), 400, "empty body"},
		{"no body on GET", "GET", "/fibonacci", nil, 400, "use GET /fibonacci?n=N"},
		{"missing field", "POST", "/fibonacci", strings.NewReader(`{}`), 400, `missing field "fibonacci_number"`},
		{"unknown field", "POST", "/fibonacci", strings.NewReader(`{"number": 3}`), 400, `unknown field "number"`},
		{"string", "POST", "/fibonacci", strings.NewReader(`{"fibonacci_number": "20"}`), 400, "integer from 0 to 500, got a string"},
		{"fraction", "POST", "/fibonacci", strings.NewReader(`{"fibonacci_number": 20.5}`), 400, `got "20.5"`},
		{"exponent", "POST", "/fibonacci", strings.NewReader(`{"fibonacci_number": 1e2}`), 400, `got "1e2"`},
		{"negative", "POST", "/fibonacci", strings.NewReader(`{"fibonacci_number": -20}`), 400, `got "-20"`},
		{"above max-n", "POST", "/fibonacci", strings.NewReader(`{"fibonacci_number": 501}`), 400, "501 is above the maximum 500"},
		{"thousands of digits", "POST", "/fibonacci", strings.NewReader(huge), 400, "(3000 characters) is above the maximum 500"},
		{"invalid JSON", "POST", "/fibonacci", strings.NewReader(`{"fibonacci_number": }`), 400, "invalid JSON"},
		{"trailing garbage", "POST", "/fibonacci", strings.NewReader(`{"fibonacci_number": 2}garbage`), 400, "trailing data"},
		{"body over 64 KB", "POST", "/fibonacci", strings.NewReader(tooBig), 413, "larger than 65536 bytes"},
		{"chunked body over 64 KB", "POST", "/fibonacci", chunked{strings.NewReader(tooBig)}, 413, "larger than 65536 bytes"},
		{"query on POST", "POST", "/fibonacci?n=3", strings.NewReader(`{"fibonacci_number": 3}`), 400, "the n query parameter is for GET"},
		{"query and body", "GET", "/fibonacci?n=3", strings.NewReader(`{"fibonacci_number": 3}`), 400, "not both"},
		{"query not a number", "GET", "/fibonacci?n=abc", nil, 400, `n must be an integer from 0 to 500, got "abc"`},
		{"query fraction", "GET", "/fibonacci?n=2.5", nil, 400, `got "2.5"`},
		{"query negative", "GET", "/fibonacci?n=-2", nil, 400, `got "-2"`},
		{"query above max-n", "GET", "/fibonacci?n=501", nil, 400, "n 501 is above the maximum 500"},
		{"query twice", "GET", "/fibonacci?n=1&n=2", nil, 400, "give n once"},
		{"query unknown", "GET", "/fibonacci?m=1", nil, 400, `unknown query parameter "m"`},
		{"query empty", "GET", "/fibonacci?n=", nil, 400, `got ""`},
		{"unknown path", "GET", "/fib", nil, 404, "no endpoint /fib"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := do(t, tc.method, base+tc.path, tc.body)
			checkError(t, got, tc.status, tc.wantErr)
		})
	}
}

// TestNoInputSaysWhatToSend: a request without any n must be told, for its
// method, the request to send instead, in a JSON 400.
func TestNoInputSaysWhatToSend(t *testing.T) {
	base, _ := start(t, Config{MaxN: 500})
	const (
		get  = `no n given: use GET /fibonacci?n=N, or POST /fibonacci with the JSON body {"fibonacci_number": N}, N an integer from 0 to 500`
		post = `empty body: POST /fibonacci with the JSON body {"fibonacci_number": N}, N an integer from 0 to 500 (or GET /fibonacci?n=N)`
	)
	tests := []struct {
		name, method string
		body         io.Reader
		want         string
	}{
		{"GET without query or body", "GET", nil, get},
		{"GET with an empty body", "GET", strings.NewReader(""), get},
		{"POST with an empty body", "POST", strings.NewReader(""), post},
		{"POST without a body", "POST", nil, post},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := do(t, tc.method, base+"/fibonacci", tc.body)
			if got.status != http.StatusBadRequest {
				t.Errorf("status: got %d, want 400", got.status)
			}
			if ct := got.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type: got %q, want application/json", ct)
			}
			var e map[string]string
			if err := json.Unmarshal([]byte(got.body), &e); err != nil {
				t.Fatalf("body %q is not JSON: %v", got.body, err)
			}
			if len(e) != 1 || e["error"] != tc.want {
				t.Errorf("got %q, want {\"error\": %q}", got.body, tc.want)
			}
		})
	}
}

func TestWrongMethod(t *testing.T) {
	base, _ := start(t, Config{Metrics: appkit.NewMetrics("fibonacci")})
	tests := []struct {
		method, path, allow string
	}{
		{"PUT", "/fibonacci", "POST, GET"},
		{"DELETE", "/fibonacci", "POST, GET"},
		{"HEAD", "/fibonacci", "POST, GET"},
		{"POST", "/status", "GET, HEAD"},
		{"POST", "/healthz", "GET, HEAD"},
		{"POST", "/metrics", "GET, HEAD"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			got := do(t, tc.method, base+tc.path, strings.NewReader(`{"fibonacci_number": 1}`))
			if got.header.Get("Allow") != tc.allow {
				t.Errorf("Allow %q, want %q", got.header.Get("Allow"), tc.allow)
			}
			if tc.method == "HEAD" {
				if got.status != 405 {
					t.Errorf("got %d, want 405", got.status)
				}
				return
			}
			checkError(t, got, 405, "use "+tc.allow)
		})
	}
}

func checkError(t *testing.T, got response, status int, want string) {
	t.Helper()
	if got.status != status {
		t.Errorf("got %d %q, want %d", got.status, got.body, status)
	}
	if ct := got.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var e struct {
		Error string `json:"error"`
	}
	dec := json.NewDecoder(strings.NewReader(got.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("body %q is not {\"error\": ...}: %v", got.body, err)
	}
	if !strings.Contains(e.Error, want) {
		t.Errorf("error %q does not contain %q", e.Error, want)
	}
}

func TestHealthzAndMetrics(t *testing.T) {
	base, _ := start(t, Config{Metrics: appkit.NewMetrics("fibonacci")})
	do(t, "POST", base+"/fibonacci", strings.NewReader(`{"fibonacci_number": 30}`))
	do(t, "POST", base+"/fibonacci", strings.NewReader(`{"fibonacci_number": "x"}`))
	do(t, "GET", base+"/status", nil)
	if got := do(t, "GET", base+"/healthz", nil); got.status != 200 || !strings.Contains(got.body, `"ok"`) {
		t.Errorf("healthz: %d %q", got.status, got.body)
	}
	got := do(t, "GET", base+"/metrics", nil)
	for _, want := range []string{
		"fibonacci_requests_total 2\n",
		"fibonacci_rejected_requests_total 1\n",
		"fibonacci_cache_length 31\n",
		"fibonacci_max_n 10000\n",
		"fibonacci_request_duration_seconds_count 2\n",
		`fibonacci_http_requests_total{code="200",handler="status"} 1`,
		"go_goroutines",
	} {
		if !strings.Contains(got.body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestConcurrent(t *testing.T) {
	base, s := start(t, Config{MaxN: 3000})
	want := decimalFib(3000)
	const workers, each = 8, 60
	var wg sync.WaitGroup
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				n := (g*each + i*37) % 3001
				var got response
				if i%3 == 0 {
					got = do(t, "GET", fmt.Sprintf("%s/fibonacci?n=%d", base, n), nil)
				} else {
					got = do(t, "POST", base+"/fibonacci", strings.NewReader(fmt.Sprintf(`{"fibonacci_number": %d}`, n)))
				}
				if w := fmt.Sprintf(`{"fibonacci_number": %d, "value": %s}`, n, want[n]); got.body != w {
					t.Errorf("fib(%d): got %.60q, want %.60q", n, got.body, w)
					return
				}
				do(t, "GET", base+"/status", nil)
			}
		}()
	}
	wg.Wait()
	if st := s.Status(); st.Requests != workers*each {
		t.Errorf("requests = %d, want %d", st.Requests, workers*each)
	}
}

func TestNewRejectsMaxN(t *testing.T) {
	for _, n := range []int{-1, LimitMaxN + 1} {
		if _, err := New(Config{MaxN: n}); err == nil || !strings.Contains(err.Error(), "max-n") {
			t.Errorf("New(MaxN: %d) error = %v, want one naming max-n", n, err)
		}
	}
}
