// Package poolreport measures the elastic cache pool the way the lab's
// report asks (seed 003, "Results"): latency and throughput while the pool
// holds, shrinks and grows by hand; the autoscaler's miss rate against node
// count; and the share of keys each hashing scheme moves on a resize,
// computed and measured. It drives any deployment through the gallery's
// lab API and the manager's API, restores what it changed, and writes a
// folder of SVG charts, CSV data, report.json and report.md.
package poolreport

import (
	"fmt"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/measure/imageset"
)

// Scenario names, in the order a full report runs them.
const (
	Constant   = "constant"
	Shrink     = "shrink"
	Grow       = "grow"
	AutoGrow   = "auto-grow"
	AutoShrink = "auto-shrink"
	Movement   = "movement"
)

// Scenarios lists every scenario name in run order.
func Scenarios() []string { return []string{Constant, Shrink, Grow, AutoGrow, AutoShrink, Movement} }

// Config is everything a report run depends on; every field is written
// into the report. Defaults() holds the defaults in one place.
type Config struct {
	Seed      uint64           `json:"seed"`
	Images    int              `json:"images"`
	Sizes     []imageset.Class `json:"-"`
	SizesText string           `json:"image_sizes"`
	JPEGShare float64          `json:"jpeg_share"`
	ZipfS     float64          `json:"zipf_s"`
	Reads     int              `json:"reads"`
	Writes    int              `json:"writes"`

	Concurrency int           `json:"concurrency"`
	Requests    int           `json:"requests"` // per manual scenario run
	Batch       int           `json:"batch"`    // requests per latency point
	Timeout     time.Duration `json:"-"`
	TimeoutText string        `json:"timeout"`
	N           int           `json:"n"` // constant size; shrink from, grow to
	M           int           `json:"m"` // shrink to, grow from
	Repeats     int           `json:"repeats"`

	MaxMissRate  float64       `json:"max_miss_rate"`
	MinMissRate  float64       `json:"min_miss_rate"`
	ExpandRatio  float64       `json:"expand_ratio"`
	ShrinkRatio  float64       `json:"shrink_ratio"`
	PlainRule    bool          `json:"plain_rule"`
	AutoCapacity int64         `json:"auto_grow_capacity_bytes"` // 0: a fifth of the image set's bytes
	AutoStart    int           `json:"auto_shrink_start"`        // 0: N
	HotKeys      int           `json:"auto_shrink_hot_keys"`
	AutoTimeout  time.Duration `json:"-"`
	SettleChecks int           `json:"auto_settle_checks"`
	Sample       time.Duration `json:"-"`
	SampleText   string        `json:"sample"`
	AutoTimeoutS float64       `json:"auto_timeout_s"`
	MovementKeys int           `json:"movement_keys"`
	MovementMax  int           `json:"movement_max_nodes"` // 0: the pool's maxNodes
	EpochWait    time.Duration `json:"-"`
}

// Defaults are the choices the lab leaves open.
func Defaults() Config {
	sizes, _ := imageset.ParseSizes(imageset.DefaultSizes)
	return Config{
		Seed: 1, Images: 400, Sizes: sizes, JPEGShare: 0.5, ZipfS: 1.1, Reads: 9, Writes: 1,
		Concurrency: 8, Requests: 3000, Batch: 100, Timeout: 10 * time.Second, N: 4, M: 2, Repeats: 2,
		MaxMissRate: 0.5, MinMissRate: 0.1, ExpandRatio: 2, ShrinkRatio: 0.5,
		HotKeys: 20, AutoTimeout: 12 * time.Minute, SettleChecks: 2, Sample: 5 * time.Second,
		MovementKeys: 400, EpochWait: time.Minute,
	}
}

// Check names the first bad field, its value and what is allowed.
func (c *Config) Check() error {
	switch {
	case c.Images < 1:
		return fmt.Errorf("images %d: want at least 1", c.Images)
	case !(c.ZipfS > 1):
		return fmt.Errorf("zipf %v: want more than 1", c.ZipfS)
	case c.Reads < 0 || c.Writes < 0 || c.Reads+c.Writes == 0:
		return fmt.Errorf("read:write %d:%d: want not both 0", c.Reads, c.Writes)
	case c.Concurrency < 1:
		return fmt.Errorf("concurrency %d: want at least 1", c.Concurrency)
	case c.Requests < 1 || c.Batch < 1 || c.Batch > c.Requests:
		return fmt.Errorf("requests %d, batch %d: want 1 <= batch <= requests", c.Requests, c.Batch)
	case c.M < 2 || c.N <= c.M || c.N > 8:
		return fmt.Errorf("pool sizes n=%d, m=%d: the lab wants 1 < m < n <= 8", c.N, c.M)
	case c.Repeats < 1:
		return fmt.Errorf("repeats %d: want at least 1", c.Repeats)
	case !(c.MinMissRate >= 0 && c.MinMissRate < c.MaxMissRate && c.MaxMissRate <= 1):
		return fmt.Errorf("miss-rate thresholds min %v, max %v: want 0 <= min < max <= 1", c.MinMissRate, c.MaxMissRate)
	case !(c.ExpandRatio > 1) || !(c.ShrinkRatio > 0 && c.ShrinkRatio < 1):
		return fmt.Errorf("ratios expand %v, shrink %v: want expand > 1 and 0 < shrink < 1", c.ExpandRatio, c.ShrinkRatio)
	case c.HotKeys < 1 || c.HotKeys > c.Images:
		return fmt.Errorf("hot keys %d: want 1..images (%d)", c.HotKeys, c.Images)
	case c.MovementKeys < 1 || c.MovementKeys > c.Images:
		return fmt.Errorf("movement keys %d: want 1..images (%d)", c.MovementKeys, c.Images)
	case c.Sample <= 0 || c.AutoTimeout <= 0 || c.SettleChecks < 0 || c.EpochWait <= 0:
		return fmt.Errorf("sample %s, auto timeout %s, settle checks %d: want positive durations and checks >= 0", c.Sample, c.AutoTimeout, c.SettleChecks)
	case c.AutoStart != 0 && (c.AutoStart < 2 || c.AutoStart > 8):
		return fmt.Errorf("auto-shrink start %d: want 2..8", c.AutoStart)
	}
	c.SizesText = imageset.FormatSizes(c.Sizes)
	c.TimeoutText, c.SampleText, c.AutoTimeoutS = c.Timeout.String(), c.Sample.String(), c.AutoTimeout.Seconds()
	return nil
}

// ImageSpec is the image set's spec.
func (c Config) ImageSpec() imageset.Spec {
	return imageset.Spec{Seed: c.Seed, Count: c.Images, Sizes: c.Sizes, JPEGShare: c.JPEGShare, Prefix: "img-"}
}
