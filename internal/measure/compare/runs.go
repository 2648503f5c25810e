package compare

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"

	"github.com/cloudlabs/cloudlabs/internal/measure/load"
	"github.com/cloudlabs/cloudlabs/internal/measure/replay"
	"github.com/cloudlabs/cloudlabs/internal/measure/sweep"
)

// Run is one measured run's metrics by name, in a stable order.
type Run struct {
	Path    string
	Names   []string
	Values  map[string]float64
	Metrics map[string]Metric
	Speed   map[string]bool // metric is a speed (faster/slower) rather than a count
}

func (r *Run) add(name string, v float64, better Direction, speed bool) {
	r.Names = append(r.Names, name)
	r.Values[name] = v
	r.Metrics[name] = Metric{Name: name, Better: better}
	r.Speed[name] = speed
}

func (r *Run) addResult(prefix string, res load.Result) {
	l := res.Latency
	for _, m := range []struct {
		name string
		v    float64
	}{{"mean_ms", l.Mean}, {"p50_ms", l.P50}, {"p90_ms", l.P90}, {"p98_ms", l.P98}, {"p99_ms", l.P99}, {"max_ms", l.Max}} {
		r.add(prefix+m.name, m.v, LowerIsBetter, true)
	}
	r.add(prefix+"rps", res.RPS, HigherIsBetter, true)
	r.add(prefix+"failed", float64(res.Failed), LowerIsBetter, false)
}

// Load reads a replay report (labctl replay --json) or a sweep's
// summary.json. Sweep metrics are per level: "c=100 mean_ms".
func Load(path string) (Run, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Run{}, fmt.Errorf("read run: %w", err)
	}
	r := Run{Path: path, Values: map[string]float64{}, Metrics: map[string]Metric{}, Speed: map[string]bool{}}
	var probe struct {
		Kind   string            `json:"kind"`
		Levels []json.RawMessage `json:"levels"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return r, fmt.Errorf("%s: not JSON: %w", path, err)
	}
	switch {
	case probe.Kind == "replay":
		var rep replay.Report
		if err := json.Unmarshal(b, &rep); err != nil {
			return r, fmt.Errorf("%s: %w", path, err)
		}
		r.addResult("", rep.Result)
	case probe.Levels != nil:
		var s sweep.Summary
		if err := json.Unmarshal(b, &s); err != nil {
			return r, fmt.Errorf("%s: %w", path, err)
		}
		for _, lv := range s.Levels {
			r.addResult("c="+strconv.Itoa(lv.Concurrency)+" ", lv.Result)
		}
	default:
		return r, fmt.Errorf("%s: neither a replay report (kind \"replay\") nor a sweep summary.json (levels)", path)
	}
	return r, nil
}

// Sides compares the runs of side A with those of side B, metric by metric,
// over the metrics every run has.
func Sides(a, b []Run, minChange float64) ([]Line, error) {
	if len(a) == 0 || len(b) == 0 {
		return nil, fmt.Errorf("need at least one run per side, got %d and %d", len(a), len(b))
	}
	all := append(slices.Clone(a), b...)
	var lines []Line
	for _, name := range a[0].Names {
		common := true
		for _, r := range all {
			if _, ok := r.Values[name]; !ok {
				common = false
			}
		}
		if !common {
			continue
		}
		lines = append(lines, Compare(a[0].Metrics[name], values(a, name), values(b, name), minChange, a[0].Speed[name]))
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("the runs share no metric (sweeps of different levels, or a replay against a sweep?)")
	}
	return lines, nil
}

func values(runs []Run, name string) []float64 {
	out := make([]float64, len(runs))
	for i, r := range runs {
		out[i] = r.Values[name]
	}
	return out
}
