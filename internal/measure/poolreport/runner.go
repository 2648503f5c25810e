package poolreport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/measure/imageset"
	"github.com/cloudlabs/cloudlabs/internal/measure/progress"
)

// Runner runs scenarios against one deployment. It is not safe for
// concurrent use: one run at a time owns the pool.
type Runner struct {
	Config  Config
	Manager *Manager
	Gallery *Gallery
	// Log receives progress lines (stderr for people).
	Log io.Writer
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	images []imageset.Image
	driver *Driver
	start  state
	// changed is set once the run has changed anything worth restoring.
	changed bool
	logOnce sync.Once
	log     io.Writer
}

// state is what the run changes and puts back.
type state struct {
	pool   Pool
	policy Policy
	config NodeConfig
}

func (r *Runner) logf(format string, args ...any) {
	if w := r.out(); w != nil {
		fmt.Fprintf(w, "pool-report: "+format+"\n", args...)
	}
}

// out is Log made safe for the progress meter's goroutine and the run's.
func (r *Runner) out() io.Writer {
	if r.Log == nil {
		return nil
	}
	r.logOnce.Do(func() { r.log = &lockedWriter{w: r.Log} })
	return r.log
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Run runs the named scenarios in order (all when none), writes nothing
// itself (see WriteDir) and always tries to put the pool back as it found
// it: size, mode and policy, node capacity and eviction policy. A canceled
// ctx stops the scenario in progress; what was measured is kept.
func (r *Runner) Run(ctx context.Context, scenarios []string) (*Report, error) {
	if len(scenarios) == 0 {
		scenarios = Scenarios()
	}
	for _, s := range scenarios {
		if !slices.Contains(Scenarios(), s) {
			return nil, fmt.Errorf("scenario %q: want one of %v", s, Scenarios())
		}
	}
	if err := r.Config.Check(); err != nil {
		return nil, err
	}
	rep := &Report{Config: r.Config, Scenarios: scenarios, Started: r.now(),
		Target: Target{GalleryURL: r.Gallery.URL, ManagerURL: r.Manager.URL}}
	var err error
	if r.start.pool, err = r.Manager.Pool(ctx); err != nil {
		return nil, err
	}
	if r.start.policy, err = r.Manager.Policy(ctx); err != nil {
		return nil, err
	}
	if r.start.config, err = r.Manager.Config(ctx); err != nil {
		return nil, err
	}
	rep.Initial = Initial{Nodes: len(r.start.pool.Nodes), Mode: r.start.pool.Mode, MaxNodes: r.start.pool.MaxNodes,
		CapacityBytes: r.start.config.CapacityBytes, EvictionPolicy: r.start.config.Policy, Policy: r.start.policy}
	if r.start.pool.MaxNodes < r.Config.N && needsPool(scenarios) {
		return nil, fmt.Errorf("the pool allows at most %d nodes (maxNodes); --n %d needs more", r.start.pool.MaxNodes, r.Config.N)
	}
	counts, err := r.Gallery.Cache(ctx)
	if err != nil {
		return nil, err
	}
	rep.Scheme, rep.GalleryExportsEpoch = counts.Scheme, counts.HasEpoch

	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		defer cancel()
		rep.Restored, rep.Left = r.restore(rctx)
		rep.Finished = r.now()
	}()

	if r.images, err = imageset.Generate(r.Config.ImageSpec()); err != nil {
		return rep, err
	}
	rep.ImageSet, rep.images = summarize(r.images), r.images
	r.driver = &Driver{Gallery: r.Gallery, Images: r.images, Concurrency: r.Config.Concurrency, Timeout: r.Config.Timeout}
	if needsPool(scenarios) {
		r.logf("uploading %d images (%d bytes, seed %d)", len(r.images), rep.ImageSet.Bytes, r.Config.Seed)
		if err := r.upload(ctx); err != nil {
			return rep, err
		}
		r.changed = true
	}
	for _, s := range scenarios {
		if ctx.Err() != nil {
			rep.Interrupted = true
			break
		}
		r.logf("scenario %s", s)
		var err error
		switch s {
		case Constant:
			for i := range r.Config.Repeats {
				var m ManualRun
				m, err = r.manual(ctx, Constant, r.Config.N, r.Config.N, i+1)
				rep.Manual = append(rep.Manual, m)
				if err != nil {
					break
				}
			}
			rep.Noise = noise(rep.Manual)
		case Shrink:
			var m ManualRun
			m, err = r.manual(ctx, Shrink, r.Config.N, r.Config.M, 1)
			rep.Manual = append(rep.Manual, m)
		case Grow:
			var m ManualRun
			m, err = r.manual(ctx, Grow, r.Config.M, r.Config.N, 1)
			rep.Manual = append(rep.Manual, m)
		case AutoGrow, AutoShrink:
			var a AutoRun
			a, err = r.auto(ctx, s)
			rep.Auto = append(rep.Auto, a)
		case Movement:
			rep.Movement, err = r.movement(ctx, rep.Scheme)
		}
		if err != nil {
			if ctx.Err() != nil {
				rep.Interrupted = true
				r.logf("scenario %s interrupted: %v", s, err)
				break
			}
			rep.Errors = append(rep.Errors, fmt.Sprintf("%s: %v", s, err))
			r.logf("scenario %s failed: %v", s, err)
		}
	}
	if ctx.Err() != nil {
		rep.Interrupted = true
	}
	return rep, nil
}

func needsPool(scenarios []string) bool { return len(scenarios) > 0 }

// upload puts every image into the gallery, Concurrency at a time.
func (r *Runner) upload(ctx context.Context) error {
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		up   = new(atomic.Int64)
	)
	if w := r.out(); w != nil {
		meter := progress.Start(w, "pool-report: upload", len(r.images))
		defer meter.Stop()
		up = &meter.Done
	}
	for range r.Config.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(r.images) {
					return
				}
				im := r.images[i]
				if err := r.Gallery.Upload(ctx, im.Key, im.Key+ext(im.ContentType), im.Data); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				up.Add(1)
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return errors.Join(errs...)
}

// manualMode puts the pool in manual mode (the buttons refuse otherwise).
func (r *Runner) manualMode(ctx context.Context) error {
	p, err := r.Manager.Policy(ctx)
	if err != nil {
		return err
	}
	if p.Mode == "manual" {
		return nil
	}
	p.Mode = "manual"
	_, err = r.Manager.SetPolicy(ctx, p)
	return err
}

// setSize resizes by one node at a time to n and waits for the gallery to
// route with the result.
func (r *Runner) setSize(ctx context.Context, n int) (Pool, error) {
	if err := r.manualMode(ctx); err != nil {
		return Pool{}, err
	}
	p, err := r.Manager.Pool(ctx)
	for err == nil && len(p.Nodes) != n {
		if len(p.Nodes) < n {
			p, err = r.Manager.Grow(ctx)
		} else {
			p, err = r.Manager.Shrink(ctx)
		}
	}
	if err != nil {
		return p, fmt.Errorf("resize the pool to %d nodes: %w", n, err)
	}
	return p, r.waitEpoch(ctx, p.Epoch)
}

// waitEpoch waits until the gallery routes with the membership of epoch
// (gallery_cache_epoch), bounded by EpochWait. A gallery that does not
// export its epoch is given two of its default poll periods (5 s) instead.
func (r *Runner) waitEpoch(ctx context.Context, epoch int64) error {
	deadline := time.Now().Add(r.Config.EpochWait)
	for {
		c, err := r.Gallery.Cache(ctx)
		if err != nil {
			return err
		}
		if !c.HasEpoch {
			return sleepCtx(ctx, 10*time.Second)
		}
		if c.Epoch == epoch {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the gallery still routes with epoch %d, not the pool's %d, after %s (is it watching this manager?)", c.Epoch, epoch, r.Config.EpochWait)
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// warm reads each of keys once (unmeasured): afterwards each is cached on
// its node, if the pool holds them all.
func (r *Runner) warm(ctx context.Context, n int) error {
	if err := r.readOnce(ctx, n); err != nil {
		return fmt.Errorf("warming the cache: %w", err)
	}
	return nil
}

// restore puts back the pool's size, mode and policy and the nodes'
// configuration as the run found them; it returns what it restored and
// what it could not.
func (r *Runner) restore(ctx context.Context) (restored, left []string) {
	if !r.changed {
		return nil, nil
	}
	want := len(r.start.pool.Nodes)
	if _, err := r.setSize(ctx, want); err != nil {
		left = append(left, fmt.Sprintf("pool size: wanted %d nodes: %v", want, err))
	} else {
		restored = append(restored, fmt.Sprintf("pool size %d", want))
	}
	if c, err := r.Manager.Config(ctx); err == nil && c == r.start.config {
		restored = append(restored, fmt.Sprintf("node config %d bytes, %s (unchanged)", c.CapacityBytes, c.Policy))
	} else if err := r.Manager.SetConfig(ctx, r.start.config); err != nil {
		left = append(left, fmt.Sprintf("node config: wanted %d bytes, %s: %v", r.start.config.CapacityBytes, r.start.config.Policy, err))
	} else {
		restored = append(restored, fmt.Sprintf("node config %d bytes, %s", r.start.config.CapacityBytes, r.start.config.Policy))
	}
	if _, err := r.Manager.SetPolicy(ctx, r.start.policy); err != nil {
		left = append(left, fmt.Sprintf("mode and policy: wanted mode %s: %v", r.start.policy.Mode, err))
	} else {
		restored = append(restored, "mode "+r.start.policy.Mode+" and autoscaler policy")
	}
	for _, s := range restored {
		r.logf("restored %s", s)
	}
	for _, s := range left {
		r.logf("NOT restored: %s", s)
	}
	return restored, left
}
