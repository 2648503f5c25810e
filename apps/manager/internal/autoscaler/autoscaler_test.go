package autoscaler

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/apps/manager/internal/managertest"
	"github.com/cloudlabs/cloudlabs/apps/manager/internal/store"
	"github.com/cloudlabs/cloudlabs/internal/pool/autoscale"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

// fakeClock fires After only when the test says so.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []chan time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, ch)
	return ch
}

func (c *fakeClock) waiting() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters) > 0
}

// tick waits (bounded) until the loop waits, advances one minute and fires.
func (c *fakeClock) tick(t *testing.T) {
	t.Helper()
	testkit.Eventually(t, "the autoscaler waiting for its next check", 10*time.Second, c.waiting)
	c.mu.Lock()
	c.now = c.now.Add(time.Minute)
	for _, w := range c.waiters {
		w <- c.now
	}
	c.waiters = nil
	c.mu.Unlock()
}

type run struct {
	t     *testing.T
	rig   *managertest.Rig
	met   *managertest.Metrics
	clock *fakeClock
}

func start(t *testing.T, slots, initial int, policy func(*autoscale.Policy)) *run {
	rig := managertest.New(t, slots, initial)
	p := autoscale.DefaultPolicy()
	p.Mode, p.MaxNodes = autoscale.Auto, slots
	policy(&p)
	if _, err := rig.Store.SetPolicy(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	r := &run{t: t, rig: rig, met: &managertest.Metrics{}, clock: &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}}
	a := &Autoscaler{Control: rig.Control, Metrics: r.met, Clock: r.clock, Interval: time.Minute, Window: time.Minute}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
	return r
}

func (r *run) decisions() []store.Decision {
	ds, err := r.rig.Store.Decisions(context.Background(), 100)
	if err != nil {
		r.t.Fatal(err)
	}
	slices.Reverse(ds)
	return ds
}

// check runs one check on the fake clock and returns its decision.
func (r *run) check() store.Decision {
	r.t.Helper()
	before := len(r.decisions())
	r.clock.tick(r.t)
	var ds []store.Decision
	testkit.Eventually(r.t, "the check's decision in the log", 30*time.Second, func() bool {
		ds = r.decisions()
		return len(ds) > before
	})
	return ds[len(ds)-1]
}

func (r *run) active() int {
	p, err := r.rig.Store.Get(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return p.Active
}

func TestAutoGrowsByRatioAndShrinksBelowMin(t *testing.T) {
	r := start(t, 4, 1, func(p *autoscale.Policy) {
		*p = p.Plain()
		p.MaxMissRate, p.MinMissRate, p.ExpandRatio, p.ShrinkRatio = 0.5, 0.1, 2, 0.5
	})
	r.met.SetWindow(managertest.Busy(1, 0.8))
	d := r.check()
	if d.Rule != "grow" || d.From != 1 || d.To != 2 || d.Outcome != "resized" || r.active() != 2 {
		t.Fatalf("check 1: %+v (active %d), want grow 1 -> 2 resized", d, r.active())
	}
	r.met.SetWindow(managertest.Busy(2, 0.8))
	d = r.check()
	if d.Rule != "grow" || d.To != 4 || r.active() != 4 {
		t.Fatalf("check 2: %+v (active %d), want grow 2 -> 4 (ceil(2 × 2))", d, r.active())
	}
	for i := range 4 {
		if s := r.rig.Stats(t, i); s.CapacityBytes != 16<<20 {
			t.Errorf("node %d joined with capacity %d, want the remembered 16 MB", i, s.CapacityBytes)
		}
	}
	if !strings.Contains(d.Reason, "miss rate 0.800 above max 0.500: grow 2 -> 4") || d.Inputs["miss_rate"] != 0.8 ||
		d.Inputs["max_miss_rate"] != 0.5 || d.Inputs["expand_ratio"] != float64(2) || d.Cause != "autoscaler" || !(d.Millis > 0) {
		t.Errorf("decision does not explain itself: %+v", d)
	}
	r.met.SetWindow(managertest.Busy(4, 0.02))
	d = r.check()
	if d.Rule != "shrink" || d.From != 4 || d.To != 2 || r.active() != 2 {
		t.Fatalf("check 3: %+v (active %d), want shrink 4 -> 2 (floor(4 × 0.5))", d, r.active())
	}
	testkit.WaitClosed(t, r.rig.Slots[3].Addr, 10*time.Second)
	r.met.SetWindow(managertest.Busy(2, 0.3))
	if d = r.check(); d.Rule != "in-band" || d.Outcome != "held" || r.active() != 2 {
		t.Errorf("check 4: %+v, want in-band hold at 2", d)
	}
}

func TestPolicyChangeAppliesWithoutRestart(t *testing.T) {
	r := start(t, 2, 1, func(p *autoscale.Policy) { *p = p.Plain() })
	r.met.SetWindow(managertest.Busy(1, 0.6))
	// The same autoscaler, the policy changed in the database between checks.
	p, _ := r.rig.Store.Policy(context.Background())
	p.MaxMissRate = 0.9
	if _, err := r.rig.Store.SetPolicy(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if d := r.check(); d.Rule != "in-band" || r.active() != 1 || d.Inputs["max_miss_rate"] != 0.9 {
		t.Fatalf("with max 0.9: %+v, want in-band at 1 read with max 0.9", d)
	}
	p.MaxMissRate = 0.5
	r.rig.Store.SetPolicy(context.Background(), p)
	if d := r.check(); d.Rule != "grow" || r.active() != 2 {
		t.Fatalf("with max 0.5: %+v (active %d), want grow to 2", d, r.active())
	}
	p.Mode = autoscale.Manual
	r.rig.Store.SetPolicy(context.Background(), p)
	r.met.SetWindow(managertest.Busy(2, 0.0))
	if d := r.check(); d.Rule != "manual" || r.active() != 2 {
		t.Fatalf("manual mode: %+v (active %d), want the autoscaler to hold", d, r.active())
	}
}

func TestExtraRulesHoldAndAreLogged(t *testing.T) {
	r := start(t, 2, 1, func(p *autoscale.Policy) {})
	w := managertest.Busy(1, 0.9)
	w.Evictions, w.Bytes = 0, 1<<20 // misses more nodes cannot fix
	r.met.SetWindow(w)
	if d := r.check(); d.Rule != "require-evictions" || d.Outcome != "held" || r.active() != 1 || !strings.Contains(d.Reason, "no evictions") {
		t.Fatalf("%+v, want a require-evictions hold", d)
	}
	w.Hits, w.Misses = 5, 40
	r.met.SetWindow(w)
	if d := r.check(); d.Rule != "min-requests" || r.active() != 1 {
		t.Fatalf("%+v, want a min-requests hold", d)
	}
}
