package cache

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	lookups  *prometheus.CounterVec
	oversize prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "gallery", Name: "cache_results_total",
			Help: "Cache lookups by node and result (hit, miss, error: the node failed and the store answered).",
		}, []string{"node", "result"}),
		oversize: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "gallery", Name: "cache_oversize_total",
			Help: "Images read from the store but not cached: larger than the nodes' item limit.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.lookups, m.oversize)
	}
	return m
}

func (m *metrics) result(node, result string) { m.lookups.WithLabelValues(node, result).Inc() }
