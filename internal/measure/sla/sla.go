// Package sla parses latency service-level bounds ("mean=200ms,p98=300ms,
// max=1.5s") and tells whether a measured level meets them.
package sla

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Metrics an SLA may bound, in the order they are printed.
var Metrics = []string{"mean", "p50", "p90", "p98", "p99", "max"}

// SLA maps a metric to its bound in milliseconds: a level meets it when the
// metric is strictly below the bound ("mean < 200 ms").
type SLA map[string]float64

// Parse reads "metric=duration,..." (durations as Go writes them: 200ms, 1.5s).
func Parse(s string) (SLA, error) {
	out := SLA{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("sla %q: want metric=duration, e.g. p98=300ms", part)
		}
		if !slices.Contains(Metrics, k) {
			return nil, fmt.Errorf("sla metric %q: want one of %s", k, strings.Join(Metrics, ", "))
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("sla %s=%q: want a positive duration such as 300ms or 1.5s", k, v)
		}
		out[k] = float64(d) / float64(time.Millisecond)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("sla %q: no bounds given", s)
	}
	return out, nil
}

// String writes the SLA back in Parse's syntax, in Metrics order.
func (s SLA) String() string {
	var parts []string
	for _, k := range Metrics {
		if v, ok := s[k]; ok {
			parts = append(parts, k+"="+time.Duration(v*float64(time.Millisecond)).String())
		}
	}
	return strings.Join(parts, ",")
}

// Violations lists each bound the measured values (metric -> ms) break, and
// "N failed" when any request failed: a level with failures never meets an
// SLA, since a timed-out request has no latency to compare. A bound on a
// metric absent from measured is a violation too (it cannot be checked).
func (s SLA) Violations(measured map[string]float64, failed int) []string {
	var out []string
	if failed > 0 {
		out = append(out, fmt.Sprintf("%d failed", failed))
	}
	for _, k := range Metrics {
		bound, ok := s[k]
		if !ok {
			continue
		}
		v, ok := measured[k]
		switch {
		case !ok:
			out = append(out, k+" not measured")
		case v >= bound:
			out = append(out, fmt.Sprintf("%s %.1fms >= %gms", k, v, bound))
		}
	}
	return out
}
