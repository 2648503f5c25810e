package cache

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	lookups  *prometheus.CounterVec
	oversize prometheus.Counter
	// epoch and scheme say which membership and ring the gallery routes
	// with, so a tool that resized the pool can tell when the gallery has
	// switched (labctl pool-report).
	epoch  prometheus.Gauge
	scheme *prometheus.GaugeVec
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
		epoch: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "gallery", Name: "cache_epoch",
			Help: "Epoch of the pool membership reads are routed with (-1: a static --nodes list or none yet).",
		}),
		scheme: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "gallery", Name: "cache_ring_info",
			Help: "Always 1; the scheme label names the ring that routes keys to nodes.",
		}, []string{"scheme"}),
	}
	m.epoch.Set(-1)
	if reg != nil {
		reg.MustRegister(m.lookups, m.oversize, m.epoch, m.scheme)
	}
	return m
}

func (m *metrics) result(node, result string) { m.lookups.WithLabelValues(node, result).Inc() }
