package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cloudlabs/cloudlabs/internal/measure/compare"
)

func init() {
	var (
		aList, bList string
		minChange    float64
		asJSON       bool
	)
	cmd := &cobra.Command{
		Use:   "compare A.json B.json | --a a1.json,a2.json --b b1.json,b2.json",
		Short: "Compare replays or sweeps, calling a difference only when it exceeds run-to-run noise",
		Long: `Compares side A with side B metric by metric (latency percentiles, rps,
failed; per level for sweeps' summary.json), showing each side's mean and,
with several runs per side, [min..max] and standard deviation.

Rule: B is "faster"/"slower" (or "better"/"worse" for failures) only when
the ranges [min, max] of the two sides do not overlap AND the means differ
by at least --min-change percent of A; otherwise "within noise". With one
run per side only --min-change guards against noise: repeat runs (3+).
Globs are expanded: --a 'before-*.json'.`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 2 {
				aList, bList = args[0], args[1]
			} else if len(args) != 0 || aList == "" || bList == "" {
				return fmt.Errorf("give A.json B.json, or --a and --b")
			}
			a, err := measureLoadRuns(aList)
			if err != nil {
				return err
			}
			b, err := measureLoadRuns(bList)
			if err != nil {
				return err
			}
			lines, err := compare.Sides(a, b, minChange/100)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return measureEncodeJSON(out, map[string]any{"a_runs": len(a), "b_runs": len(b), "min_change_percent": minChange, "metrics": lines})
			}
			fmt.Fprintf(out, "A: %d run(s), B: %d run(s); a difference needs non-overlapping ranges and >= %g%% change\n\n", len(a), len(b), minChange)
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "metric\tA\tB\tdelta\tdelta %\tverdict")
			for _, l := range lines {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%+.2f\t%+.1f%%\t%s\n", l.Metric, l.A.Format(), l.B.Format(), l.Delta, l.Percent, l.Verdict)
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&aList, "a", "", "side A: comma-separated JSON files or globs (replay --json or sweep summary.json)")
	f.StringVar(&bList, "b", "", "side B: same as --a")
	f.Float64Var(&minChange, "min-change", compare.DefaultMinChange*100, "smallest change in percent ever called a difference")
	f.BoolVar(&asJSON, "json", false, "print the comparison as JSON")
	root.AddCommand(cmd)
}

func measureLoadRuns(list string) ([]compare.Run, error) {
	var runs []compare.Run
	for _, pat := range strings.Split(list, ",") {
		paths, err := filepath.Glob(strings.TrimSpace(pat))
		if err != nil {
			return nil, fmt.Errorf("pattern %q: %w", pat, err)
		}
		if len(paths) == 0 {
			return nil, fmt.Errorf("%q matches no file", pat)
		}
		for _, p := range paths {
			r, err := compare.Load(p)
			if err != nil {
				return nil, err
			}
			runs = append(runs, r)
		}
	}
	return runs, nil
}
