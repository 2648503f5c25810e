package sweep

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/cloudlabs/cloudlabs/internal/measure/chart"
)

// CSVHeader is results.csv's first line.
var CSVHeader = []string{"concurrency", "requests", "mean_ms", "p98_ms", "max_ms", "rps", "failed"}

// Row is one line of results.csv.
type Row struct {
	Concurrency, Requests int
	Mean, P98, Max, RPS   float64
	Failed                int
}

// Rows turns a summary's levels into results.csv rows.
func (s Summary) Rows() []Row {
	out := make([]Row, 0, len(s.Levels))
	for _, lv := range s.Levels {
		r := lv.Result
		out = append(out, Row{lv.Concurrency, r.Requests, r.Latency.Mean, r.Latency.P98, r.Latency.Max, r.RPS, r.Failed})
	}
	return out
}

// WriteDir writes results.csv, results.md, chart.svg and summary.json into dir.
func WriteDir(dir string, s Summary) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{"results.csv", func(w io.Writer) error { return WriteCSV(w, s.Rows()) }},
		{"results.md", func(w io.Writer) error { return WriteMarkdown(w, s) }},
		{"chart.svg", func(w io.Writer) error { return chart.Render(w, LatencyChart(s)) }},
		{"summary.json", func(w io.Writer) error {
			e := json.NewEncoder(w)
			e.SetIndent("", "  ")
			return e.Encode(s)
		}},
	}
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		out, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("create %s: %w", path, err)
		}
		err = f.write(out)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return nil
}

func ms(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }

// WriteCSV writes rows under CSVHeader.
func WriteCSV(w io.Writer, rows []Row) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(CSVHeader) // errors surface from cw.Error below
	for _, r := range rows {
		_ = cw.Write([]string{strconv.Itoa(r.Concurrency), strconv.Itoa(r.Requests), ms(r.Mean), ms(r.P98), ms(r.Max),
			strconv.FormatFloat(r.RPS, 'f', 1, 64), strconv.Itoa(r.Failed)})
	}
	cw.Flush()
	return cw.Error()
}

// ReadCSV reads a results.csv.
func ReadCSV(path string) ([]Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open results: %w", err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(recs) == 0 || !slices.Equal(recs[0], CSVHeader) {
		return nil, fmt.Errorf("%s: header is not %v", path, CSVHeader)
	}
	var rows []Row
	for i, rec := range recs[1:] {
		var r Row
		var errs [7]error
		r.Concurrency, errs[0] = strconv.Atoi(rec[0])
		r.Requests, errs[1] = strconv.Atoi(rec[1])
		r.Mean, errs[2] = strconv.ParseFloat(rec[2], 64)
		r.P98, errs[3] = strconv.ParseFloat(rec[3], 64)
		r.Max, errs[4] = strconv.ParseFloat(rec[4], 64)
		r.RPS, errs[5] = strconv.ParseFloat(rec[5], 64)
		r.Failed, errs[6] = strconv.Atoi(rec[6])
		for _, e := range errs {
			if e != nil {
				return nil, fmt.Errorf("%s line %d: %w", path, i+2, e)
			}
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// WriteMarkdown writes the lab's table (concurrency, mean, longest, p98)
// with throughput, failures and the SLA verdict per level.
func WriteMarkdown(w io.Writer, s Summary) error {
	fmt.Fprintf(w, "# Sweep of %s %s\n\n%d requests per level, timeout %s, started %s.\n\n", s.Method, s.Target, s.Requests, s.Timeout, s.Started.Format("2006-01-02 15:04:05 MST"))
	fmt.Fprintln(w, "| Concurrency | Mean request time (ms) | Longest request (ms) | 98th percentile (ms) | Requests/s | Failed | SLA |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---|")
	for _, lv := range s.Levels {
		r := lv.Result
		verdict := "-"
		if len(s.SLA) > 0 {
			verdict = "meets"
			if !lv.MeetsSLA {
				verdict = "misses: " + strings.Join(lv.Violations, ", ")
			}
		}
		fmt.Fprintf(w, "| %d | %.1f | %.1f | %.1f | %.0f | %d | %s |\n", lv.Concurrency, r.Latency.Mean, r.Latency.Max, r.Latency.P98, r.RPS, r.Failed, verdict)
	}
	if len(s.SLA) > 0 {
		answer := "no tested level meets it"
		if s.SLAMax != nil {
			answer = fmt.Sprintf("**%d** concurrent users", *s.SLAMax)
		}
		fmt.Fprintf(w, "\nSLA %s: %s (rule: %s).\n", s.SLAText, answer, SLARule)
	}
	return nil
}

// LatencyChart plots mean and p98 latency against concurrency, with the SLA's
// mean and p98 bounds as guides.
func LatencyChart(s Summary) chart.Chart {
	c := chart.Chart{Title: "Latency against concurrency: " + s.Method + " " + s.Target, XLabel: "concurrent users", YLabel: "latency (ms)"}
	mean, p98 := chart.Series{Label: "mean"}, chart.Series{Label: "p98"}
	for _, r := range s.Rows() {
		mean.Points = append(mean.Points, chart.Point{X: float64(r.Concurrency), Y: r.Mean})
		p98.Points = append(p98.Points, chart.Point{X: float64(r.Concurrency), Y: r.P98})
	}
	c.Series = []chart.Series{mean, p98}
	for _, k := range []string{"mean", "p98"} {
		if v, ok := s.SLA[k]; ok {
			c.Guides = append(c.Guides, chart.Guide{Label: fmt.Sprintf("SLA %s < %gms", k, v), Y: v})
		}
	}
	return c
}
