package api

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cloudlabs/cloudlabs/internal/appkit"
)

// discard is a ResponseWriter that keeps nothing, so the benchmarks
// measure the handler rather than a recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

func benchHandler(b *testing.B, h http.Handler, body string) {
	b.Helper()
	req := httptest.NewRequest(http.MethodPost, "/fibonacci", nil)
	rd := bytes.NewReader(nil)
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset([]byte(body))
		req.Body = io.NopCloser(rd)
		req.ContentLength = int64(len(body))
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

func BenchmarkFibonacci(b *testing.B) {
	bare, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	instrumented, err := New(Config{Metrics: appkit.NewMetrics("fibonacci")})
	if err != nil {
		b.Fatal(err)
	}
	// anchor is cmd/anchor's handler: the floor any handler pays here.
	anchor := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"fibonacci_number": 20, "value": 6765}`))
	})
	b.Run("anchor", func(b *testing.B) { benchHandler(b, anchor, `{"fibonacci_number": 20}`) })
	b.Run("n=20", func(b *testing.B) { benchHandler(b, bare, `{"fibonacci_number": 20}`) })
	b.Run("n=20/metrics", func(b *testing.B) { benchHandler(b, instrumented, `{"fibonacci_number": 20}`) })
	b.Run("n=10000", func(b *testing.B) { benchHandler(b, bare, `{"fibonacci_number": 10000}`) })
	b.Run("slow-path", func(b *testing.B) { benchHandler(b, bare, `{ "fibonacci_number" : 2.0e1 }`) })
}

// BenchmarkColdMax is the worst single request: fib(DefaultMaxN) from an
// empty memo, computed and rendered.
func BenchmarkColdMax(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		s, err := New(Config{})
		if err != nil {
			b.Fatal(err)
		}
		_ = s.reply(DefaultMaxN)
	}
}

func BenchmarkParse(b *testing.B) {
	for _, body := range []string{`{"fibonacci_number": 20}`, `{"fibonacci_number":20,"x":1}`} {
		b.Run(body, func(b *testing.B) {
			in := []byte(body)
			b.ReportAllocs()
			for b.Loop() {
				_, _ = Parse(in, DefaultMaxN)
			}
		})
	}
}
