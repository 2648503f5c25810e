package poolreport

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/pool/ring"
)

// MovementResult is the key-movement table: computed for every scheme
// and, for the gallery's scheme, measured on the pool.
type MovementResult struct {
	Computed []MovementRow `json:"computed"`
	// Scheme is the gallery's ring scheme (from its /metrics), the one
	// measured; Measured is empty when only the computed table was asked for.
	Scheme   string         `json:"scheme"`
	Keys     int            `json:"keys"`
	Measured []MeasuredMove `json:"measured"`
}

// MeasuredMove is one resize of the measurement: every key cached on the
// old pool, the pool resized, every key read once.
type MeasuredMove struct {
	FromN int `json:"from_nodes"`
	ToN   int `json:"to_nodes"`
	// Misses of the pass after the resize, and its lookups.
	Misses  float64 `json:"misses"`
	Lookups float64 `json:"lookups"`
	Errors  float64 `json:"errors"`
	// WarmMisses: misses of the pass before (every key: the cache was
	// cleared), a check that the warm pass really read each key once.
	WarmMisses float64 `json:"warm_misses"`
	// Share is Misses / Keys: the measured share of keys that moved.
	Share float64 `json:"share"`
	// Predicted is the share of these very keys whose node differs
	// between the rings over the old and the new membership; Computed is
	// ring.Moved over the whole key space.
	Predicted float64 `json:"predicted"`
	Computed  float64 `json:"computed"`
	Minimum   float64 `json:"minimum"`
	// RoutingMatches: the warm pass's misses per node equal the ring's
	// assignment of the keys to the old pool's nodes; Routing says, per
	// node, how many the warm pass missed and how many the ring assigns.
	RoutingMatches bool    `json:"routing_matches"`
	Routing        string  `json:"routing"`
	WarmHits       float64 `json:"warm_hits"`
	WarmAttempts   int     `json:"warm_attempts"`
}

// ComputedOnly is the movement result without a pool: the table from
// internal/pool/ring alone.
func ComputedOnly(maxNodes int) (*MovementResult, error) {
	rows, err := ComputedMovement(maxNodes)
	if err != nil {
		return nil, err
	}
	return &MovementResult{Computed: rows}, nil
}

// movement measures n -> n+1 from 1 to the pool's most nodes, then back
// down n -> n-1, and computes the table for every scheme.
func (r *Runner) movement(ctx context.Context, scheme string) (*MovementResult, error) {
	most := r.start.pool.MaxNodes
	if r.Config.MovementMax > 0 {
		most = min(most, r.Config.MovementMax)
	}
	// The computed table always spans the lab's 1..8 nodes; the
	// measurement, the pool's own bound.
	res, err := ComputedOnly(8)
	if err != nil {
		return nil, err
	}
	res.Keys, res.Scheme = r.Config.MovementKeys, scheme
	if scheme == "" {
		return res, fmt.Errorf("the gallery does not say which ring scheme it uses (gallery_cache_ring_info): only the computed table")
	}
	if most < 2 {
		return res, fmt.Errorf("the pool allows %d node(s): no resize to measure", most)
	}
	keys := make([]string, r.Config.MovementKeys)
	for i := range keys {
		keys[i] = r.images[i].Key
	}
	if _, err := r.setSize(ctx, 1); err != nil {
		return res, err
	}
	steps := [][2]int{}
	for n := 1; n < most; n++ {
		steps = append(steps, [2]int{n, n + 1})
	}
	for n := most; n >= 2; n-- {
		steps = append(steps, [2]int{n, n - 1})
	}
	for _, st := range steps {
		m, err := r.measureMove(ctx, scheme, keys, st[0], st[1])
		res.Measured = append(res.Measured, m)
		if err != nil {
			return res, err
		}
		r.logf("movement %d→%d: %.0f of %d keys missed (share %.3f; the ring predicts %.3f for these keys)", m.FromN, m.ToN, m.Misses, len(keys), m.Share, m.Predicted)
	}
	return res, nil
}

func (r *Runner) measureMove(ctx context.Context, scheme string, keys []string, from, to int) (MeasuredMove, error) {
	m := MeasuredMove{FromN: from, ToN: to, Minimum: ring.MinimalShare(from, to)}
	var err error
	if m.Computed, err = ring.Moved(scheme, from, to); err != nil {
		return m, err
	}
	p, err := r.setSize(ctx, from)
	if err != nil {
		return m, err
	}
	before := p.Nodes
	// The warm pass must start from empty nodes. A fill the gallery gave
	// up on (its cache timeout) may still reach a node after the clear,
	// which goes through the nodes' admin API: then clear and warm again.
	var c1, warm CacheCounts
	for attempt := 1; ; attempt++ {
		if err := r.Manager.Clear(ctx); err != nil {
			return m, err
		}
		c0, err := r.Gallery.Cache(ctx)
		if err != nil {
			return m, err
		}
		if err := r.readOnce(ctx, len(keys)); err != nil {
			return m, err
		}
		if c1, err = r.Gallery.Cache(ctx); err != nil {
			return m, err
		}
		warm = c1.Sub(c0)
		m.WarmAttempts = attempt
		if warm.Hits == 0 || attempt == 3 {
			break
		}
	}
	m.WarmMisses = warm.Misses
	want, err := PerNode(scheme, before, keys)
	if err != nil {
		return m, err
	}
	m.RoutingMatches, m.WarmHits = true, warm.Hits
	for _, n := range before {
		got := int(warm.ByNode[n]["miss"])
		if got != want[n] {
			m.RoutingMatches = false
		}
		m.Routing += fmt.Sprintf("%s: %d missed, %d hit, ring %d; ", n, got, int(warm.ByNode[n]["hit"]), want[n])
	}
	p, err = r.setSize(ctx, to)
	if err != nil {
		return m, err
	}
	moved, err := PredictedMoved(scheme, before, p.Nodes, keys)
	if err != nil {
		return m, err
	}
	m.Predicted = float64(moved) / float64(len(keys))
	if err := r.readOnce(ctx, len(keys)); err != nil {
		return m, err
	}
	c2, err := r.Gallery.Cache(ctx)
	if err != nil {
		return m, err
	}
	d := c2.Sub(c1)
	m.Misses, m.Lookups, m.Errors = d.Misses, d.Lookups(), d.Errors
	m.Share = m.Misses / float64(len(keys))
	return m, nil
}

// readOnce reads the first n images once each and fails on any failed read.
func (r *Runner) readOnce(ctx context.Context, n int) error {
	ops := make([]Op, n)
	for i := range ops {
		ops[i] = Op{Key: i}
	}
	var done atomic.Int64
	bs, err := r.driver.Run(ctx, ops, n, time.Now(), &done)
	if err != nil {
		return err
	}
	for _, b := range bs {
		if b.Failed > 0 {
			return fmt.Errorf("%d of %d reads failed: %v", b.Failed, b.Requests, b.Errors)
		}
	}
	return ctx.Err()
}
