package appkit

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// instrumented counts and times one handler's requests. It does what
// promhttp's InstrumentHandlerCounter and InstrumentHandlerDuration do
// together, for a fraction of their cost on the hot path: the latency
// observer and the counter of each status code are resolved once, and one
// pooled recorder stands in for promhttp's per-request delegators.
type instrumented struct {
	next    http.Handler
	latency prometheus.Observer
	vec     *prometheus.CounterVec // curried with the handler label
	byCode  sync.Map               // int -> prometheus.Counter
}

func (h *instrumented) counter(code int) prometheus.Counter {
	if c, ok := h.byCode.Load(code); ok {
		return c.(prometheus.Counter)
	}
	c := h.vec.WithLabelValues(strconv.Itoa(code))
	h.byCode.Store(code, c)
	return c
}

var recorders = sync.Pool{New: func() any { return new(statusRecorder) }}

func (h *instrumented) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := recorders.Get().(*statusRecorder)
	rec.ResponseWriter, rec.code = w, 0
	h.next.ServeHTTP(rec, r)
	code := rec.code
	if code == 0 {
		code = http.StatusOK
	}
	rec.ResponseWriter = nil
	recorders.Put(rec)
	h.counter(code).Inc()
	h.latency.Observe(time.Since(start).Seconds())
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer
// (Flush, deadlines).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
