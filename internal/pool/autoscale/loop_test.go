package autoscale

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/pool/metrics"
)

// bound is the longest any test waits for the loop goroutine; reaching it
// means the loop is stuck, not slow.
const bound = 10 * time.Second

// fakeClock fires After channels only when the test advances it.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
	added   chan struct{} // one signal per After call
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(now time.Time) *fakeClock {
	return &fakeClock{now: now, added: make(chan struct{}, 100)}
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
	c.waiters = append(c.waiters, fakeWaiter{c.now.Add(d), ch})
	c.added <- struct{}{}
	return ch
}

// Advance moves the clock and fires every waiter that is due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- c.now
	}
	c.waiters = kept
}

// fakePool records resizes.
type fakePool struct {
	mu      sync.Mutex
	size    int
	resizes []int
	err     error
}

func (p *fakePool) Size() int { p.mu.Lock(); defer p.mu.Unlock(); return p.size }
func (p *fakePool) Resize(_ context.Context, n int, _ string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	p.size = n
	p.resizes = append(p.resizes, n)
	return nil
}
func (p *fakePool) Resizes() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int(nil), p.resizes...)
}

// script serves one scripted miss rate per check: 1000 gets, evictions, and
// little stored, so only the rule under test decides.
type script struct {
	mu    sync.Mutex
	rates []float64
	err   error
	calls int
}

func (s *script) Window(_ context.Context, end time.Time, d time.Duration) (metrics.Window, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return metrics.Window{}, s.err
	}
	if s.calls >= len(s.rates) {
		return metrics.Window{}, fmt.Errorf("script has %d windows, check %d asked for another", len(s.rates), s.calls+1)
	}
	r := s.rates[s.calls]
	s.calls++
	return metrics.Window{From: end.Add(-d), To: end, Reporting: 2, Requests: 1200, Hits: 1000 * (1 - r), Misses: 1000 * r,
		Evictions: 10, Items: 10, Bytes: 100, CapacityPerNode: 1 << 20}, nil
}

// policyBox is a PolicySource the test can change between checks, as the
// manager's form does.
type policyBox struct {
	mu sync.Mutex
	p  Policy
}

func (b *policyBox) Policy(context.Context) (Policy, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.p, nil
}
func (b *policyBox) Set(p Policy) { b.mu.Lock(); defer b.mu.Unlock(); b.p = p }

// harness runs a Loop in a goroutine on a fake clock.
type harness struct {
	t     *testing.T
	clock *fakeClock
	pool  *fakePool
	recs  chan Record
}

func start(t *testing.T, pool *fakePool, m Metrics, ps PolicySource) *harness {
	t.Helper()
	h := &harness{t: t, clock: newFakeClock(t0), pool: pool, recs: make(chan Record, 100)}
	l := &Loop{Clock: h.clock, Metrics: m, Pool: pool, Policy: ps, Interval: time.Minute, Window: time.Minute,
		Log: func(r Record) { h.recs <- r }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(bound):
			t.Errorf("loop did not stop within %s of cancel", bound)
		}
	})
	return h
}

// check waits until the loop waits on the clock, advances it one interval
// and returns the check's record.
func (h *harness) check() Record {
	h.t.Helper()
	select {
	case <-h.clock.added:
	case <-time.After(bound):
		h.t.Fatalf("loop did not wait on the clock within %s", bound)
	}
	h.clock.Advance(time.Minute)
	select {
	case r := <-h.recs:
		return r
	case <-time.After(bound):
		h.t.Fatalf("no decision within %s of the tick", bound)
	}
	return Record{}
}

// checks runs n checks and returns their rules.
func (h *harness) checks(n int) []Rule {
	h.t.Helper()
	var rules []Rule
	for range n {
		r := h.check()
		if r.Err != nil {
			h.t.Fatalf("check %d: %v", len(rules)+1, r.Err)
		}
		rules = append(rules, r.Rule)
	}
	return rules
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLoopGrowsAboveMaxWithinTwoChecks(t *testing.T) {
	pool := &fakePool{size: 2}
	h := start(t, pool, &script{rates: []float64{0.8, 0.8}}, &policyBox{p: auto()})
	rules := h.checks(2)
	if got := pool.Size(); got != 4 {
		t.Fatalf("pool size after two checks above max = %d (rules %v), want 4 (2 × 2.0)", got, rules)
	}
	if got := pool.Resizes(); !equal(got, []int{4}) {
		t.Errorf("resizes = %v, want [4]", got)
	}
}

func TestLoopShrinksBelowMin(t *testing.T) {
	pool := &fakePool{size: 4}
	h := start(t, pool, &script{rates: []float64{0.01}}, &policyBox{p: auto()})
	r := h.check()
	if r.Rule != RuleShrink || pool.Size() != 2 {
		t.Fatalf("check below min: %q (%s), size %d; want shrink to 2", r.Rule, r.Reason, pool.Size())
	}
}

func TestLoopPolicyChangeAppliesNextCheck(t *testing.T) {
	pool := &fakePool{size: 2}
	box := &policyBox{p: auto()}
	h := start(t, pool, &script{rates: []float64{0.3, 0.3}}, box)
	if r := h.check(); r.Rule != RuleInBand {
		t.Fatalf("check 1 at 0.3 with max 0.5: %q (%s), want %q", r.Rule, r.Reason, RuleInBand)
	}
	p := auto()
	p.MaxMissRate = 0.2
	box.Set(p)
	r := h.check()
	if r.Rule != RuleGrow || pool.Size() != 4 {
		t.Fatalf("check 2 after max lowered to 0.2: %q (%s), size %d; want grow to 4", r.Rule, r.Reason, pool.Size())
	}
}

func TestLoopCooldownHoldsUntilMissRateSettles(t *testing.T) {
	// Check 1 grows 2 -> 4; the remap makes the miss rate jump, then it
	// falls and settles (0.60, 0.58) still above max: only then grow again.
	rates := []float64{0.8, 0.9, 0.75, 0.6, 0.58}
	t.Run("on", func(t *testing.T) {
		pool := &fakePool{size: 2}
		p := auto()
		p.Cooldown = 10 * time.Minute
		h := start(t, pool, &script{rates: rates}, &policyBox{p: p})
		got := h.checks(len(rates))
		want := []Rule{RuleGrow, RuleCooldown, RuleCooldown, RuleCooldown, RuleGrow}
		if !equal(got, want) {
			t.Fatalf("rules = %v, want %v", got, want)
		}
		if r := pool.Resizes(); !equal(r, []int{4, 8}) {
			t.Errorf("resizes = %v, want [4 8]", r)
		}
	})
	t.Run("off: the lab's rule feeds on the remap misses", func(t *testing.T) {
		pool := &fakePool{size: 2}
		p := auto()
		p.Cooldown = 0
		h := start(t, pool, &script{rates: rates[:2]}, &policyBox{p: p})
		got := h.checks(2)
		if want := []Rule{RuleGrow, RuleGrow}; !equal(got, want) {
			t.Fatalf("rules = %v, want %v", got, want)
		}
	})
}

func TestLoopCooldownBoundedByMax(t *testing.T) {
	// The rate never settles; a 3-minute cooldown still ends 3 minutes
	// after the resize.
	pool := &fakePool{size: 2}
	p := auto()
	p.Cooldown = 3 * time.Minute
	h := start(t, pool, &script{rates: []float64{0.8, 0.9, 0.6, 0.9}}, &policyBox{p: p})
	got := h.checks(4)
	if want := []Rule{RuleGrow, RuleCooldown, RuleCooldown, RuleGrow}; !equal(got, want) {
		t.Fatalf("rules = %v, want %v", got, want)
	}
}

func TestLoopHoldsOnErrors(t *testing.T) {
	t.Run("metrics unavailable", func(t *testing.T) {
		pool := &fakePool{size: 2}
		h := start(t, pool, &script{err: errors.New("store down")}, &policyBox{p: auto()})
		r := h.check()
		if r.Err == nil || r.Rule != RuleUnavailable || pool.Size() != 2 {
			t.Fatalf("record %+v, size %d; want an unavailable hold at 2", r, pool.Size())
		}
	})
	t.Run("invalid policy", func(t *testing.T) {
		pool := &fakePool{size: 2}
		p := auto()
		p.ExpandRatio = 0.5
		h := start(t, pool, &script{rates: []float64{0.9}}, &policyBox{p: p})
		r := h.check()
		if r.Rule != RuleBadPolicy || pool.Size() != 2 {
			t.Fatalf("record %q (%v), size %d; want a bad-policy hold at 2", r.Rule, r.Err, pool.Size())
		}
	})
	t.Run("resize fails", func(t *testing.T) {
		pool := &fakePool{size: 2, err: errors.New("quota")}
		h := start(t, pool, &script{rates: []float64{0.9}}, &policyBox{p: auto()})
		r := h.check()
		if r.Err == nil || r.Desired != 4 || pool.Size() != 2 {
			t.Fatalf("record %q desired %d err %v, size %d; want the error logged", r.Rule, r.Desired, r.Err, pool.Size())
		}
	})
}
