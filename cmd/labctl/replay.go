package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/cloudlabs/cloudlabs/internal/measure/load"
	progressbar "github.com/cloudlabs/cloudlabs/internal/measure/progress" // stack.go has a func progress
	"github.com/cloudlabs/cloudlabs/internal/measure/replay"
	"github.com/cloudlabs/cloudlabs/internal/measure/workload"
)

func init() {
	var (
		target      string
		concurrency int
		timeout     time.Duration
		jsonOut     string
	)
	cmd := &cobra.Command{
		Use:   "replay --target URL [--concurrency C] workload.csv",
		Short: "Send a workload CSV to a phone book and report throughput, latency and errors",
		Long: `Sends every row of a 'labctl workload' CSV, --concurrency at a time, each
worker waiting for a reply before its next request. Reports throughput,
latency percentiles (HDR histogram: from just before the request is sent to
the last byte of the reply) and failures by kind: timeout, refused, reset,
status NNN, body mismatch (a get whose number is not the one seeded or added).
--json FILE also writes the report for 'labctl compare'.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if target == "" {
				return fmt.Errorf("--target is required (e.g. http://127.0.0.1:8080)")
			}
			f, err := os.Open(args[0])
			if err != nil {
				return fmt.Errorf("open workload: %w", err)
			}
			rows, err := workload.ReadCSV(f)
			f.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if len(rows) == 0 {
				return fmt.Errorf("%s: no requests", args[0])
			}
			reqs, err := replay.Prepare(target, rows)
			if err != nil {
				return err
			}
			rep := replay.Report{Kind: "replay", Target: target, Workload: args[0], Concurrency: concurrency, Started: time.Now().UTC()}
			for _, r := range rows {
				if r.Method == "POST" {
					rep.Adds++
				} else {
					rep.Gets++
				}
			}
			m := progressbar.Start(os.Stderr, "replay", len(reqs))
			rep.Result, err = load.Run(cmd.Context(), load.Options{Concurrency: concurrency, Requests: len(reqs), Timeout: timeout, Done: &m.Done},
				func(i int) *load.Request { return reqs[i] })
			m.Stop()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if jsonOut == "-" {
				return measureEncodeJSON(out, rep)
			}
			fmt.Fprintf(out, "replayed %s (%d adds, %d gets) against %s, concurrency %d\n", args[0], rep.Adds, rep.Gets, target, concurrency)
			rep.Result.WriteText(out)
			if jsonOut != "" {
				if err := measureWriteJSONFile(jsonOut, rep); err != nil {
					return err
				}
				fmt.Fprintf(out, "wrote %s\n", jsonOut)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&target, "target", "", "phone book base URL, e.g. http://10.0.0.5:8080")
	f.IntVar(&concurrency, "concurrency", 10, "requests in flight at once")
	f.DurationVar(&timeout, "timeout", load.DefaultTimeout, "per-request timeout")
	f.StringVar(&jsonOut, "json", "", "also write the report as JSON to this file (- for stdout instead of the text report)")
	root.AddCommand(cmd)
}

// measureEncodeJSON writes v indented, as the measuring commands' --json do.
func measureEncodeJSON(w io.Writer, v any) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	if err := e.Encode(v); err != nil {
		return fmt.Errorf("encode json: %w", err)
	}
	return nil
}

// measureWriteJSONFile writes v to path.
func measureWriteJSONFile(path string, v any) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := measureEncodeJSON(f, v); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
