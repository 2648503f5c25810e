package api

import (
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/cloudlabs/cloudlabs/apps/fibonacci/internal/fib"
	"github.com/cloudlabs/cloudlabs/internal/appkit"
	"github.com/prometheus/client_golang/prometheus"
)

const (
	// DefaultMaxN is the largest n served unless Config says otherwise:
	// fib(10000) has 2090 digits; the whole memo then holds about 18 MB live
	// and the process about 60 MB resident (README, "Limits").
	DefaultMaxN = 10000
	// LimitMaxN caps Config.MaxN. Memory grows with the square of the
	// maximum (MemoBytes), so 50000 means about 400 MB live and, without
	// a memory limit, over 800 MB resident.
	LimitMaxN = 50000
	// MaxBodyBytes is the largest request body read.
	MaxBodyBytes = 64 << 10
)

// MemoBytes is an upper estimate of the live heap the memo holds once every
// n up to maxN has been asked for: each value as a big.Int (0.087*n bytes)
// and as its rendered reply (0.209*n bytes), with their headers. Measured
// live heap after a full GC: 17.8 MB at 10000, 404 MB at 50000 (0.162*n^2);
// the estimate says 19.6 MB and 438 MB.
func MemoBytes(maxN int) int64 {
	n := int64(maxN)
	return (17*n*n+99)/100 + 256*n
}

// Config configures a Server. The zero value serves n up to DefaultMaxN
// without /metrics.
type Config struct {
	// MaxN is the largest n answered; 0 means DefaultMaxN.
	MaxN int
	// Metrics, when set, receives the server's counters and is served at
	// /metrics. /status, /healthz and /metrics are instrumented by appkit
	// (fibonacci_http_*); /fibonacci, the hot path, by its own cheaper
	// fibonacci_requests_total, fibonacci_rejected_requests_total and
	// fibonacci_request_duration_seconds.
	Metrics *appkit.Metrics
}

// Server answers /fibonacci, /status, /healthz and /metrics. Safe for
// concurrent use.
type Server struct {
	maxN     int
	table    *fib.Table
	replies  []atomic.Pointer[reply] // rendered on first use, by n
	requests atomic.Uint64           // every GET or POST /fibonacci, as the original's call_count
	rejected atomic.Uint64           // the ones answered with a 4xx
	latency  prometheus.Histogram    // nil without Config.Metrics
	routes   map[string]http.Handler
}

// reply is a rendered 200 answer for one n: rendering a big number in
// decimal costs far more than the rest of a request, so it is done once.
type reply struct {
	body   []byte
	length []string // the Content-Length header value
}

// New validates cfg and returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.MaxN == 0 {
		cfg.MaxN = DefaultMaxN
	}
	if cfg.MaxN < 1 || cfg.MaxN > LimitMaxN {
		return nil, fmt.Errorf("max-n %d: must be from 1 to %d (memory grows with its square)", cfg.MaxN, LimitMaxN)
	}
	table, err := fib.NewTable(cfg.MaxN)
	if err != nil {
		return nil, fmt.Errorf("memo table: %w", err)
	}
	s := &Server{maxN: cfg.MaxN, table: table, replies: make([]atomic.Pointer[reply], cfg.MaxN+1)}
	s.routes = map[string]http.Handler{
		"/fibonacci": http.HandlerFunc(s.serveFibonacci),
		"/status":    http.HandlerFunc(s.serveStatus),
		"/healthz":   onlyGet(http.HandlerFunc(appkit.Healthz)),
	}
	if m := cfg.Metrics; m != nil {
		if err := s.register(m.Registry); err != nil {
			return nil, err
		}
		// appkit's promhttp instrumentation costs about 600 ns and four
		// allocations a request, more than the rest of /fibonacci does: that
		// endpoint keeps its own counters and histogram (see register).
		for name, h := range s.routes {
			if name != "/fibonacci" {
				s.routes[name] = m.Instrument(name[1:], h)
			}
		}
		s.routes["/metrics"] = onlyGet(m.Handler())
	}
	return s, nil
}

// register exports the counters the handlers keep anyway, read only when
// scraped, so they cost nothing per request.
func (s *Server) register(reg *prometheus.Registry) error {
	s.latency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "fibonacci", Name: "request_duration_seconds",
		Help:    "Latency of GET and POST /fibonacci, good or bad.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
	})
	cs := []prometheus.Collector{s.latency,
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "fibonacci", Name: "requests_total",
			Help: "GET and POST /fibonacci requests, good or bad (the requests of /status).",
		}, func() float64 { return float64(s.requests.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "fibonacci", Name: "rejected_requests_total",
			Help: "/fibonacci requests answered with a 4xx because of bad input.",
		}, func() float64 { return float64(s.rejected.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "fibonacci", Name: "cache_length",
			Help: "Fibonacci numbers memoized (the cache_length of /status).",
		}, func() float64 { return float64(s.table.Len()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "fibonacci", Name: "max_n",
			Help: "Largest n the server answers (--max-n).",
		}, func() float64 { return float64(s.maxN) }),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register fibonacci metrics: %w", err)
		}
	}
	return nil
}

// ServeHTTP routes by exact path: a map lookup is all /fibonacci pays.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h, ok := s.routes[r.URL.Path]; ok {
		h.ServeHTTP(w, r)
		return
	}
	appkit.WriteError(w, http.StatusNotFound,
		fmt.Sprintf("no endpoint %s: try POST /fibonacci, GET /fibonacci?n=N, GET /status, /healthz or /metrics", quoteLiteral(r.URL.Path)))
}

// Status is what /status reports.
type Status struct {
	CacheLength int
	Requests    uint64
}

// Status returns the memo length and request count.
func (s *Server) Status() Status {
	return Status{CacheLength: s.table.Len(), Requests: s.requests.Load()}
}

// MaxN is the largest n the server answers.
func (s *Server) MaxN() int { return s.maxN }

var jsonType = []string{"application/json"}

func (s *Server) serveStatus(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	st := s.Status()
	body := fmt.Sprintf(`{"cache_length": %d, "requests": %d}`, st.CacheLength, st.Requests)
	w.Header()["Content-Type"] = jsonType
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write([]byte(body))
}

// reply returns the rendered answer for n, rendering it on first use. Two
// requests racing to render the same n both store equal bytes: harmless.
func (s *Server) reply(n int) *reply {
	if r := s.replies[n].Load(); r != nil {
		return r
	}
	value := s.table.Value(n).String()
	body := fmt.Appendf(nil, `{"fibonacci_number": %d, "value": %s}`, n, value)
	r := &reply{body: body, length: []string{strconv.Itoa(len(body))}}
	s.replies[n].Store(r)
	return r
}

// allow answers 405 with an Allow header unless r uses one of methods.
func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	list := ""
	for i, m := range methods {
		if i > 0 {
			list += ", "
		}
		list += m
	}
	w.Header().Set("Allow", list)
	appkit.WriteError(w, http.StatusMethodNotAllowed,
		fmt.Sprintf("method %s not allowed on %s: use %s", quoteLiteral(r.Method), r.URL.Path, list))
	return false
}

func onlyGet(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if allow(w, r, http.MethodGet, http.MethodHead) {
			h.ServeHTTP(w, r)
		}
	})
}
