package appkit

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

func TestInstrumentCountsByCodeAndTimes(t *testing.T) {
	m := NewMetrics("test")
	h := m.Instrument("thing", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/missing":
			WriteError(w, http.StatusNotFound, "no such thing")
		case "/implicit":
			io.WriteString(w, "ok") // no WriteHeader: a 200
		case "/twice":
			w.WriteHeader(http.StatusCreated)
			w.WriteHeader(http.StatusInternalServerError) // ignored by net/http too
		default:
			// writes nothing at all: a 200
		}
	}))
	for _, p := range []string{"/missing", "/missing", "/implicit", "/", "/twice"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
	}
	out := scrape(t, m)
	for _, want := range []string{
		`test_http_requests_total{code="404",handler="thing"} 2`,
		`test_http_requests_total{code="200",handler="thing"} 2`,
		`test_http_requests_total{code="201",handler="thing"} 1`,
		`test_http_request_duration_seconds_count{handler="thing"} 5`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s:\n%s", want, out)
		}
	}
}

func TestInstrumentKeepsResponseController(t *testing.T) {
	m := NewMetrics("test")
	h := m.Instrument("flush", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "part")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush through the instrumentation: %v", err)
		}
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if !rec.Flushed {
		t.Error("the flush did not reach the writer")
	}
}

// BenchmarkInstrument compares the instrumentation with promhttp's two
// wrappers, the anchor: go test -bench Instrument ./internal/appkit
func BenchmarkInstrument(b *testing.B) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	m := NewMetrics("bench")
	labels := prometheus.Labels{"handler": "x"}
	cases := map[string]http.Handler{
		"appkit": m.Instrument("x", ok),
		"promhttp": promhttp.InstrumentHandlerCounter(m.requests.MustCurryWith(labels),
			promhttp.InstrumentHandlerDuration(m.latency.MustCurryWith(labels), ok)),
	}
	for name, h := range cases {
		b.Run(name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/", nil)
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, req)
			}
		})
	}
}

type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}
