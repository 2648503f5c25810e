package poolreport

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/measure/progress"
)

// ManualRun is one manual-resizing scenario run.
type ManualRun struct {
	Scenario string `json:"scenario"`
	Run      int    `json:"run"`
	From     int    `json:"from_nodes"`
	To       int    `json:"to_nodes"`
	// Requests sent and answered, as the load generator counted them.
	Requests  int            `json:"requests"`
	Responses int            `json:"responses"`
	Failed    int            `json:"failed"`
	Errors    map[string]int `json:"errors,omitempty"`
	DurationS float64        `json:"duration_s"`
	MeanMs    float64        `json:"mean_ms"` // over every answered request
	RPS       float64        `json:"rps"`     // answered / duration
	// Cache lookups the gallery counted during the run.
	Cache      CacheStat         `json:"cache"`
	Batches    []Batch           `json:"batches"`
	Throughput []ThroughputPoint `json:"throughput"`
	Resizes    []Resize          `json:"resizes"`
	Samples    []Sample          `json:"-"`
}

// CacheStat is the gallery's cache results over a run: each read's get is
// a hit, a miss or an error (the node failed: the store answered); a fill
// that fails after a miss counts an error too.
type CacheStat struct {
	Hits     float64 `json:"hits"`
	Misses   float64 `json:"misses"`
	Errors   float64 `json:"errors"`
	MissRate float64 `json:"miss_rate"`
}

// Resize is one resize made during a run, where the charts mark it.
type Resize struct {
	FromN int `json:"from_nodes"`
	ToN   int `json:"to_nodes"`
	// AtRequest and AtS: requests finished and seconds since the run's
	// start when the resize was asked for (the chart's mark).
	AtRequest int64   `json:"at_request"`
	AtS       float64 `json:"at_s"`
	// DoneS: when the manager answered; SwitchedS and SwitchedRequest: when
	// the gallery routed with the new membership.
	DoneS           float64 `json:"done_s"`
	SwitchedS       float64 `json:"switched_s"`
	SwitchedRequest int64   `json:"switched_request"`
	Error           string  `json:"error,omitempty"`
}

// Label is the chart's text for the resize.
func (z Resize) Label() string {
	verb := "grow"
	if z.ToN < z.FromN {
		verb = "shrink"
	}
	return fmt.Sprintf("%s %d→%d", verb, z.FromN, z.ToN)
}

// marks are the request counts at which a run from -> to resizes: evenly
// spaced, one per node.
func marks(requests, from, to int) []int64 {
	steps := max(from-to, to-from)
	out := make([]int64, steps)
	for i := range out {
		out[i] = int64(requests * (i + 1) / (steps + 1))
	}
	return out
}

// manual runs one manual scenario: the pool at from, a cleared and warmed
// cache, then Requests requests of the workload with the pool resized one
// node at a time at evenly spaced request counts until it reaches to.
func (r *Runner) manual(ctx context.Context, name string, from, to, run int) (ManualRun, error) {
	m := ManualRun{Scenario: name, Run: run, From: from, To: to}
	if _, err := r.setSize(ctx, from); err != nil {
		return m, err
	}
	if err := r.Manager.Clear(ctx); err != nil {
		return m, err
	}
	if err := r.warm(ctx, len(r.images)); err != nil {
		return m, err
	}
	ops, err := Ops(int64(r.Config.Seed), len(r.images), r.Config.Requests, Mix{ZipfS: r.Config.ZipfS, Reads: r.Config.Reads, Writes: r.Config.Writes})
	if err != nil {
		return m, err
	}
	before, err := r.Gallery.Cache(ctx)
	if err != nil {
		return m, err
	}
	// The progress meter's counter is the run's: the load generator
	// counts finished requests into it.
	done := new(atomic.Int64)
	var meter *progress.Meter
	if w := r.out(); w != nil {
		meter = progress.Start(w, fmt.Sprintf("pool-report: %s run %d", name, run), r.Config.Requests)
		done = &meter.Done
	}
	t0 := time.Now()
	sampler := StartSampler(t0, done, 10*time.Millisecond)
	rctx, stopResizer := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var resizes []Resize
	wg.Add(1)
	go func() {
		defer wg.Done()
		resizes = r.resizeAt(rctx, marks(r.Config.Requests, from, to), from, to, t0, done)
	}()
	batches, runErr := r.driver.Run(ctx, ops, r.Config.Batch, t0, done)
	// Every mark lies before the last request: the resizer is done or
	// waiting on the manager or gallery; stop only a wait that is left.
	wg.Wait()
	stopResizer()
	m.Samples = sampler.Stop(t0, done)
	if meter != nil {
		meter.Stop()
	}
	m.Batches, m.Resizes = batches, resizes
	after, err := r.Gallery.Cache(context.WithoutCancel(ctx))
	if err == nil {
		d := after.Sub(before)
		m.Cache = CacheStat{Hits: d.Hits, Misses: d.Misses, Errors: d.Errors}
		if d.Lookups() > 0 {
			m.Cache.MissRate = d.Misses / d.Lookups()
		}
	}
	var latSum float64
	for _, b := range batches {
		m.Requests += b.Requests
		m.Responses += b.Responses
		m.Failed += b.Failed
		latSum += b.MeanMs * float64(b.Responses)
		for k, v := range b.Errors {
			if m.Errors == nil {
				m.Errors = map[string]int{}
			}
			m.Errors[k] += v
		}
	}
	if len(m.Samples) > 0 {
		m.DurationS = m.Samples[len(m.Samples)-1].T
	}
	if m.Responses > 0 {
		m.MeanMs = latSum / float64(m.Responses)
	}
	if m.DurationS > 0 {
		m.RPS = float64(m.Responses) / m.DurationS
	}
	m.Throughput = Throughput(m.Samples, Windows(m.DurationS, 20))
	if runErr != nil {
		return m, runErr
	}
	for _, z := range resizes {
		if z.Error != "" {
			return m, fmt.Errorf("resize %s: %s", z.Label(), z.Error)
		}
	}
	if len(resizes) != len(marks(r.Config.Requests, from, to)) && ctx.Err() == nil {
		return m, fmt.Errorf("%d of %d resizes made", len(resizes), len(marks(r.Config.Requests, from, to)))
	}
	return m, ctx.Err()
}

// resizeAt grows or shrinks by one node each time the finished requests
// reach the next mark, and records when the gallery switched.
func (r *Runner) resizeAt(ctx context.Context, at []int64, from, to int, t0 time.Time, done *atomic.Int64) []Resize {
	var out []Resize
	cur := from
	for _, mark := range at {
		for done.Load() < mark {
			if sleepCtx(ctx, 5*time.Millisecond) != nil {
				return out
			}
		}
		z := Resize{FromN: cur, AtRequest: done.Load(), AtS: time.Since(t0).Seconds()}
		var p Pool
		var err error
		if to > from {
			p, err = r.Manager.Grow(ctx)
		} else {
			p, err = r.Manager.Shrink(ctx)
		}
		z.DoneS = time.Since(t0).Seconds()
		if err == nil {
			z.ToN = len(p.Nodes)
			err = r.waitEpoch(ctx, p.Epoch)
			z.SwitchedS, z.SwitchedRequest = time.Since(t0).Seconds(), done.Load()
		}
		if err != nil {
			z.Error = err.Error()
			out = append(out, z)
			return out
		}
		cur = z.ToN
		out = append(out, z)
	}
	return out
}

// noise is the spread of the constant scenario's repeated runs.
func noise(runs []ManualRun) *Noise {
	var mean, rps, peak []float64
	for _, m := range runs {
		if m.Scenario != Constant || m.Responses == 0 {
			continue
		}
		mean = append(mean, m.MeanMs)
		rps = append(rps, m.RPS)
		if tp := Throughput(m.Samples, []float64{1}); len(tp) == 1 {
			peak = append(peak, float64(tp[0].Most))
		}
	}
	if len(mean) == 0 {
		return nil
	}
	return &Noise{Runs: len(mean), MeanMs: spread(mean), RPS: spread(rps), Peak1s: spread(peak)}
}

// Noise is how much the same scenario with the same seed varied.
type Noise struct {
	Runs   int    `json:"runs"`
	MeanMs Spread `json:"mean_ms"`
	RPS    Spread `json:"rps"`
	Peak1s Spread `json:"most_in_1s"`
}
