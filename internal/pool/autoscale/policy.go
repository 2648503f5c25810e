package autoscale

import (
	"errors"
	"fmt"
	"time"
)

// Mode says who sizes the pool: the manager's buttons or the autoscaler.
type Mode string

const (
	Manual Mode = "manual"
	Auto   Mode = "auto"
)

// Pool size bounds fixed by the lab: never fewer than 1 node, never more than 8.
const (
	MinPoolSize = 1
	MaxPoolSize = 8
)

// Policy is the autoscaler's configuration, as the manager stores it. The
// lab's four parameters come first; the rest are the rules that keep a resize
// from feeding itself, each with an off value (see Plain).
type Policy struct {
	Mode Mode `json:"mode"`

	// MaxMissRate: grow when the pool's miss rate over the last window is above it.
	MaxMissRate float64 `json:"max_miss_rate"`
	// MinMissRate: shrink when the miss rate is below it.
	MinMissRate float64 `json:"min_miss_rate"`
	// ExpandRatio: grow to ceil(n × ExpandRatio).
	ExpandRatio float64 `json:"expand_ratio"`
	// ShrinkRatio: shrink to floor(n × ShrinkRatio).
	ShrinkRatio float64 `json:"shrink_ratio"`

	// MinRequests: no decision when the window saw fewer gets than this
	// (a miss rate over 3 gets means nothing). 0 turns the rule off; a window
	// with no gets at all never decides.
	MinRequests float64 `json:"min_requests"`
	// Cooldown: after a resize, hold until the miss rate settles, but never
	// longer than Cooldown. 0 turns the rule off.
	Cooldown time.Duration `json:"cooldown"`
	// SettleTolerance: the miss rate has settled when the last two windows
	// taken wholly after the resize differ by at most this (absolute).
	SettleTolerance float64 `json:"settle_tolerance"`
	// RequireEvictions: grow only on misses more nodes can fix, i.e. when the
	// window saw evictions or the stored bytes are at FullFraction of the
	// pool's capacity or more. false turns the rule off.
	RequireEvictions bool `json:"require_evictions"`
	// RequireFit: shrink only to a size whose capacity holds the stored bytes
	// at FullFraction. false turns the rule off.
	RequireFit bool `json:"require_fit"`
	// FullFraction is the share of a node's capacity counted as "full"
	// (eviction pressure starts before 100%); used by RequireEvictions and
	// RequireFit.
	FullFraction float64 `json:"full_fraction"`

	// MinNodes and MaxNodes bound the result, within 1..8.
	MinNodes int `json:"min_nodes"`
	MaxNodes int `json:"max_nodes"`
}

// DefaultPolicy is what the manager starts with: manual mode, the lab's
// example ratios (×2, ×0.5) and every extra rule on.
func DefaultPolicy() Policy {
	return Policy{
		Mode:             Manual,
		MaxMissRate:      0.5,
		MinMissRate:      0.1,
		ExpandRatio:      2,
		ShrinkRatio:      0.5,
		MinRequests:      100,
		Cooldown:         5 * time.Minute,
		SettleTolerance:  0.05,
		RequireEvictions: true,
		RequireFit:       true,
		FullFraction:     0.9,
		MinNodes:         MinPoolSize,
		MaxNodes:         MaxPoolSize,
	}
}

// Plain returns p with every extra rule off: Decide then applies the lab's
// plain rule (thresholds, ratios, clamp to MinNodes..MaxNodes) and nothing else.
func (p Policy) Plain() Policy {
	p.MinRequests = 0
	p.Cooldown = 0
	p.RequireEvictions = false
	p.RequireFit = false
	return p
}

// Validate reports every field out of range, each error naming the field,
// its value and what is allowed.
func (p Policy) Validate() error {
	var errs []error
	bad := func(field string, value any, allowed string) {
		errs = append(errs, fmt.Errorf("policy %s = %v: %s", field, value, allowed))
	}
	if p.Mode != Manual && p.Mode != Auto {
		bad("mode", fmt.Sprintf("%q", p.Mode), `want "manual" or "auto"`)
	}
	if p.MinMissRate < 0 || p.MinMissRate > 1 || p.MinMissRate != p.MinMissRate {
		bad("min_miss_rate", p.MinMissRate, "want 0 <= min_miss_rate < max_miss_rate <= 1")
	}
	if p.MaxMissRate < 0 || p.MaxMissRate > 1 || p.MaxMissRate != p.MaxMissRate {
		bad("max_miss_rate", p.MaxMissRate, "want 0 <= min_miss_rate < max_miss_rate <= 1")
	} else if p.MinMissRate >= p.MaxMissRate {
		bad("min_miss_rate", p.MinMissRate, fmt.Sprintf("want less than max_miss_rate (%v)", p.MaxMissRate))
	}
	if !(p.ExpandRatio > 1) {
		bad("expand_ratio", p.ExpandRatio, "want more than 1 (2.0 doubles the pool)")
	}
	if !(p.ShrinkRatio > 0 && p.ShrinkRatio < 1) {
		bad("shrink_ratio", p.ShrinkRatio, "want more than 0 and less than 1 (0.5 halves the pool)")
	}
	if !(p.MinRequests >= 0) {
		bad("min_requests", p.MinRequests, "want 0 (off) or more")
	}
	if p.Cooldown < 0 {
		bad("cooldown", p.Cooldown, "want 0 (off) or a positive duration")
	}
	if !(p.SettleTolerance >= 0 && p.SettleTolerance <= 1) {
		bad("settle_tolerance", p.SettleTolerance, "want 0..1 (absolute miss-rate difference)")
	}
	if (p.RequireEvictions || p.RequireFit) && !(p.FullFraction > 0 && p.FullFraction <= 1) {
		bad("full_fraction", p.FullFraction, "want more than 0 and at most 1 when require_evictions or require_fit is on")
	}
	if p.MinNodes < MinPoolSize || p.MinNodes > MaxPoolSize {
		bad("min_nodes", p.MinNodes, fmt.Sprintf("want %d..%d", MinPoolSize, MaxPoolSize))
	}
	if p.MaxNodes < MinPoolSize || p.MaxNodes > MaxPoolSize {
		bad("max_nodes", p.MaxNodes, fmt.Sprintf("want %d..%d", MinPoolSize, MaxPoolSize))
	} else if p.MinNodes > p.MaxNodes && p.MinNodes >= MinPoolSize && p.MinNodes <= MaxPoolSize {
		bad("min_nodes", p.MinNodes, fmt.Sprintf("want at most max_nodes (%d)", p.MaxNodes))
	}
	return errors.Join(errs...)
}
