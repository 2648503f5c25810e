package poolreport

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/measure/imageset"
	"github.com/cloudlabs/cloudlabs/internal/measure/load"
)

// Driver sends workload ops to the gallery through the project's load
// generator (internal/measure/load: closed loop, HDR histograms), one batch
// of ops per load.Run, so each batch has its own latency summary.
type Driver struct {
	Gallery     *Gallery
	Images      []imageset.Image
	Concurrency int
	Timeout     time.Duration

	once          sync.Once
	reads, writes []*load.Request
	err           error
}

func (d *Driver) prepare() error {
	d.once.Do(func() {
		d.reads = make([]*load.Request, len(d.Images))
		d.writes = make([]*load.Request, len(d.Images))
		for i, im := range d.Images {
			r, err := load.NewRequest(http.MethodPost, d.Gallery.KeyURL(im.Key), nil, nil)
			if err != nil {
				d.err = err
				return
			}
			r.Check = CheckReply
			body, ct := UploadBody(im.Key, im.Key+ext(im.ContentType), im.Data)
			w, err := load.NewRequest(http.MethodPost, d.Gallery.UploadURL(), body, http.Header{"Content-Type": {ct}})
			if err != nil {
				d.err = err
				return
			}
			w.Check = CheckReply
			d.reads[i], d.writes[i] = r, w
		}
	})
	return d.err
}

func ext(contentType string) string {
	if contentType == "image/jpeg" {
		return ".jpg"
	}
	return ".png"
}

// Batch is what one batch of ops measured.
type Batch struct {
	Index     int            `json:"index"`
	Requests  int            `json:"requests"`
	Responses int            `json:"responses"`
	Failed    int            `json:"failed"`
	EndCount  int64          `json:"end_count"` // requests finished by the batch's end, cumulative
	StartS    float64        `json:"start_s"`   // since the scenario's start
	EndS      float64        `json:"end_s"`
	MeanMs    float64        `json:"mean_ms"`
	P50Ms     float64        `json:"p50_ms"`
	P99Ms     float64        `json:"p99_ms"`
	MaxMs     float64        `json:"max_ms"`
	Errors    map[string]int `json:"errors,omitempty"`
}

// Run sends ops in batches of batch ops; done counts finished requests
// across batches (the sampler reads it). It stops early, with what it
// measured, when ctx ends.
func (d *Driver) Run(ctx context.Context, ops []Op, batch int, t0 time.Time, done *atomic.Int64) ([]Batch, error) {
	if err := d.prepare(); err != nil {
		return nil, err
	}
	var out []Batch
	for start := 0; start < len(ops) && ctx.Err() == nil; start += batch {
		part := ops[start:min(start+batch, len(ops))]
		b := Batch{Index: len(out), StartS: time.Since(t0).Seconds()}
		res, err := load.Run(ctx, load.Options{Concurrency: d.Concurrency, Requests: len(part), Timeout: d.Timeout, Done: done},
			func(i int) *load.Request {
				op := part[i]
				if op.Write {
					return d.writes[op.Key]
				}
				return d.reads[op.Key]
			})
		if err != nil {
			return out, err
		}
		b.EndS = time.Since(t0).Seconds()
		b.EndCount = done.Load()
		b.Requests, b.Responses, b.Failed = res.Requests, res.Responses, res.Failed
		b.MeanMs, b.P50Ms, b.P99Ms, b.MaxMs = res.Latency.Mean, res.Latency.P50, res.Latency.P99, res.Latency.Max
		if len(res.Errors) > 0 {
			b.Errors = res.Errors
		}
		out = append(out, b)
	}
	return out, nil
}

// Sample is the count of finished requests at a moment of the run.
type Sample struct {
	T    float64 // seconds since the scenario's start
	Done int64
}

// Sampler records how many requests have finished, every Every, until
// stopped: the completion timeline throughput windows are read from.
type Sampler struct {
	mu      sync.Mutex
	samples []Sample
	stop    chan struct{}
	wg      sync.WaitGroup
}

// StartSampler samples done every every (10 ms is fine: windows are
// seconds long) from t0 on.
func StartSampler(t0 time.Time, done *atomic.Int64, every time.Duration) *Sampler {
	s := &Sampler{stop: make(chan struct{}), samples: []Sample{{T: time.Since(t0).Seconds(), Done: done.Load()}}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.mu.Lock()
				s.samples = append(s.samples, Sample{T: time.Since(t0).Seconds(), Done: done.Load()})
				s.mu.Unlock()
			}
		}
	}()
	return s
}

// Stop ends sampling with a last sample and returns the timeline.
func (s *Sampler) Stop(t0 time.Time, done *atomic.Int64) []Sample {
	close(s.stop)
	s.wg.Wait()
	s.samples = append(s.samples, Sample{T: time.Since(t0).Seconds(), Done: done.Load()})
	return s.samples
}
