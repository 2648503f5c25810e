package poolreport

import (
	"github.com/cloudlabs/cloudlabs/internal/measure/chart"

	"fmt"
	"math"

	"github.com/cloudlabs/cloudlabs/internal/measure/compare"
	"github.com/cloudlabs/cloudlabs/internal/pool/ring"
)

// ThroughputPoint is the throughput graph at one window length.
type ThroughputPoint struct {
	WindowS float64 `json:"window_s"`
	// Most is the most requests finished within any window of WindowS
	// seconds during the run (the window slides over the whole run).
	Most int64 `json:"most"`
	// FromStart is the requests finished in the first WindowS seconds:
	// the window grows from the run's start, so a resize at time t is
	// inside every window from t on.
	FromStart int64 `json:"from_start"`
}

// Throughput reads the throughput graph from a completion timeline
// (samples in time order) at each window length.
func Throughput(samples []Sample, windows []float64) []ThroughputPoint {
	out := make([]ThroughputPoint, 0, len(windows))
	if len(samples) == 0 {
		return out
	}
	t0 := samples[0].T
	for _, w := range windows {
		p := ThroughputPoint{WindowS: w}
		// Two pointers: j is the last sample at or before samples[i].T + w.
		j := 0
		for i := range samples {
			if j < i {
				j = i
			}
			for j+1 < len(samples) && samples[j+1].T <= samples[i].T+w+1e-9 {
				j++
			}
			p.Most = max(p.Most, samples[j].Done-samples[i].Done)
		}
		for _, s := range samples {
			if s.T-t0 <= w+1e-9 {
				p.FromStart = s.Done - samples[0].Done
			}
		}
		out = append(out, p)
	}
	return out
}

// Windows returns n window lengths growing evenly up to the run's
// duration, on a round step (0.5 s, 1 s, 2 s, 5 s ...).
func Windows(duration float64, n int) []float64 {
	if duration <= 0 || n < 1 {
		return nil
	}
	step := chart.NiceStep(duration / float64(n))
	var out []float64
	for w := step; w <= duration+1e-9; w += step {
		out = append(out, math.Round(w*1000)/1000)
	}
	if len(out) == 0 {
		out = append(out, duration)
	}
	return out
}

// MovementRow is one resize n -> m of the key-movement table.
type MovementRow struct {
	From int `json:"from_nodes"`
	To   int `json:"to_nodes"`
	// Computed share of the key space that changes node, per scheme
	// (ring.Moved: exact for lab, sampled for jump and rendezvous).
	Computed map[string]float64 `json:"computed"`
	// LabPartitions is how many of the 16 lab partitions change owner.
	LabPartitions int `json:"lab_partitions"`
	// Minimum is |m-n| / max(n, m): 1/(n+1) growing, 1/n shrinking.
	Minimum float64 `json:"minimum"`
}

// ComputedMovement is the table for every scheme: n -> n+1 for
// n = 1..maxNodes-1 and n -> n-1 for n = 2..maxNodes.
func ComputedMovement(maxNodes int) ([]MovementRow, error) {
	var rows []MovementRow
	add := func(n, m int) error {
		r := MovementRow{From: n, To: m, Computed: map[string]float64{}, LabPartitions: ring.MovedPartitions(n, m), Minimum: ring.MinimalShare(n, m)}
		for _, s := range ring.Schemes() {
			v, err := ring.Moved(s, n, m)
			if err != nil {
				return fmt.Errorf("moved share of %s %d->%d: %w", s, n, m, err)
			}
			r.Computed[s] = v
		}
		rows = append(rows, r)
		return nil
	}
	for n := 1; n < maxNodes; n++ {
		if err := add(n, n+1); err != nil {
			return nil, err
		}
	}
	for n := maxNodes; n >= 2; n-- {
		if err := add(n, n-1); err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// PredictedMoved counts the keys among keys whose node differs between a
// scheme's ring over before and over after: what a cache warmed on before
// misses once on after.
func PredictedMoved(scheme string, before, after, keys []string) (int, error) {
	rb, err := ring.New(scheme, before)
	if err != nil {
		return 0, err
	}
	ra, err := ring.New(scheme, after)
	if err != nil {
		return 0, err
	}
	moved := 0
	for _, k := range keys {
		if rb.Node(k) != ra.Node(k) {
			moved++
		}
	}
	return moved, nil
}

// PerNode counts keys per node of a scheme's ring over nodes.
func PerNode(scheme string, nodes, keys []string) (map[string]int, error) {
	r, err := ring.New(scheme, nodes)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, k := range keys {
		out[r.Node(k)]++
	}
	return out, nil
}

// Spread is the run-to-run spread of one figure over repeated runs.
type Spread struct {
	Runs   int     `json:"runs"`
	Mean   float64 `json:"mean"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Stddev float64 `json:"stddev"`
	// RangePct is (Max-Min)/Mean in percent: the noise the report quotes.
	RangePct float64 `json:"range_pct"`
}

func spread(values []float64) Spread {
	s := compare.Spreads(values)
	out := Spread{Runs: s.Runs, Mean: s.Mean, Min: s.Min, Max: s.Max, Stddev: s.Stddev}
	if s.Mean != 0 {
		out.RangePct = (s.Max - s.Min) / s.Mean * 100
	}
	return out
}
