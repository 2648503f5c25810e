package autoscale

import (
	"context"
	"fmt"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/pool/metrics"
)

// Clock is the loop's time source; tests pass a fake one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// RealClock is the wall clock.
type RealClock struct{}

func (RealClock) Now() time.Time                         { return time.Now() }
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Metrics is where the loop reads the pool's last window
// (a metrics.Store satisfies it).
type Metrics interface {
	Window(ctx context.Context, end time.Time, d time.Duration) (metrics.Window, error)
}

// Pool is the seam between a decision and a platform, like
// cluster-autoscaler's NodeGroup: one implementation per platform (cloud
// instances started or stopped, the twin's processes). Implementations must
// be safe for concurrent use: the manager's buttons resize the same pool.
type Pool interface {
	// Size is the number of active nodes.
	Size() int
	// Resize makes the pool n nodes; reason is the decision's, for the
	// platform's log.
	Resize(ctx context.Context, n int, reason string) error
}

// PolicySource returns the current policy; the loop asks it at every check,
// so a policy saved by the manager applies at the next check without a
// restart.
type PolicySource interface {
	Policy(ctx context.Context) (Policy, error)
}

// PolicyFunc adapts a function to PolicySource.
type PolicyFunc func(ctx context.Context) (Policy, error)

func (f PolicyFunc) Policy(ctx context.Context) (Policy, error) { return f(ctx) }

// Loop checks the pool every Interval: it reads the policy, the pool's size
// and the last Window of metrics, calls Decide and resizes when the decision
// says so. It keeps the time of its last resize and the miss rates seen
// since (the cooldown's evidence) in memory: a restarted autoscaler starts
// without a cooldown. A Loop is used by one goroutine.
type Loop struct {
	Clock    Clock
	Metrics  Metrics
	Pool     Pool
	Policy   PolicySource
	Interval time.Duration // time between checks; the lab says 1 minute
	Window   time.Duration // metrics window; the lab says the last minute
	// Log receives every decision, including holds and failures (Err set).
	Log func(Record)

	lastResize time.Time
	history    []float64
}

// Record is one check as logged: the decision and an error if the check
// could not decide or the resize failed.
type Record struct {
	At time.Time
	Decision
	Err error
}

// Defaults for Loop.Interval and Loop.Window.
const (
	DefaultInterval = time.Minute
	DefaultWindow   = time.Minute
)

// Run checks every Interval until ctx is done, and returns ctx's error.
func (l *Loop) Run(ctx context.Context) error {
	interval := l.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-l.Clock.After(interval):
			l.Check(ctx)
		}
	}
}

// Check runs one check now and returns what it logged.
func (l *Loop) Check(ctx context.Context) Record {
	now := l.Clock.Now()
	window := l.Window
	if window <= 0 {
		window = DefaultWindow
	}
	n := l.Pool.Size()
	rec := Record{At: now}
	fail := func(rule Rule, err error) Record {
		rec.Decision = Decision{Desired: n, Rule: rule, Reason: err.Error(), Inputs: Observation{Nodes: n, To: now}}
		rec.Err = err
		l.log(rec)
		return rec
	}
	p, err := l.Policy.Policy(ctx)
	if err != nil {
		return fail(RuleUnavailable, fmt.Errorf("read policy: %w; holding %d", err, n))
	}
	if err := p.Validate(); err != nil {
		return fail(RuleBadPolicy, fmt.Errorf("invalid policy, holding %d: %w", n, err))
	}
	w, err := l.Metrics.Window(ctx, now, window)
	if err != nil {
		return fail(RuleUnavailable, fmt.Errorf("read metrics: %w; holding %d", err, n))
	}
	o := Observation{
		From: w.From, To: w.To, Reporting: w.Reporting,
		Requests: w.Requests, Gets: w.Gets(), Hits: w.Hits, Misses: w.Misses, Evictions: w.Evictions,
		Bytes: w.Bytes, CapacityPerNode: w.CapacityPerNode,
		Nodes: n, LastResize: l.lastResize,
	}
	// Only windows wholly after the last resize say how the resized pool behaves.
	if rate, ok := o.MissRate(); ok && w.Reporting > 0 && !w.From.Before(l.lastResize) {
		l.history = append(l.history, rate)
	}
	o.History = append([]float64(nil), l.history...)
	rec.Decision = Decide(p, o)
	if rec.Resize() {
		err := l.Pool.Resize(ctx, rec.Desired, rec.Reason)
		if err != nil {
			rec.Err = fmt.Errorf("resize %d -> %d: %w", n, rec.Desired, err)
		}
		// A failed resize may have changed some nodes: the cooldown starts
		// whenever the size moved.
		if err == nil || l.Pool.Size() != n {
			l.lastResize, l.history = now, nil
		}
	}
	l.log(rec)
	return rec
}

func (l *Loop) log(r Record) {
	if l.Log != nil {
		l.Log(r)
	}
}
