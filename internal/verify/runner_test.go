package verify

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunnerRetriesEventuallyChecksOnly(t *testing.T) {
	var eventual, once atomic.Int32
	checks := []Check{
		{Machine: "m", Name: "eventually", Eventually: true, Probe: func(context.Context) Outcome {
			if eventual.Add(1) < 3 {
				return Outcome{Status: Critical, Found: "not yet"}
			}
			return Outcome{Status: OK, Found: "settled"}
		}},
		{Machine: "m", Name: "once", Probe: func(context.Context) Outcome {
			once.Add(1)
			return Outcome{Status: Critical, Found: "drift"}
		}},
	}
	rs := Runner{Retries: 4, Backoff: time.Millisecond}.Run(t.Context(), checks)
	if len(rs) != 2 {
		t.Fatalf("%d results, want 2", len(rs))
	}
	if rs[0].Status != OK || rs[0].Attempts != 3 || eventual.Load() != 3 {
		t.Errorf("eventually: %+v after %d probes, want OK at the third attempt", rs[0], eventual.Load())
	}
	if rs[1].Status != Critical || rs[1].Attempts != 1 || once.Load() != 1 {
		t.Errorf("once: %+v after %d probes, want CRITICAL without a retry", rs[1], once.Load())
	}
}

func TestRunnerTimeoutIsUnknown(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	c := Check{Machine: "m", Name: "hangs", Probe: func(ctx context.Context) Outcome {
		select {
		case <-release:
		case <-ctx.Done():
		}
		<-release
		return Outcome{Status: OK}
	}}
	r := Runner{Timeout: 20 * time.Millisecond}.RunOne(t.Context(), c)
	if r.Status != Unknown || r.Found != "no answer within 20ms" {
		t.Errorf("got %+v, want UNKNOWN, no answer within 20ms", r)
	}
}

func TestRunnerBoundsParallelism(t *testing.T) {
	const bound, n = 3, 12
	var mu sync.Mutex
	running, peak := 0, 0
	gate := make(chan struct{})
	var checks []Check
	for i := 0; i < n; i++ {
		checks = append(checks, Check{Machine: "m", Name: "c", Probe: func(context.Context) Outcome {
			mu.Lock()
			running++
			peak = max(peak, running)
			full := running == bound
			mu.Unlock()
			if full {
				// Let the batch go once the bound is reached: every probe
				// in flight has entered.
				select {
				case gate <- struct{}{}:
				default:
				}
			}
			mu.Lock()
			running--
			mu.Unlock()
			return Outcome{Status: OK}
		}})
	}
	go func() {
		for range gate {
		}
	}()
	var calls []int
	rs := Runner{Parallel: bound, Progress: func(done, total int, _ Result) { calls = append(calls, done) }}.Run(t.Context(), checks)
	close(gate)
	if len(rs) != n || len(calls) != n || calls[n-1] != n {
		t.Fatalf("%d results, progress %v; want %d and a last call at %d", len(rs), calls, n, n)
	}
	if peak > bound {
		t.Errorf("%d checks ran at once, the bound is %d", peak, bound)
	}
}
