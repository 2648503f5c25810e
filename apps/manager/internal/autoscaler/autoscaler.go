// Package autoscaler is the manager's autoscaler process: autoscale.Loop
// wired to the manager's database (policy re-read at every check, the
// decision log) and to control.Controller (resizes go through the same
// code, lock and node group as the manager's buttons, directly: the
// autoscaler keeps working while the web app restarts, and needs no token).
package autoscaler

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/cloudlabs/cloudlabs/apps/manager/internal/control"
	"github.com/cloudlabs/cloudlabs/apps/manager/internal/store"
	"github.com/cloudlabs/cloudlabs/internal/pool/autoscale"
)

// Autoscaler is one autoscaler process's state.
type Autoscaler struct {
	Control *control.Controller
	Metrics autoscale.Metrics
	Clock   autoscale.Clock
	// Interval between checks (default 1 min) and the metrics window
	// (default 1 min).
	Interval, Window time.Duration
	Logger           *slog.Logger

	mu     sync.Mutex
	size   int
	policy autoscale.Policy
	step   control.Step
	resize error
	loop   *autoscale.Loop
}

// pool adapts the controller to autoscale.Pool.
type pool struct{ a *Autoscaler }

func (p pool) Size() int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := p.a.Control.Store.Get(ctx)
	p.a.mu.Lock()
	defer p.a.mu.Unlock()
	if err != nil {
		// The loop will fail to read the policy as well and hold.
		return p.a.size
	}
	p.a.size = st.Active
	return st.Active
}

func (p pool) Resize(ctx context.Context, n int, _ string) error {
	st, err := p.a.Control.Resize(ctx, n)
	p.a.mu.Lock()
	p.a.step, p.a.resize = st, err
	p.a.mu.Unlock()
	return err
}

func (a *Autoscaler) readPolicy(ctx context.Context) (autoscale.Policy, error) {
	p, err := a.Control.Store.Policy(ctx)
	if err == nil {
		a.mu.Lock()
		a.policy = p
		a.mu.Unlock()
	}
	return p, err
}

func (a *Autoscaler) logger() *slog.Logger {
	if a.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.Logger
}

// Loop builds the loop (once): Run uses it, tests call its Check.
func (a *Autoscaler) Loop() *autoscale.Loop {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.loop == nil {
		a.loop = &autoscale.Loop{
			Clock: a.Clock, Metrics: a.Metrics, Pool: pool{a}, Policy: autoscale.PolicyFunc(a.readPolicy),
			Interval: a.Interval, Window: a.Window, Log: a.record,
		}
	}
	return a.loop
}

// Run checks every Interval until ctx ends.
func (a *Autoscaler) Run(ctx context.Context) error {
	a.logger().Info("autoscaler running", "interval", a.Loop().Interval, "max_nodes", a.Control.MaxNodes())
	err := a.Loop().Run(ctx)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// record writes one check to the decision log: cause autoscaler, the rule,
// the inputs (miss rate, counts, thresholds, ratios), the outcome and how
// long the resize took.
func (a *Autoscaler) record(r autoscale.Record) {
	a.mu.Lock()
	pol, step, rerr := a.policy, a.step, a.resize
	a.step, a.resize = control.Step{}, nil
	a.mu.Unlock()
	in := r.Inputs
	d := store.Decision{
		At: r.At, Cause: "autoscaler", Rule: string(r.Rule), From: in.Nodes, To: in.Nodes,
		Outcome: "held", Reason: r.Reason,
		Inputs: map[string]any{
			"miss_rate": r.MissRate, "gets": in.Gets, "hits": in.Hits, "misses": in.Misses,
			"evictions": in.Evictions, "requests": in.Requests, "bytes": in.Bytes,
			"capacity_per_node": in.CapacityPerNode, "reporting_nodes": in.Reporting, "nodes": in.Nodes,
			"desired": r.Desired, "mode": string(pol.Mode),
			"max_miss_rate": pol.MaxMissRate, "min_miss_rate": pol.MinMissRate,
			"expand_ratio": pol.ExpandRatio, "shrink_ratio": pol.ShrinkRatio,
		},
	}
	if r.Resize() {
		d.To, d.Duration = step.To, step.Duration
		d.Outcome = "resized"
		if rerr != nil {
			d.Outcome = "failed: " + rerr.Error()
		}
	} else if r.Err != nil {
		d.Outcome = "held: " + r.Err.Error()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.Control.Store.AddDecision(ctx, d); err != nil {
		a.logger().Error("record decision", "err", err)
	}
	a.logger().Info("check", "rule", d.Rule, "from", d.From, "to", d.To, "outcome", d.Outcome, "reason", d.Reason)
}
