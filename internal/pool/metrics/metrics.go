// Package metrics is the one interface through which the autoscaler and the
// manager's charts read the memcache pool's statistics, whatever the
// platform's metric store: CloudWatch custom metrics on AWS (package
// cwstore), a real Prometheus elsewhere (package promstore). Nodes report
// every 5 s; readers ask for a window (the autoscaler: the last minute) or a
// series (the charts: 30 minutes at 1-minute steps). This package holds only
// the types and the names, and imports nothing but the standard library.
package metrics

import (
	"context"
	"time"
)

// The metric names cachenode exports on /metrics
// (apps/cachenode/internal/admin/metrics.go). Gets are Hits + Misses.
const (
	Hits      = "cachenode_get_hits_total"
	Misses    = "cachenode_get_misses_total"
	Sets      = "cachenode_sets_total"
	Evictions = "cachenode_evictions_total"
	Requests  = "cachenode_requests_total"
	Items     = "cachenode_items"
	Bytes     = "cachenode_bytes"
	Capacity  = "cachenode_capacity_bytes"
)

// Store reads the pool's statistics. Implementations are safe for
// concurrent use.
type Store interface {
	// Window sums the pool's counters over (end-d, end]: what the
	// autoscaler decides on.
	Window(ctx context.Context, end time.Time, d time.Duration) (Window, error)
	// PoolSeries returns one point per step from from to to: what the
	// charts draw (30 minutes at 1-minute steps).
	PoolSeries(ctx context.Context, from, to time.Time, step time.Duration) (Series, error)
}

// Window is the pool's activity over one window, summed over its nodes.
type Window struct {
	From, To time.Time
	// Reporting is how many nodes sent samples in the window; 0 means no data.
	Reporting int
	// Counts over the window.
	Requests, Hits, Misses, Evictions float64
	// Items and Bytes stored in the whole pool at the end of the window.
	Items, Bytes float64
	// CapacityPerNode is the smallest configured capacity among the nodes
	// (they share one configuration, so normally the capacity of each).
	CapacityPerNode float64
}

// Gets is Hits + Misses.
func (w Window) Gets() float64 { return w.Hits + w.Misses }

// MissRate is Misses / Gets pooled over the nodes; ok is false without gets.
func (w Window) MissRate() (rate float64, ok bool) {
	return ratio(w.Misses, w.Gets())
}

// Series is what the manager's dashboard charts.
type Series struct {
	From, To time.Time
	Step     time.Duration
	Points   []Point
}

// Point is the pool over the step that ends at Time.
type Point struct {
	Time time.Time
	// Nodes is how many nodes reported in the step (the active nodes).
	Nodes int
	// Counts over the step; Requests is requests per step (per minute at
	// the dashboard's 1-minute step).
	Requests, Hits, Misses, Evictions float64
	// Items and Bytes stored at the end of the step.
	Items, Bytes float64
	// MissRate and HitRate are pooled over the nodes; both are 0 and
	// HasRate is false when the step saw no gets (a chart draws a gap).
	MissRate, HitRate float64
	HasRate           bool
}

// Fill sets the point's rates from its counts.
func (p *Point) Fill() {
	p.MissRate, p.HasRate = ratio(p.Misses, p.Hits+p.Misses)
	if p.HasRate {
		p.HitRate = 1 - p.MissRate
	}
}

func ratio(part, whole float64) (float64, bool) {
	if !(whole > 0) {
		return 0, false
	}
	return part / whole, true
}

// Steps returns the point times from from to to (inclusive) every step, as
// a range query returns them; backends use it to lay out a Series.
func Steps(from, to time.Time, step time.Duration) []time.Time {
	if step <= 0 || to.Before(from) {
		return nil
	}
	var ts []time.Time
	for t := from; !t.After(to); t = t.Add(step) {
		ts = append(ts, t)
	}
	return ts
}
