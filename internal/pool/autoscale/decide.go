package autoscale

import (
	"fmt"
	"math"
	"time"
)

// Observation is everything Decide looks at, as plain values: the pool's
// counters summed over one window (the last minute), its current size and
// what happened since the last resize.
type Observation struct {
	// From and To bound the window the counters cover.
	From, To time.Time
	// Reporting is how many nodes sent samples in the window (0: no data).
	Reporting int
	// Counts over the window, summed over the nodes. Gets = Hits + Misses.
	Requests, Gets, Hits, Misses, Evictions float64
	// Bytes stored in the whole pool at the end of the window, and the
	// configured capacity of one node (every node has the same configuration).
	Bytes, CapacityPerNode float64

	// Nodes is the pool's current size.
	Nodes int
	// LastResize is when the pool was last resized (zero: not since start).
	LastResize time.Time
	// History holds the miss rates of the windows that started at or after
	// LastResize, oldest first: the cooldown's evidence that the rate settled.
	History []float64
}

// MissRate is misses / gets over the window, pooled over all nodes (not a
// mean of per-node rates, which would weigh an idle node's 100% like a busy
// node's); ok is false when the window saw no gets.
func (o Observation) MissRate() (rate float64, ok bool) {
	if !(o.Gets > 0) {
		return 0, false
	}
	return o.Misses / o.Gets, true
}

// Rule names which rule produced a decision; the values are stable for logs.
type Rule string

const (
	RuleManual      Rule = "manual"            // manual mode: the autoscaler never resizes
	RuleNoData      Rule = "no-data"           // no samples or no gets in the window
	RuleLowTraffic  Rule = "min-requests"      // fewer gets than MinRequests
	RuleCooldown    Rule = "cooldown"          // resized recently and the miss rate has not settled
	RuleInBand      Rule = "in-band"           // miss rate between the thresholds
	RuleGrow        Rule = "grow"              // above MaxMissRate: grow by ExpandRatio
	RuleShrink      Rule = "shrink"            // below MinMissRate: shrink by ShrinkRatio
	RuleAtBound     Rule = "at-bound"          // the ratio would go past MinNodes/MaxNodes
	RuleNotFixable  Rule = "require-evictions" // misses without evictions or a full pool: more nodes won't help
	RuleNoFit       Rule = "require-fit"       // stored bytes would not fit in fewer nodes
	RuleBadPolicy   Rule = "bad-policy"        // the policy did not validate
	RuleUnavailable Rule = "unavailable"       // the loop could not read the policy, the pool or the metrics
)

// Decision is what Decide chose and why.
type Decision struct {
	// Desired is the size the pool should have; equal to Inputs.Nodes means hold.
	Desired int
	// Rule is the rule that decided; Reason says it for humans, with numbers.
	Rule   Rule
	Reason string
	// MissRate is the window's pooled miss rate (0 when there was none).
	MissRate float64
	// Inputs is the observation decided on.
	Inputs Observation
}

// Resize reports whether the decision changes the pool's size.
func (d Decision) Resize() bool { return d.Desired != d.Inputs.Nodes }

// Decide applies policy to one observation. It is a pure function: the same
// policy and observation always give the same decision. The policy must be
// valid (Policy.Validate); the current size is clamped to the policy's bounds
// only by a grow or shrink, never by a hold.
func Decide(p Policy, o Observation) Decision {
	n := o.Nodes
	hold := func(rule Rule, format string, args ...any) Decision {
		rate, _ := o.MissRate()
		return Decision{Desired: n, Rule: rule, Reason: fmt.Sprintf(format, args...), MissRate: rate, Inputs: o}
	}
	if p.Mode != Auto {
		return hold(RuleManual, "manual mode: the autoscaler holds %d node(s)", n)
	}
	rate, ok := o.MissRate()
	if o.Reporting == 0 || !ok {
		return hold(RuleNoData, "no data: %d node(s) reported, %.0f gets in the window; holding %d", o.Reporting, o.Gets, n)
	}
	if o.Gets < p.MinRequests {
		return hold(RuleLowTraffic, "too little traffic: %.0f gets in the window, min_requests is %.0f; holding %d", o.Gets, p.MinRequests, n)
	}
	if p.Cooldown > 0 && !o.LastResize.IsZero() {
		since := o.To.Sub(o.LastResize)
		if since < p.Cooldown {
			if settled, why := settled(o.History, p.SettleTolerance); !settled {
				return hold(RuleCooldown, "cooldown: resized %s ago (max %s) and the miss rate has not settled (%s); holding %d",
					since.Round(time.Second), p.Cooldown, why, n)
			}
		}
	}
	switch {
	case rate > p.MaxMissRate:
		want := clamp(int(math.Ceil(float64(n)*p.ExpandRatio)), p)
		if want <= n {
			return hold(RuleAtBound, "miss rate %.3f above max %.3f but %d node(s) is already the most allowed (%d)", rate, p.MaxMissRate, n, p.MaxNodes)
		}
		if p.RequireEvictions && !(o.Evictions > 0) && !full(o.Bytes, n, o.CapacityPerNode, p.FullFraction) {
			return hold(RuleNotFixable, "miss rate %.3f above max %.3f but no evictions and %.0f of %.0f bytes stored (full at %.0f%%): more nodes would not keep more keys; holding %d",
				rate, p.MaxMissRate, o.Bytes, float64(n)*o.CapacityPerNode, p.FullFraction*100, n)
		}
		return Decision{Desired: want, Rule: RuleGrow, MissRate: rate, Inputs: o,
			Reason: fmt.Sprintf("miss rate %.3f above max %.3f: grow %d -> %d (ceil(%d × %g))", rate, p.MaxMissRate, n, want, n, p.ExpandRatio)}
	case rate < p.MinMissRate:
		want := clamp(int(math.Floor(float64(n)*p.ShrinkRatio)), p)
		if want >= n {
			return hold(RuleAtBound, "miss rate %.3f below min %.3f but %d node(s) is already the fewest allowed (%d)", rate, p.MinMissRate, n, p.MinNodes)
		}
		ratio := want
		if p.RequireFit {
			if !(o.CapacityPerNode > 0) {
				return hold(RuleNoFit, "miss rate %.3f below min %.3f but node capacity is unknown, so the fit of %.0f bytes in fewer nodes cannot be checked; holding %d",
					rate, p.MinMissRate, o.Bytes, n)
			}
			need := int(math.Ceil(o.Bytes / (o.CapacityPerNode * p.FullFraction)))
			if need > want {
				want = need
			}
			if want >= n {
				return hold(RuleNoFit, "miss rate %.3f below min %.3f but %.0f bytes stored need %d node(s) of %.0f bytes at %.0f%% full; holding %d",
					rate, p.MinMissRate, o.Bytes, need, o.CapacityPerNode, p.FullFraction*100, n)
			}
		}
		reason := fmt.Sprintf("miss rate %.3f below min %.3f: shrink %d -> %d (floor(%d × %g))", rate, p.MinMissRate, n, want, n, p.ShrinkRatio)
		if want != ratio {
			reason = fmt.Sprintf("miss rate %.3f below min %.3f: shrink %d -> %d (floor(%d × %g) = %d, but %.0f bytes stored need %d)",
				rate, p.MinMissRate, n, want, n, p.ShrinkRatio, ratio, o.Bytes, want)
		}
		return Decision{Desired: want, Rule: RuleShrink, MissRate: rate, Inputs: o, Reason: reason}
	}
	return hold(RuleInBand, "miss rate %.3f within %.3f..%.3f; holding %d", rate, p.MinMissRate, p.MaxMissRate, n)
}

// epsilon absorbs float error in a difference of rates (0.75 - 0.70 is
// 0.050000000000000044, which must count as within a tolerance of 0.05).
const epsilon = 1e-9

func clamp(n int, p Policy) int {
	return max(p.MinNodes, min(p.MaxNodes, n))
}

// full reports whether bytes fill n nodes of capacity c to fraction f or more.
func full(bytes float64, n int, c, f float64) bool {
	return c > 0 && bytes >= f*float64(n)*c
}

// settled reports whether the last two post-resize windows agree within tol.
func settled(history []float64, tol float64) (bool, string) {
	if len(history) < 2 {
		return false, fmt.Sprintf("%d window(s) since the resize, 2 needed", len(history))
	}
	a, b := history[len(history)-2], history[len(history)-1]
	if d := math.Abs(b - a); d > tol+epsilon {
		return false, fmt.Sprintf("last two windows %.3f then %.3f differ by %.3f > %.3f", a, b, d, tol)
	}
	return true, ""
}
