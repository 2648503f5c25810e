package poolreport

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"time"
)

// AutoRun is one automatic-resizing scenario run.
type AutoRun struct {
	Scenario string `json:"scenario"`
	// Policy is what the autoscaler ran with (set by the run).
	Policy Policy `json:"policy"`
	// CapacityBytes per node during the run.
	CapacityBytes int64 `json:"capacity_bytes"`
	StartNodes    int   `json:"start_nodes"`
	EndNodes      int   `json:"end_nodes"`
	// Points: the miss rate the gallery saw and the pool's size, every
	// Sample.
	Points []AutoPoint `json:"points"`
	// Decisions: the autoscaler's entries of the manager's decision log
	// made during the run (holds and resizes), times relative to the start.
	Decisions []AutoDecision `json:"decisions"`
	// Requests, Responses and Failed as the load generator counted them.
	Requests  int     `json:"requests"`
	Responses int     `json:"responses"`
	Failed    int     `json:"failed"`
	DurationS float64 `json:"duration_s"`
	// Settled: the pool resized in the expected direction and then held
	// for SettleChecks checks; false means the run hit its time limit.
	Settled bool `json:"settled"`
	// CheckIntervalS is the median time between the autoscaler's checks,
	// read from its decision log.
	CheckIntervalS float64 `json:"check_interval_s"`
}

// AutoPoint is one sample of an automatic run.
type AutoPoint struct {
	TS       float64 `json:"t_s"`
	MissRate float64 `json:"miss_rate"` // gallery cache misses / lookups since the previous sample
	HasRate  bool    `json:"has_rate"`
	Lookups  float64 `json:"lookups"`
	Nodes    int     `json:"nodes"`
}

// AutoDecision is one autoscaler decision during a run.
type AutoDecision struct {
	TS          float64 `json:"t_s"`
	From        int     `json:"from_nodes"`
	To          int     `json:"to_nodes"`
	Rule        string  `json:"rule"`
	Outcome     string  `json:"outcome"`
	Reason      string  `json:"reason"`
	MissRate    float64 `json:"miss_rate"`
	HasMissRate bool    `json:"has_miss_rate"`
	Resized     bool    `json:"resized"`
}

// auto runs one automatic scenario. auto-grow: one node whose capacity
// holds a fifth of the image set, uniform reads over every image (the
// miss rate stays above max until more nodes hold the set). auto-shrink:
// AutoStart (or N) nodes at the pool's own capacity, Zipf reads over
// HotKeys images only (the miss rate falls below min).
func (r *Runner) auto(ctx context.Context, name string) (AutoRun, error) {
	a := AutoRun{Scenario: name}
	grow := name == AutoGrow
	start := r.Config.N
	if r.Config.AutoStart != 0 {
		start = r.Config.AutoStart
	}
	capacity := r.start.config.CapacityBytes
	if grow {
		start = 1
		capacity = r.Config.AutoCapacity
		if capacity == 0 {
			capacity = max(64<<10, summarize(r.images).Bytes/5)
		}
	}
	a.CapacityBytes, a.StartNodes = capacity, start
	if _, err := r.setSize(ctx, start); err != nil {
		return a, err
	}
	if err := r.Manager.SetConfig(ctx, NodeConfig{CapacityBytes: capacity, Policy: r.start.config.Policy}); err != nil {
		return a, err
	}
	if err := r.Manager.Clear(ctx); err != nil {
		return a, err
	}
	var ops []Op
	if grow {
		ops = Uniform(int64(r.Config.Seed), len(r.images), 1000)
	} else {
		if err := r.warm(ctx, r.Config.HotKeys); err != nil {
			return a, err
		}
		var err error
		ops, err = Ops(int64(r.Config.Seed), r.Config.HotKeys, 1000, Mix{ZipfS: r.Config.ZipfS, Reads: 1})
		if err != nil {
			return a, err
		}
	}
	seen, err := r.Manager.Decisions(ctx, 1)
	if err != nil {
		return a, err
	}
	var lastID int64
	if len(seen) > 0 {
		lastID = seen[len(seen)-1].ID
	}
	pol := r.start.policy
	pol.Mode, pol.MaxMissRate, pol.MinMissRate = "auto", r.Config.MaxMissRate, r.Config.MinMissRate
	pol.ExpandRatio, pol.ShrinkRatio = r.Config.ExpandRatio, r.Config.ShrinkRatio
	pol.MinNodes, pol.MaxNodes = 1, r.start.pool.MaxNodes
	if r.Config.PlainRule {
		pol.MinRequests, pol.Cooldown, pol.RequireEvictions, pol.RequireFit = 0, "0s", false, false
	}
	if a.Policy, err = r.Manager.SetPolicy(ctx, pol); err != nil {
		return a, err
	}

	// Load runs until the watch below ends it.
	lctx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	var done atomic.Int64
	t0 := time.Now()
	type loadResult struct {
		batches []Batch
		err     error
	}
	loaded := make(chan loadResult, 1)
	go func() {
		var all []Batch
		for lctx.Err() == nil {
			bs, err := r.driver.Run(lctx, ops, len(ops), t0, &done)
			all = append(all, bs...)
			if err != nil {
				loaded <- loadResult{all, err}
				return
			}
		}
		loaded <- loadResult{all, nil}
	}()

	watchErr := r.watch(ctx, &a, grow, lastID, t0)
	stopLoad()
	lr := <-loaded
	for _, b := range lr.batches {
		a.Requests += b.Requests
		a.Responses += b.Responses
		a.Failed += b.Failed
	}
	a.DurationS = time.Since(t0).Seconds()
	// Back to manual before anything else: the next scenario sizes by hand.
	if err := r.manualMode(context.WithoutCancel(ctx)); err != nil && watchErr == nil {
		watchErr = err
	}
	if watchErr == nil {
		watchErr = lr.err
	}
	return a, watchErr
}

// watch samples the gallery's miss rate, the pool's size and the decision
// log every Sample until the pool has resized the expected way and the
// autoscaler has held SettleChecks times since, or AutoTimeout passes.
func (r *Runner) watch(ctx context.Context, a *AutoRun, grow bool, lastID int64, t0 time.Time) error {
	prev, err := r.Gallery.Cache(ctx)
	if err != nil {
		return err
	}
	deadline := t0.Add(r.Config.AutoTimeout)
	for {
		if err := sleepCtx(ctx, r.Config.Sample); err != nil {
			return err
		}
		c, err := r.Gallery.Cache(ctx)
		if err != nil {
			return err
		}
		p, err := r.Manager.Pool(ctx)
		if err != nil {
			return err
		}
		d := c.Sub(prev)
		prev = c
		pt := AutoPoint{TS: time.Since(t0).Seconds(), Lookups: d.Lookups(), Nodes: len(p.Nodes)}
		if d.Lookups() > 0 {
			pt.MissRate, pt.HasRate = d.Misses/d.Lookups(), true
		}
		a.Points = append(a.Points, pt)
		a.EndNodes = len(p.Nodes)
		ds, err := r.Manager.Decisions(ctx, 1000)
		if err != nil {
			return err
		}
		a.Decisions = a.Decisions[:0]
		lastResize, after := -1, 0
		for _, d := range ds {
			if d.ID <= lastID || d.Cause != "autoscaler" {
				continue
			}
			ad := AutoDecision{TS: d.At.Sub(t0).Seconds(), From: d.From, To: d.To, Rule: d.Rule, Outcome: d.Outcome, Reason: d.Reason, Resized: d.Resized()}
			ad.MissRate, ad.HasMissRate = d.MissRate()
			a.Decisions = append(a.Decisions, ad)
			if ad.Resized && (ad.To > ad.From) == grow {
				lastResize, after = len(a.Decisions)-1, 0
			} else if lastResize >= 0 {
				after++
			}
		}
		a.CheckIntervalS = medianInterval(a.Decisions)
		if lastResize >= 0 && after >= r.Config.SettleChecks {
			a.Settled = true
			return nil
		}
		if time.Now().After(deadline) {
			r.logf("%s: no settled resize within %s; the report shows what happened", a.Scenario, r.Config.AutoTimeout)
			return nil
		}
		r.logf("%s: %.0fs, %d nodes, miss rate %s, %d autoscaler decisions", a.Scenario, pt.TS, pt.Nodes, rateText(pt), len(a.Decisions))
	}
}

func rateText(p AutoPoint) string {
	if !p.HasRate {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", p.MissRate)
}

func medianInterval(ds []AutoDecision) float64 {
	if len(ds) < 2 {
		return 0
	}
	var gaps []float64
	for i := 1; i < len(ds); i++ {
		gaps = append(gaps, ds[i].TS-ds[i-1].TS)
	}
	for i := range gaps { // insertion sort: a few dozen values
		for j := i; j > 0 && gaps[j] < gaps[j-1]; j-- {
			gaps[j], gaps[j-1] = gaps[j-1], gaps[j]
		}
	}
	return math.Round(gaps[len(gaps)/2]*1000) / 1000
}
