package server

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudlabs/cloudlabs/internal/appkit"
)

// metrics are the phone book's own counters, beside appkit's request
// counts and latencies.
type metrics struct {
	cacheHits, cacheMisses, cacheErrors prometheus.Counter
	cacheWriteErrors                    prometheus.Counter
	storeErrors                         *prometheus.CounterVec
	storeLatency                        *prometheus.HistogramVec
}

func newMetrics(m *appkit.Metrics) *metrics {
	cache := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "phonebook", Name: "cache_lookups_total",
		Help: "Cache lookups by result: hit, miss, or error (memcached unreachable; the store answered).",
	}, []string{"result"})
	out := &metrics{
		cacheHits:   cache.WithLabelValues("hit"),
		cacheMisses: cache.WithLabelValues("miss"),
		cacheErrors: cache.WithLabelValues("error"),
		cacheWriteErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "phonebook", Name: "cache_write_errors_total",
			Help: "Failed cache fills and write-through updates.",
		}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "phonebook", Name: "store_errors_total",
			Help: "Store calls that failed (not counting not-found), by operation.",
		}, []string{"op"}),
		storeLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "phonebook", Name: "store_duration_seconds",
			Help:    "Store call latency by operation.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"op"}),
	}
	m.Registry.MustRegister(cache, out.cacheWriteErrors, out.storeErrors, out.storeLatency)
	return out
}
