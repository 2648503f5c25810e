package autoscale

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)

// obs is a busy 2-node pool at the given miss rate: 1000 gets in the last
// minute, evictions, half full; no resize since start.
func obs(nodes int, missRate float64) Observation {
	return Observation{
		From: t0.Add(-time.Minute), To: t0, Reporting: nodes,
		Requests: 1200, Gets: 1000, Misses: 1000 * missRate, Hits: 1000 * (1 - missRate), Evictions: 5,
		Bytes: float64(nodes) * 500, CapacityPerNode: 1000, Nodes: nodes,
	}
}

func auto() Policy {
	p := DefaultPolicy()
	p.Mode = Auto
	p.MaxMissRate, p.MinMissRate = 0.5, 0.1
	p.ExpandRatio, p.ShrinkRatio = 2, 0.5
	return p
}

func TestDecide(t *testing.T) {
	with := func(o Observation, f func(*Observation)) Observation { f(&o); return o }
	pol := func(f func(*Policy)) Policy { p := auto(); f(&p); return p }
	plain := auto().Plain()

	cases := []struct {
		name   string
		policy Policy
		obs    Observation
		want   int
		rule   Rule
		reason string // substring the reason must contain
	}{
		// The lab's plain rule.
		{"plain: above max grows by ceil(n×expand)", plain, obs(2, 0.6), 4, RuleGrow, "grow 2 -> 4"},
		{"plain: expand 1.5 from 3 rounds up to 5", pol(func(p *Policy) { *p = p.Plain(); p.ExpandRatio = 1.5 }), obs(3, 0.6), 5, RuleGrow, "ceil(3 × 1.5)"},
		{"plain: 5 × 1.2 is 6", pol(func(p *Policy) { *p = p.Plain(); p.ExpandRatio = 1.2 }), obs(5, 0.6), 6, RuleGrow, "5 -> 6"},
		{"plain: grow clamps to 8", plain, obs(5, 0.6), 8, RuleGrow, "5 -> 8"},
		{"plain: grow clamps to max_nodes", pol(func(p *Policy) { *p = p.Plain(); p.MaxNodes = 3 }), obs(2, 0.6), 3, RuleGrow, "2 -> 3"},
		{"plain: at 8 above max holds", plain, obs(8, 0.9), 8, RuleAtBound, "most allowed"},
		{"plain: below min shrinks by floor(n×shrink)", plain, obs(5, 0.05), 2, RuleShrink, "shrink 5 -> 2"},
		{"plain: shrink clamps to 1", pol(func(p *Policy) { *p = p.Plain(); p.ShrinkRatio = 0.1 }), obs(4, 0.05), 1, RuleShrink, "4 -> 1"},
		{"plain: shrink clamps to min_nodes", pol(func(p *Policy) { *p = p.Plain(); p.MinNodes = 3 }), obs(4, 0.05), 3, RuleShrink, "4 -> 3"},
		{"plain: at 1 below min holds", plain, obs(1, 0.0), 1, RuleAtBound, "fewest allowed"},
		{"plain: in band holds", plain, obs(3, 0.3), 3, RuleInBand, "within"},
		{"plain: exactly max holds (grow is strictly above)", plain, obs(3, 0.5), 3, RuleInBand, "within"},
		{"plain: exactly min holds (shrink is strictly below)", plain, obs(3, 0.1), 3, RuleInBand, "within"},
		{"manual mode never resizes", pol(func(p *Policy) { p.Mode = Manual }), obs(2, 0.9), 2, RuleManual, "manual"},

		// Missing data: always on, even in the plain rule.
		{"no data: no node reported", plain, with(obs(2, 0.9), func(o *Observation) { o.Reporting = 0 }), 2, RuleNoData, "0 node(s) reported"},
		{"no data: no gets", plain, with(obs(2, 0.9), func(o *Observation) { o.Gets, o.Hits, o.Misses = 0, 0, 0 }), 2, RuleNoData, "0 gets"},

		// MinRequests.
		{"min_requests: 50 gets < 100 holds", auto(), with(obs(2, 0.9), func(o *Observation) { o.Gets, o.Misses, o.Hits = 50, 45, 5 }), 2, RuleLowTraffic, "50 gets"},
		{"min_requests: 100 gets is enough", auto(), with(obs(2, 0.9), func(o *Observation) { o.Gets, o.Misses, o.Hits = 100, 90, 10 }), 4, RuleGrow, ""},
		{"min_requests off: 3 gets decide", pol(func(p *Policy) { p.MinRequests = 0 }), with(obs(2, 0.9), func(o *Observation) { o.Gets, o.Misses, o.Hits = 3, 3, 0 }), 4, RuleGrow, ""},

		// Cooldown.
		{"cooldown: 1 window since resize holds", auto(), with(obs(2, 0.9), func(o *Observation) {
			o.LastResize, o.History = t0.Add(-2*time.Minute), []float64{0.9}
		}), 2, RuleCooldown, "1 window(s) since the resize"},
		{"cooldown: rate still moving holds", auto(), with(obs(2, 0.7), func(o *Observation) {
			o.LastResize, o.History = t0.Add(-3*time.Minute), []float64{0.9, 0.7}
		}), 2, RuleCooldown, "differ by 0.200"},
		{"cooldown: settled rate decides before the max", auto(), with(obs(2, 0.7), func(o *Observation) {
			o.LastResize, o.History = t0.Add(-3*time.Minute), []float64{0.72, 0.7}
		}), 4, RuleGrow, ""},
		{"cooldown: a difference of exactly the tolerance is settled", auto(), with(obs(2, 0.7), func(o *Observation) {
			o.LastResize, o.History = t0.Add(-3*time.Minute), []float64{0.75, 0.7}
		}), 4, RuleGrow, ""},
		{"cooldown: bounded, unsettled after the max decides", auto(), with(obs(2, 0.7), func(o *Observation) {
			o.LastResize, o.History = t0.Add(-5*time.Minute), []float64{0.9, 0.5, 0.9, 0.7}
		}), 4, RuleGrow, ""},
		{"cooldown off: decides right after a resize", pol(func(p *Policy) { p.Cooldown = 0 }), with(obs(2, 0.9), func(o *Observation) {
			o.LastResize, o.History = t0.Add(-time.Minute), nil
		}), 4, RuleGrow, ""},

		// RequireEvictions.
		{"require_evictions: no evictions, half full holds", auto(), with(obs(2, 0.9), func(o *Observation) { o.Evictions = 0 }), 2, RuleNotFixable, "no evictions"},
		{"require_evictions: no evictions but 90% full grows", auto(), with(obs(2, 0.9), func(o *Observation) { o.Evictions, o.Bytes = 0, 1800 }), 4, RuleGrow, ""},
		{"require_evictions: evictions grow", auto(), obs(2, 0.9), 4, RuleGrow, ""},
		{"require_evictions off: cold misses grow", pol(func(p *Policy) { p.RequireEvictions = false }), with(obs(2, 0.9), func(o *Observation) { o.Evictions = 0 }), 4, RuleGrow, ""},

		// RequireFit.
		{"require_fit: bytes need all nodes holds", auto(), with(obs(4, 0.01), func(o *Observation) { o.Bytes = 3000 }), 4, RuleNoFit, "need 4 node(s)"},
		{"require_fit: shrinks only as far as the bytes fit", auto(), with(obs(4, 0.01), func(o *Observation) { o.Bytes = 2500 }), 3, RuleShrink, "need 3"},
		{"require_fit: bytes fit in floor(n×shrink)", auto(), with(obs(4, 0.01), func(o *Observation) { o.Bytes = 1000 }), 2, RuleShrink, "shrink 4 -> 2 (floor"},
		{"require_fit: unknown capacity holds", auto(), with(obs(4, 0.01), func(o *Observation) { o.CapacityPerNode = 0 }), 4, RuleNoFit, "capacity is unknown"},
		{"require_fit off: shrinks although bytes overflow", pol(func(p *Policy) { p.RequireFit = false }), with(obs(4, 0.01), func(o *Observation) { o.Bytes = 3900 }), 2, RuleShrink, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.policy.Validate(); err != nil {
				t.Fatalf("test policy invalid: %v", err)
			}
			d := Decide(c.policy, c.obs)
			if d.Desired != c.want || d.Rule != c.rule {
				t.Errorf("Decide = %d by %q (%s), want %d by %q", d.Desired, d.Rule, d.Reason, c.want, c.rule)
			}
			if !strings.Contains(d.Reason, c.reason) {
				t.Errorf("reason %q does not contain %q", d.Reason, c.reason)
			}
			if d.Inputs.Nodes != c.obs.Nodes {
				t.Errorf("Inputs.Nodes = %d, want %d", d.Inputs.Nodes, c.obs.Nodes)
			}
		})
	}
}

func TestDecideMissRateIsPooled(t *testing.T) {
	// Node A: 900 hits, 100 misses; node B: 1 hit, 9 misses. Pooled 109/1010
	// is below 0.2; a mean of per-node rates (0.5) would be above max.
	o := obs(2, 0)
	o.Gets, o.Hits, o.Misses = 1010, 901, 109
	p := auto().Plain()
	p.MinMissRate, p.MaxMissRate = 0.05, 0.2
	d := Decide(p, o)
	if d.Rule != RuleInBand {
		t.Fatalf("Decide = %q (%s), want %q", d.Rule, d.Reason, RuleInBand)
	}
	if want := 109.0 / 1010; d.MissRate != want {
		t.Errorf("MissRate = %v, want %v", d.MissRate, want)
	}
}

func TestPolicyValidate(t *testing.T) {
	if err := DefaultPolicy().Validate(); err != nil {
		t.Fatalf("DefaultPolicy: %v", err)
	}
	cases := []struct {
		name string
		f    func(*Policy)
		want []string // substrings of the error: field, value, what is allowed
	}{
		{"mode", func(p *Policy) { p.Mode = "sometimes" }, []string{`mode = "sometimes"`, `"manual" or "auto"`}},
		{"min above max", func(p *Policy) { p.MinMissRate, p.MaxMissRate = 0.6, 0.5 }, []string{"min_miss_rate = 0.6", "less than max_miss_rate (0.5)"}},
		{"min equals max", func(p *Policy) { p.MinMissRate, p.MaxMissRate = 0.5, 0.5 }, []string{"min_miss_rate = 0.5", "less than max_miss_rate"}},
		{"min negative", func(p *Policy) { p.MinMissRate = -0.1 }, []string{"min_miss_rate = -0.1", "0 <= min_miss_rate < max_miss_rate <= 1"}},
		{"max above 1", func(p *Policy) { p.MaxMissRate = 1.5 }, []string{"max_miss_rate = 1.5", "<= 1"}},
		{"expand 1", func(p *Policy) { p.ExpandRatio = 1 }, []string{"expand_ratio = 1", "more than 1"}},
		{"shrink 0", func(p *Policy) { p.ShrinkRatio = 0 }, []string{"shrink_ratio = 0", "more than 0 and less than 1"}},
		{"shrink 1", func(p *Policy) { p.ShrinkRatio = 1 }, []string{"shrink_ratio = 1", "less than 1"}},
		{"min_requests negative", func(p *Policy) { p.MinRequests = -1 }, []string{"min_requests = -1", "0 (off) or more"}},
		{"cooldown negative", func(p *Policy) { p.Cooldown = -time.Second }, []string{"cooldown = -1s", "0 (off)"}},
		{"settle tolerance", func(p *Policy) { p.SettleTolerance = 2 }, []string{"settle_tolerance = 2", "0..1"}},
		{"full fraction", func(p *Policy) { p.FullFraction = 0 }, []string{"full_fraction = 0", "at most 1"}},
		{"max_nodes 9", func(p *Policy) { p.MaxNodes = 9 }, []string{"max_nodes = 9", "1..8"}},
		{"min_nodes 0", func(p *Policy) { p.MinNodes = 0 }, []string{"min_nodes = 0", "1..8"}},
		{"min_nodes above max_nodes", func(p *Policy) { p.MinNodes, p.MaxNodes = 5, 3 }, []string{"min_nodes = 5", "at most max_nodes (3)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := DefaultPolicy()
			c.f(&p)
			err := p.Validate()
			if err == nil {
				t.Fatal("Validate = nil, want an error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	t.Run("full fraction unused when both rules are off", func(t *testing.T) {
		p := DefaultPolicy().Plain()
		p.FullFraction = 0
		if err := p.Validate(); err != nil {
			t.Errorf("Validate = %v, want nil", err)
		}
	})
}
