package promstore

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/cloudlabs/cloudlabs/internal/pool/metrics"
)

// Store reads the pool's statistics from Prometheus. It is safe for
// concurrent use.
type Store struct {
	API v1.API
}

var _ metrics.Store = (*Store)(nil)

// New returns a Store for the Prometheus at address (http://host:port).
func New(address string) (*Store, error) {
	c, err := api.NewClient(api.Config{Address: address})
	if err != nil {
		return nil, fmt.Errorf("prometheus client for %s: %w", address, err)
	}
	return &Store{API: v1.NewAPI(c)}, nil
}

// The PromQL, one expression per quantity; %s is the range ([1m]).
// Counters use increase() so restarts of a node (a counter reset) count
// right; gauges are read at the evaluation time; nodes are the series that
// had samples in the range.
const (
	qNodes     = `count(count_over_time(` + metrics.Requests + `[%s]))`
	qHits      = `sum(increase(` + metrics.Hits + `[%s]))`
	qMisses    = `sum(increase(` + metrics.Misses + `[%s]))`
	qEvictions = `sum(increase(` + metrics.Evictions + `[%s]))`
	qRequests  = `sum(increase(` + metrics.Requests + `[%s]))`
	qItems     = `sum(` + metrics.Items + `)`
	qBytes     = `sum(` + metrics.Bytes + `)`
	qCapacity  = `min(` + metrics.Capacity + `)`
)

// Queries returns the PromQL the store runs for a range of d, by quantity
// (for the README and for debugging in Prometheus's own UI).
func Queries(d time.Duration) map[string]string {
	r := model.Duration(d).String()
	return map[string]string{
		"nodes": fmt.Sprintf(qNodes, r), "hits": fmt.Sprintf(qHits, r), "misses": fmt.Sprintf(qMisses, r),
		"evictions": fmt.Sprintf(qEvictions, r), "requests": fmt.Sprintf(qRequests, r),
		"items": qItems, "bytes": qBytes, "capacity": qCapacity,
	}
}

// Window evaluates the queries at end over the range d.
func (s *Store) Window(ctx context.Context, end time.Time, d time.Duration) (metrics.Window, error) {
	if d <= 0 {
		return metrics.Window{}, fmt.Errorf("prometheus window: d = %s: want a positive duration", d)
	}
	q := Queries(d)
	w := metrics.Window{From: end.Add(-d), To: end}
	var nodes float64
	for _, f := range []struct {
		name string
		dst  *float64
	}{
		{"nodes", &nodes}, {"hits", &w.Hits}, {"misses", &w.Misses}, {"evictions", &w.Evictions},
		{"requests", &w.Requests}, {"items", &w.Items}, {"bytes", &w.Bytes}, {"capacity", &w.CapacityPerNode},
	} {
		v, err := s.instant(ctx, q[f.name], end)
		if err != nil {
			return metrics.Window{}, err
		}
		*f.dst = v
	}
	w.Reporting = int(nodes)
	return w, nil
}

// instant runs an aggregating query; an empty result (no series) is 0.
func (s *Store) instant(ctx context.Context, query string, at time.Time) (float64, error) {
	v, _, _, err := s.API.Query(ctx, query, at)
	if err != nil {
		return 0, fmt.Errorf("prometheus query %s: %w", query, err)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return 0, fmt.Errorf("prometheus query %s: got a %s, want a vector", query, v.Type())
	}
	sum := 0.0
	for _, smp := range vec {
		sum += float64(smp.Value)
	}
	return sum, nil
}

// PoolSeries evaluates the queries at every step from from to to, each over
// the step before it.
func (s *Store) PoolSeries(ctx context.Context, from, to time.Time, step time.Duration) (metrics.Series, error) {
	steps := metrics.Steps(from, to, step)
	if len(steps) == 0 {
		return metrics.Series{}, fmt.Errorf("prometheus series %s..%s step %s: want from <= to and a positive step", from, to, step)
	}
	q := Queries(step)
	r := v1.Range{Start: from, End: to, Step: step}
	pts := make([]metrics.Point, len(steps))
	for i, t := range steps {
		pts[i].Time = t
	}
	for _, f := range []struct {
		name string
		set  func(*metrics.Point, float64)
	}{
		{"nodes", func(p *metrics.Point, v float64) { p.Nodes = int(v) }},
		{"hits", func(p *metrics.Point, v float64) { p.Hits = v }},
		{"misses", func(p *metrics.Point, v float64) { p.Misses = v }},
		{"evictions", func(p *metrics.Point, v float64) { p.Evictions = v }},
		{"requests", func(p *metrics.Point, v float64) { p.Requests = v }},
		{"items", func(p *metrics.Point, v float64) { p.Items = v }},
		{"bytes", func(p *metrics.Point, v float64) { p.Bytes = v }},
	} {
		v, _, _, err := s.API.QueryRange(ctx, q[f.name], r)
		if err != nil {
			return metrics.Series{}, fmt.Errorf("prometheus range query %s: %w", q[f.name], err)
		}
		m, ok := v.(model.Matrix)
		if !ok {
			return metrics.Series{}, fmt.Errorf("prometheus range query %s: got a %s, want a matrix", q[f.name], v.Type())
		}
		for _, ss := range m {
			for _, sp := range ss.Values {
				// The API's times are milliseconds parsed from float
				// seconds: match a sample to the nearest step.
				i := int(math.Round(float64(sp.Timestamp.Time().Sub(from)) / float64(step)))
				if i >= 0 && i < len(pts) {
					f.set(&pts[i], float64(sp.Value))
				}
			}
		}
	}
	for i := range pts {
		pts[i].Fill()
	}
	return metrics.Series{From: from, To: to, Step: step, Points: pts}, nil
}
