package poolreport

import (
	"fmt"

	"github.com/cloudlabs/cloudlabs/internal/pool/ring"
)

// The graphs' definitions, printed under each chart's title and in the
// report, so a reader never has to guess what was measured.
const (
	LatencyDefinition    = "Each point: one batch of consecutive requests. x: requests finished so far; y: time per request (send to last reply byte), mean and p99 of the batch."
	ThroughputDefinition = "x: window length w. y: requests finished within w seconds: the most in any w-second window of the run (sliding), and in the first w seconds from the start."
	AutoDefinition       = "x: time since the scenario started. Top: gallery cache misses / lookups per sample; dots: the miss rate the autoscaler decided on. Bottom: pool nodes."
	MovementDefinition   = "Share of keys whose node changes when the pool goes from n to n+1 (top) or n to n-1 (bottom) nodes; lines computed from internal/pool/ring, dots measured."
)

// LatencyFigure is the latency graph of one or more runs of a scenario.
func LatencyFigure(title string, runs []ManualRun) Figure {
	return manualFigure(Figure{Title: title, Subtitle: LatencyDefinition, XLabel: "requests finished (count)"},
		"time per request (ms)", runs, "mean", "p99",
		func(m ManualRun) (a, b []Point) {
			for _, bt := range m.Batches {
				a = append(a, Point{X: float64(bt.EndCount), Y: bt.MeanMs})
				b = append(b, Point{X: float64(bt.EndCount), Y: bt.P99Ms})
			}
			return a, b
		},
		func(z Resize) float64 { return float64(z.AtRequest) })
}

// ThroughputFigure is the throughput graph of one or more runs.
func ThroughputFigure(title string, runs []ManualRun) Figure {
	return manualFigure(Figure{Title: title, Subtitle: ThroughputDefinition, XLabel: "time window w (s)"},
		"requests finished in the window (count)", runs, "most in any window", "first w seconds",
		func(m ManualRun) (a, b []Point) {
			for _, t := range m.Throughput {
				a = append(a, Point{X: t.WindowS, Y: float64(t.Most)})
				b = append(b, Point{X: t.WindowS, Y: float64(t.FromStart)})
			}
			return a, b
		},
		func(z Resize) float64 { return z.AtS })
}

// manualFigure draws two series per run (the second dashed) and marks the
// first run's resizes at markX.
func manualFigure(f Figure, yLabel string, runs []ManualRun, labelA, labelB string,
	points func(ManualRun) (a, b []Point), markX func(Resize) float64) Figure {
	p := Panel{YLabel: yLabel}
	for _, m := range runs {
		suffix := ""
		if len(runs) > 1 {
			suffix = fmt.Sprintf(", run %d", m.Run)
		}
		a, b := points(m)
		p.Series = append(p.Series, Series{Label: labelA + suffix, Points: a}, Series{Label: labelB + suffix, Points: b, Dashed: true})
	}
	f.Panels = []Panel{p}
	if len(runs) > 0 {
		for _, z := range runs[0].Resizes {
			f.Markers = append(f.Markers, Marker{X: markX(z), Label: z.Label()})
		}
	}
	return f
}

// AutoFigure is the miss rate and node count of an automatic run.
func AutoFigure(title string, a AutoRun) Figure {
	f := Figure{Title: title, Subtitle: AutoDefinition, XLabel: "time since start (s)"}
	rate := Series{Label: "miss rate (gallery)"}
	nodes := Series{Label: "nodes"}
	seen := Series{Label: "autoscaler's miss rate", Dots: true}
	checks := Series{Label: "autoscaler check", Dots: true}
	for _, p := range a.Points {
		if p.HasRate {
			rate.Points = append(rate.Points, Point{X: p.TS, Y: p.MissRate})
		}
		nodes.Points = append(nodes.Points, Point{X: p.TS, Y: float64(p.Nodes)})
	}
	for _, d := range a.Decisions {
		if d.HasMissRate {
			seen.Points = append(seen.Points, Point{X: d.TS, Y: d.MissRate})
		}
		checks.Points = append(checks.Points, Point{X: d.TS, Y: float64(d.To)})
		if d.Resized {
			verb := "grow"
			if d.To < d.From {
				verb = "shrink"
			}
			f.Markers = append(f.Markers, Marker{X: d.TS, Label: fmt.Sprintf("autoscaler: %s %d→%d", verb, d.From, d.To)})
		}
	}
	f.Panels = []Panel{
		{YLabel: "miss rate (misses / lookups)", YMax: 1, Series: []Series{rate, seen}, Guides: []Guide{
			{Label: fmt.Sprintf("max threshold %.2f (grow above)", a.Policy.MaxMissRate), Y: a.Policy.MaxMissRate},
			{Label: fmt.Sprintf("min threshold %.2f (shrink below)", a.Policy.MinMissRate), Y: a.Policy.MinMissRate},
		}},
		{YLabel: "pool size (nodes)", YMax: float64(max(a.Policy.MaxNodes, 1)), Series: []Series{nodes, checks}},
	}
	return f
}

// MovementFigure is the key-movement chart.
func MovementFigure(mv *MovementResult) Figure {
	f := Figure{Title: "Keys moved by a resize, per hashing scheme", Subtitle: MovementDefinition, XLabel: "n: pool size before the resize (nodes)", XStep: 1}
	up := Panel{YLabel: "share moved, n → n+1", YMax: 1}
	down := Panel{YLabel: "share moved, n → n−1", YMax: 1}
	for _, s := range ring.Schemes() {
		a, b := Series{Label: s + " (computed)"}, Series{Label: s + " (computed)"}
		for _, r := range mv.Computed {
			pt := Point{X: float64(r.From), Y: r.Computed[s]}
			if r.To > r.From {
				a.Points = append(a.Points, pt)
			} else {
				b.Points = append(b.Points, pt)
			}
		}
		up.Series, down.Series = append(up.Series, a), append(down.Series, b)
	}
	minA, minB := Series{Label: "minimum", Dashed: true}, Series{Label: "minimum", Dashed: true}
	for _, r := range mv.Computed {
		pt := Point{X: float64(r.From), Y: r.Minimum}
		if r.To > r.From {
			minA.Points = append(minA.Points, pt)
		} else {
			minB.Points = append(minB.Points, pt)
		}
	}
	up.Series, down.Series = append(up.Series, minA), append(down.Series, minB)
	if len(mv.Measured) > 0 {
		a := Series{Label: mv.Scheme + " (measured)", Dots: true}
		b := Series{Label: mv.Scheme + " (measured)", Dots: true}
		for _, m := range mv.Measured {
			pt := Point{X: float64(m.FromN), Y: m.Share}
			if m.ToN > m.FromN {
				a.Points = append(a.Points, pt)
			} else {
				b.Points = append(b.Points, pt)
			}
		}
		up.Series, down.Series = append(up.Series, a), append(down.Series, b)
	}
	f.Panels = []Panel{up, down}
	return f
}
