package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cloudlabs/cloudlabs/internal/measure/chart"
	"github.com/cloudlabs/cloudlabs/internal/measure/sla"
	"github.com/cloudlabs/cloudlabs/internal/measure/sweep"
)

func init() {
	var (
		out, metric, labels, title, answer, slaText string
	)
	cmd := &cobra.Command{
		Use:   "chart DIR... --out chart.svg [--metric mean|p98|max|rps] [--labels 1,2,3]",
		Short: "Plot one line per sweep directory (e.g. 1..5 nodes) in a single SVG chart",
		Long: `Reads DIR/results.csv of each sweep and draws --metric against concurrency,
one line per directory, labelled by --labels (default: the directory names).

--answer users=2000 with --sla mean=300ms,p98=400ms,max=1s also prints which
runs meet the SLA at exactly that concurrency (it must be a tested level), and
the first one in the order given that does: "how many nodes for 2000 users?"`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, dirs []string) error {
			names := dirs
			if labels != "" {
				names = strings.Split(labels, ",")
				if len(names) != len(dirs) {
					return fmt.Errorf("--labels has %d names for %d directories", len(names), len(dirs))
				}
			} else {
				names = make([]string, len(dirs))
				for i, d := range dirs {
					names[i] = filepath.Base(filepath.Clean(d))
				}
			}
			pick, unit, err := measureMetric(metric)
			if err != nil {
				return err
			}
			runs := make([][]sweep.Row, len(dirs))
			c := chart.Chart{Title: title, XLabel: "concurrent users", YLabel: metric + " " + unit}
			if c.Title == "" {
				c.Title = metric + " against concurrency"
			}
			for i, d := range dirs {
				if runs[i], err = sweep.ReadCSV(filepath.Join(d, "results.csv")); err != nil {
					return err
				}
				s := chart.Series{Label: names[i]}
				for _, r := range runs[i] {
					s.Points = append(s.Points, chart.Point{X: float64(r.Concurrency), Y: pick(r)})
				}
				c.Series = append(c.Series, s)
			}
			if out != "" {
				f, err := os.Create(out)
				if err != nil {
					return fmt.Errorf("create chart: %w", err)
				}
				if err := chart.Render(f, c); err != nil {
					f.Close()
					return err
				}
				if err := f.Close(); err != nil {
					return fmt.Errorf("write chart: %w", err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d lines)\n", out, len(c.Series))
			}
			if answer == "" {
				if out == "" {
					return fmt.Errorf("nothing to do: give --out and/or --answer")
				}
				return nil
			}
			return measureAnswer(cmd, answer, slaText, names, runs)
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "SVG file to write")
	f.StringVar(&metric, "metric", "mean", "what to plot: mean, p98, max (ms) or rps")
	f.StringVar(&labels, "labels", "", "comma-separated line labels, one per directory (e.g. 1,2,3,4,5)")
	f.StringVar(&title, "title", "", "chart title")
	f.StringVar(&answer, "answer", "", "users=N: say which runs meet --sla at concurrency N")
	f.StringVar(&slaText, "sla", "mean=200ms,p98=300ms,max=1.5s", "SLA for --answer (metrics mean, p98, max)")
	root.AddCommand(cmd)
}

func measureMetric(name string) (func(sweep.Row) float64, string, error) {
	switch name {
	case "mean":
		return func(r sweep.Row) float64 { return r.Mean }, "(ms)", nil
	case "p98":
		return func(r sweep.Row) float64 { return r.P98 }, "(ms)", nil
	case "max":
		return func(r sweep.Row) float64 { return r.Max }, "(ms)", nil
	case "rps":
		return func(r sweep.Row) float64 { return r.RPS }, "(requests/s)", nil
	}
	return nil, "", fmt.Errorf("--metric %q: want mean, p98, max or rps", name)
}

// measureAnswer prints, per run, whether it meets the SLA at N users.
func measureAnswer(cmd *cobra.Command, answer, slaText string, names []string, runs [][]sweep.Row) error {
	k, v, ok := strings.Cut(answer, "=")
	users, err := strconv.Atoi(v)
	if !ok || k != "users" || err != nil || users < 1 {
		return fmt.Errorf("--answer %q: want users=N", answer)
	}
	bounds, err := sla.Parse(slaText)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	first := ""
	for i, rows := range runs {
		verdict := fmt.Sprintf("not measured at %d", users)
		for _, r := range rows {
			if r.Concurrency != users {
				continue
			}
			vs := bounds.Violations(map[string]float64{"mean": r.Mean, "p98": r.P98, "max": r.Max}, r.Failed)
			verdict = "meets"
			if len(vs) > 0 {
				verdict = "misses: " + strings.Join(vs, ", ")
			} else if first == "" {
				first = names[i]
			}
		}
		fmt.Fprintf(out, "%s: %s\n", names[i], verdict)
	}
	if first == "" {
		fmt.Fprintf(out, "no run meets %s at %d users\n", bounds, users)
	} else {
		fmt.Fprintf(out, "first run meeting %s at %d users: %s\n", bounds, users, first)
	}
	return nil
}
