// Package sweep runs the same request at rising concurrency levels (the
// lab's ab table), answers the SLA question, and writes the results as CSV,
// Markdown, SVG and JSON.
package sweep

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/measure/load"
	"github.com/cloudlabs/cloudlabs/internal/measure/progress"
	"github.com/cloudlabs/cloudlabs/internal/measure/sla"
)

// Config is one sweep.
type Config struct {
	URL         string // target URL including path
	Method      string
	Body        []byte
	ContentType string
	Levels      []int // concurrency levels, in the order run
	Requests    int   // per level
	Timeout     time.Duration
	SLA         sla.SLA
	StdClient   bool // send with net/http instead of the wire client

	// measure runs one level; nil means load.Run. Tests give it fixed
	// latencies, so the SLA answer is checked without timing a server.
	measure func(context.Context, load.Options, load.Source) (load.Result, error)
}

// Level is what one concurrency level measured.
type Level struct {
	Concurrency int         `json:"concurrency"`
	Result      load.Result `json:"result"`
	MeetsSLA    bool        `json:"meets_sla"`
	Violations  []string    `json:"violations,omitempty"`
}

// Summary is summary.json.
type Summary struct {
	Target   string             `json:"target"`
	Method   string             `json:"method"`
	Requests int                `json:"requests_per_level"`
	Timeout  string             `json:"timeout"`
	Started  time.Time          `json:"started"`
	Finished time.Time          `json:"finished"`
	SLA      map[string]float64 `json:"sla"` // metric -> bound in ms
	SLAText  string             `json:"sla_text"`
	// SLAMax is the largest tested concurrency whose level met every SLA
	// bound with zero failed requests; null when none did.
	SLAMax  *int    `json:"sla_max_concurrency"`
	SLARule string  `json:"sla_rule"`
	Levels  []Level `json:"levels"`
}

// SLARule is the rule behind SLAMax, stored in summary.json beside it.
const SLARule = "largest tested concurrency whose level has zero failed requests and every bounded metric strictly below its bound"

// Run sweeps cfg.Levels in order; progress goes to logw. A level's failures
// are counted in its result and never stop the sweep.
func Run(ctx context.Context, cfg Config, logw io.Writer) (Summary, error) {
	header := map[string][]string{}
	if len(cfg.Body) > 0 {
		header["Content-Type"] = []string{cfg.ContentType}
	}
	req, err := load.NewRequest(cfg.Method, cfg.URL, cfg.Body, header)
	if err != nil {
		return Summary{}, err
	}
	s := Summary{Target: cfg.URL, Method: cfg.Method, Requests: cfg.Requests, Timeout: cfg.Timeout.String(),
		Started: time.Now().UTC(), SLA: cfg.SLA, SLAText: cfg.SLA.String(), SLARule: SLARule}
	measure := cfg.measure
	if measure == nil {
		measure = load.Run
	}
	for _, c := range cfg.Levels {
		if ctx.Err() != nil {
			break
		}
		m := progress.Start(logw, fmt.Sprintf("c=%d", c), cfg.Requests)
		res, err := measure(ctx, load.Options{Concurrency: c, Requests: cfg.Requests, Timeout: cfg.Timeout, Done: &m.Done, StdClient: cfg.StdClient},
			func(int) *load.Request { return req })
		m.Stop()
		if err != nil {
			return s, fmt.Errorf("concurrency %d: %w", c, err)
		}
		lv := Level{Concurrency: c, Result: res}
		if len(cfg.SLA) > 0 {
			lv.Violations = cfg.SLA.Violations(Measured(res.Latency), res.Failed)
			lv.MeetsSLA = len(lv.Violations) == 0
		}
		s.Levels = append(s.Levels, lv)
	}
	s.Finished = time.Now().UTC()
	s.SLAMax = MaxMeeting(s.Levels)
	return s, ctx.Err()
}

// Measured maps SLA metric names to a result's latencies.
func Measured(l load.Latency) map[string]float64 {
	return map[string]float64{"mean": l.Mean, "p50": l.P50, "p90": l.P90, "p98": l.P98, "p99": l.P99, "max": l.Max}
}

// MaxMeeting applies SLARule.
func MaxMeeting(levels []Level) *int {
	var best *int
	for _, lv := range levels {
		if lv.MeetsSLA && (best == nil || lv.Concurrency > *best) {
			c := lv.Concurrency
			best = &c
		}
	}
	return best
}
