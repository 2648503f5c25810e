package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/cloudlabs/cloudlabs/internal/measure/contactgen"
	"github.com/cloudlabs/cloudlabs/internal/measure/load"
	progressbar "github.com/cloudlabs/cloudlabs/internal/measure/progress" // stack.go has a func progress
	"github.com/cloudlabs/cloudlabs/internal/measure/replay"
	"github.com/cloudlabs/cloudlabs/internal/measure/workload"
)

func init() {
	var (
		target      string
		contacts    int
		seed        uint64
		concurrency int
		maxErrors   int
		timeout     time.Duration
		asJSON      bool
	)
	cmd := &cobra.Command{
		Use:   "seed --target URL [--contacts 10000] [--seed S]",
		Short: "Load repeatable random contacts into a phone book through its HTTP API",
		Long: `Adds --contacts contacts generated from --seed (same seed, same names and
numbers, some of them non-ASCII) with POST /add/handle/, --concurrency at a
time, showing progress on stderr. Prints count, errors, elapsed time and rate;
exits non-zero when more than --max-errors requests failed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if target == "" {
				return fmt.Errorf("--target is required (e.g. http://127.0.0.1:8080)")
			}
			if contacts < 1 {
				return fmt.Errorf("--contacts %d: want at least 1", contacts)
			}
			rows := make([]workload.Row, 0, contacts)
			for _, c := range contactgen.Generate(seed, contacts) {
				rows = append(rows, workload.Add(c))
			}
			reqs, err := replay.Prepare(target, rows)
			if err != nil {
				return err
			}
			m := progressbar.Start(os.Stderr, "seed", len(reqs))
			res, err := load.Run(cmd.Context(), load.Options{Concurrency: concurrency, Requests: len(reqs), Timeout: timeout, Done: &m.Done},
				func(i int) *load.Request { return reqs[i] })
			m.Stop()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				if err := measureEncodeJSON(out, map[string]any{"kind": "seed", "target": target, "seed": seed, "contacts": contacts, "result": res}); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(out, "seeded %d contacts (seed %d) into %s: %d stored, %d errors, %.2fs, %.0f contacts/s\n",
					contacts, seed, target, res.Requests-res.Failed, res.Failed, res.ElapsedSeconds, res.RPS)
				res.WriteText(out)
			}
			if res.Failed > maxErrors {
				return fmt.Errorf("seed: %d requests failed, more than --max-errors %d", res.Failed, maxErrors)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&target, "target", "", "phone book base URL, e.g. http://10.0.0.5:8080")
	f.IntVar(&contacts, "contacts", 10000, "how many contacts to add")
	f.Uint64Var(&seed, "seed", 1, "random seed: the same seed adds the same contacts")
	f.IntVar(&concurrency, "concurrency", 32, "requests in flight at once")
	f.IntVar(&maxErrors, "max-errors", 0, "fail (exit 1) when more requests than this fail")
	f.DurationVar(&timeout, "timeout", load.DefaultTimeout, "per-request timeout")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	root.AddCommand(cmd)
}
