package poolreport

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cloudlabs/cloudlabs/internal/pool/ring"
	"github.com/cloudlabs/cloudlabs/internal/system"
)

// Files a report folder holds besides the per-scenario ones.
const (
	ReportJSON = "report.json"
	ReportMD   = "report.md"
	MovementSV = "movement.svg"
)

// WriteDir writes the report's folder: every chart as SVG, the raw data as
// CSV, report.json and report.md (which embeds the charts).
func WriteDir(dir string, rep *Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	w := &writer{dir: dir}
	if len(rep.images) > 0 {
		rows := [][]string{{"key", "content_type", "bytes", "target_bytes", "sha256"}}
		for _, im := range rep.images {
			rows = append(rows, []string{im.Key, im.ContentType, strconv.Itoa(len(im.Data)), strconv.Itoa(im.Target), im.SHA256()})
		}
		w.csv("images.csv", rows)
	}
	for _, name := range []string{Constant, Shrink, Grow} {
		runs := manualRuns(rep, name)
		if len(runs) == 0 {
			continue
		}
		title := manualTitle(name, runs[0])
		w.svg("manual-"+name+"-latency.svg", LatencyFigure("Latency, "+title, runs))
		w.svg("manual-"+name+"-throughput.svg", ThroughputFigure("Throughput, "+title, runs))
		lat := [][]string{{"run", "batch", "requests_finished", "start_s", "end_s", "requests", "responses", "failed", "mean_ms", "p50_ms", "p99_ms", "max_ms"}}
		tp := [][]string{{"run", "window_s", "most_in_any_window", "in_first_window"}}
		rz := [][]string{{"run", "from_nodes", "to_nodes", "at_request", "at_s", "manager_done_s", "gallery_switched_s", "gallery_switched_request", "error"}}
		for _, m := range runs {
			for _, b := range m.Batches {
				lat = append(lat, []string{itoa(m.Run), itoa(b.Index), i64(b.EndCount), ff(b.StartS), ff(b.EndS), itoa(b.Requests), itoa(b.Responses), itoa(b.Failed), ff(b.MeanMs), ff(b.P50Ms), ff(b.P99Ms), ff(b.MaxMs)})
			}
			for _, t := range m.Throughput {
				tp = append(tp, []string{itoa(m.Run), ff(t.WindowS), i64(t.Most), i64(t.FromStart)})
			}
			for _, z := range m.Resizes {
				rz = append(rz, []string{itoa(m.Run), itoa(z.FromN), itoa(z.ToN), i64(z.AtRequest), ff(z.AtS), ff(z.DoneS), ff(z.SwitchedS), i64(z.SwitchedRequest), z.Error})
			}
		}
		w.csv("manual-"+name+"-latency.csv", lat)
		w.csv("manual-"+name+"-throughput.csv", tp)
		w.csv("manual-"+name+"-resizes.csv", rz)
	}
	for _, a := range rep.Auto {
		w.svg(a.Scenario+".svg", AutoFigure(autoTitle(a), a))
		pts := [][]string{{"t_s", "miss_rate", "lookups", "nodes"}}
		for _, p := range a.Points {
			rate := ""
			if p.HasRate {
				rate = ff(p.MissRate)
			}
			pts = append(pts, []string{ff(p.TS), rate, ff(p.Lookups), itoa(p.Nodes)})
		}
		w.csv(a.Scenario+".csv", pts)
		ds := [][]string{{"t_s", "from_nodes", "to_nodes", "rule", "outcome", "miss_rate", "reason"}}
		for _, d := range a.Decisions {
			rate := ""
			if d.HasMissRate {
				rate = ff(d.MissRate)
			}
			ds = append(ds, []string{ff(d.TS), itoa(d.From), itoa(d.To), d.Rule, d.Outcome, rate, d.Reason})
		}
		w.csv(a.Scenario+"-decisions.csv", ds)
	}
	if rep.Movement != nil {
		w.svg(MovementSV, MovementFigure(rep.Movement))
		rows := [][]string{{"from_nodes", "to_nodes", "lab_partitions_moved"}}
		for _, s := range ring.Schemes() {
			rows[0] = append(rows[0], s+"_computed")
		}
		rows[0] = append(rows[0], "minimum")
		for _, r := range rep.Movement.Computed {
			row := []string{itoa(r.From), itoa(r.To), itoa(r.LabPartitions)}
			for _, s := range ring.Schemes() {
				row = append(row, ff(r.Computed[s]))
			}
			rows = append(rows, append(row, ff(r.Minimum)))
		}
		w.csv("movement-computed.csv", rows)
		if len(rep.Movement.Measured) > 0 {
			ms := [][]string{{"scheme", "from_nodes", "to_nodes", "keys", "misses", "errors", "measured_share", "predicted_for_these_keys", "computed", "minimum", "routing_matches"}}
			for _, m := range rep.Movement.Measured {
				ms = append(ms, []string{rep.Movement.Scheme, itoa(m.FromN), itoa(m.ToN), itoa(rep.Movement.Keys), ff(m.Misses), ff(m.Errors), ff(m.Share), ff(m.Predicted), ff(m.Computed), ff(m.Minimum), strconv.FormatBool(m.RoutingMatches)})
			}
			w.csv("movement-measured.csv", ms)
		}
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	w.file(ReportJSON, append(b, '\n'))
	w.file(ReportMD, []byte(Markdown(rep)))
	return w.err
}

type writer struct {
	dir string
	err error
}

func (w *writer) file(name string, b []byte) {
	if w.err != nil {
		return
	}
	if err := system.WriteFile(filepath.Join(w.dir, name), b, 0o644); err != nil {
		w.err = fmt.Errorf("write %s: %w", name, err)
	}
}

func (w *writer) csv(name string, rows [][]string) {
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	_ = cw.WriteAll(rows) // a bytes.Buffer never fails
	w.file(name, b.Bytes())
}

func (w *writer) svg(name string, f Figure) {
	var b bytes.Buffer
	if err := f.Render(&b); err != nil && w.err == nil {
		w.err = err
		return
	}
	w.file(name, b.Bytes())
}

func manualRuns(rep *Report, name string) []ManualRun {
	var out []ManualRun
	for _, m := range rep.Manual {
		if m.Scenario == name {
			out = append(out, m)
		}
	}
	return out
}

func manualTitle(name string, m ManualRun) string {
	switch name {
	case Shrink:
		return fmt.Sprintf("pool shrinking %d → %d nodes", m.From, m.To)
	case Grow:
		return fmt.Sprintf("pool growing %d → %d nodes", m.From, m.To)
	}
	return fmt.Sprintf("pool constant at %d nodes", m.From)
}

func autoTitle(a AutoRun) string {
	if a.Scenario == AutoGrow {
		return fmt.Sprintf("Autoscaler: miss rate above max %.2f, the pool grows (×%.2f)", a.Policy.MaxMissRate, a.Policy.ExpandRatio)
	}
	return fmt.Sprintf("Autoscaler: miss rate below min %.2f, the pool shrinks (×%.2f)", a.Policy.MinMissRate, a.Policy.ShrinkRatio)
}

func itoa(n int) string   { return strconv.Itoa(n) }
func i64(n int64) string  { return strconv.FormatInt(n, 10) }
func ff(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }

func pct(v float64) string { return strconv.FormatFloat(100*v, 'f', 1, 64) + "%" }

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
