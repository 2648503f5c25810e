package admin

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudlabs/cloudlabs/apps/cachenode/internal/cache"
	"github.com/cloudlabs/cloudlabs/internal/appkit"
)

// registerMetrics exports the store's counters, read at scrape time so the
// protocol hot path pays nothing for them.
func registerMetrics(m *appkit.Metrics, st *cache.Store) {
	counter := func(name, help string, f func(cache.Stats) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "cachenode", Name: name, Help: help},
			func() float64 { return float64(f(st.Stats())) })
	}
	gauge := func(name, help string, f func(cache.Stats) int64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "cachenode", Name: name, Help: help},
			func() float64 { return float64(f(st.Stats())) })
	}
	m.Registry.MustRegister(
		counter("get_hits_total", "Keys found by get, gets, gat and gats.", func(s cache.Stats) int64 { return s.GetHits }),
		counter("get_misses_total", "Keys not found by get, gets, gat and gats.", func(s cache.Stats) int64 { return s.GetMisses }),
		counter("sets_total", "Storage commands received.", func(s cache.Stats) int64 { return s.CmdSet }),
		counter("evictions_total", "Items evicted to stay within capacity.", func(s cache.Stats) int64 { return s.Evictions }),
		counter("requests_total", "Keyed operations served.", func(s cache.Stats) int64 { return s.Requests() }),
		gauge("items", "Items stored.", func(s cache.Stats) int64 { return s.Items }),
		gauge("bytes", "Bytes charged against capacity (key + value + per-item overhead).", func(s cache.Stats) int64 { return s.Bytes }),
		gauge("capacity_bytes", "Configured capacity.", func(s cache.Stats) int64 { return s.Capacity }),
	)
}
