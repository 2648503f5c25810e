// Package compare tells whether two sets of measurements (replays or sweeps,
// one or more runs per side) differ by more than run-to-run noise.
//
// The rule: for each metric, side B differs from side A only when the
// ranges [min, max] of the two sides' runs do not overlap AND the change of
// the means is at least MinChange of A's mean. Otherwise it is "within
// noise". With one run per side the ranges are points, so only MinChange
// guards against noise: repeat runs (three or more per side) for a verdict
// worth trusting.
package compare

import (
	"fmt"
	"math"
	"slices"
)

// DefaultMinChange is the smallest relative change ever called a difference.
const DefaultMinChange = 0.05

// Direction says which way is better for a metric.
type Direction int

// Directions of metrics.
const (
	LowerIsBetter Direction = iota
	HigherIsBetter
)

// Metric is one named measurement taken in every run of both sides.
type Metric struct {
	Name   string
	Better Direction
}

// Spread summarises one side's runs of a metric.
type Spread struct {
	Mean   float64 `json:"mean"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Stddev float64 `json:"stddev"` // sample standard deviation; 0 for one run
	Runs   int     `json:"runs"`
}

// Line is the comparison of one metric.
type Line struct {
	Metric  string  `json:"metric"`
	A       Spread  `json:"a"`
	B       Spread  `json:"b"`
	Delta   float64 `json:"delta"`   // B.Mean - A.Mean
	Percent float64 `json:"percent"` // Delta / A.Mean * 100; NaN-free: 0 when A.Mean is 0
	Verdict string  `json:"verdict"` // "faster", "slower", "better", "worse" or "within noise"
}

// Spreads summarises values.
func Spreads(values []float64) Spread {
	s := Spread{Runs: len(values)}
	if len(values) == 0 {
		return s
	}
	s.Min, s.Max = slices.Min(values), slices.Max(values)
	for _, v := range values {
		s.Mean += v
	}
	s.Mean /= float64(len(values))
	if len(values) > 1 {
		var ss float64
		for _, v := range values {
			ss += (v - s.Mean) * (v - s.Mean)
		}
		s.Stddev = math.Sqrt(ss / float64(len(values)-1))
	}
	return s
}

// Compare applies the package rule to one metric's values on each side.
// Latency and throughput metrics say "faster"/"slower"; others (failures)
// say "better"/"worse".
func Compare(m Metric, a, b []float64, minChange float64, speed bool) Line {
	l := Line{Metric: m.Name, A: Spreads(a), B: Spreads(b)}
	l.Delta = l.B.Mean - l.A.Mean
	if l.A.Mean != 0 {
		l.Percent = l.Delta / math.Abs(l.A.Mean) * 100
	}
	overlap := l.A.Min <= l.B.Max && l.B.Min <= l.A.Max
	big := math.Abs(l.Delta) >= minChange*math.Abs(l.A.Mean) && l.Delta != 0
	if overlap || !big {
		l.Verdict = "within noise"
		return l
	}
	improved := (l.Delta < 0) == (m.Better == LowerIsBetter)
	switch {
	case speed && improved:
		l.Verdict = "faster"
	case speed:
		l.Verdict = "slower"
	case improved:
		l.Verdict = "better"
	default:
		l.Verdict = "worse"
	}
	return l
}

// Format renders a spread as "mean [min..max]" (just the value for one run).
func (s Spread) Format() string {
	if s.Runs <= 1 {
		return fmt.Sprintf("%.2f", s.Mean)
	}
	return fmt.Sprintf("%.2f [%.2f..%.2f] sd %.2f", s.Mean, s.Min, s.Max, s.Stddev)
}
