package verify

import (
	"context"
	"sync"
	"time"
)

// Runner runs checks.
type Runner struct {
	// Parallel bounds how many checks run at once (default 8).
	Parallel int
	// Timeout bounds one attempt of one check (default 15s).
	Timeout time.Duration
	// Retries is how many more attempts an Eventually check gets after a
	// failure (default 0: none).
	Retries int
	// Backoff is the wait before the first retry, doubled for each next
	// one (default 500ms).
	Backoff time.Duration
	// Progress, when set, is called after each check ends, one call at a
	// time: done of total checks have finished.
	Progress func(done, total int, r Result)
}

// Run runs every check and returns their results in the checks' order.
func (rn Runner) Run(ctx context.Context, checks []Check) []Result {
	par := rn.Parallel
	if par <= 0 {
		par = 8
	}
	results := make([]Result, len(checks))
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for i, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i] = Result{Machine: c.Machine, Check: c.Name, Status: Unknown, Found: "not run: " + ctx.Err().Error()}
				return
			}
			results[i] = rn.one(ctx, c)
			<-sem
			if rn.Progress != nil {
				mu.Lock()
				done++
				rn.Progress(done, len(checks), results[i])
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return results
}

// RunOne runs one check.
func (rn Runner) RunOne(ctx context.Context, c Check) Result { return rn.one(ctx, c) }

func (rn Runner) one(ctx context.Context, c Check) Result {
	timeout, backoff := rn.Timeout, rn.Backoff
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	if backoff <= 0 {
		backoff = 500 * time.Millisecond
	}
	tries := 1
	if c.Eventually {
		tries += max(rn.Retries, 0)
	}
	start := time.Now()
	var o Outcome
	attempts := 0
	for attempts < tries {
		attempts++
		o = attempt(ctx, c, timeout)
		if o.Status == OK || attempts == tries {
			break
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			attempts = tries
		case <-t.C:
		}
		backoff *= 2
	}
	return Result{Machine: c.Machine, Check: c.Name, Status: o.Status, Expected: o.Expected, Found: o.Found,
		Skipped: o.Skipped, Duration: time.Since(start), Attempts: attempts}
}

// attempt probes once under the timeout; a probe that overruns it is
// UNKNOWN (the probe goroutine ends when its context does).
func attempt(ctx context.Context, c Check, timeout time.Duration) Outcome {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ch := make(chan Outcome, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				ch <- Outcome{Status: Unknown, Found: "check panicked"}
			}
		}()
		ch <- c.Probe(ctx)
	}()
	select {
	case o := <-ch:
		return o
	case <-ctx.Done():
		return Outcome{Status: Unknown, Found: "no answer within " + timeout.String()}
	}
}
