package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/cloudlabs/cloudlabs/internal/measure/load"
	"github.com/cloudlabs/cloudlabs/internal/measure/sla"
	"github.com/cloudlabs/cloudlabs/internal/measure/sweep"
)

// labLevels are lab 2's concurrency levels.
const labLevels = "10,20,50,100,200,500,700,1000,1200,1500,2000,2500,3000"

func init() {
	var (
		target, path, method, body, contentType, levels, slaText, outDir string
		requests                                                         int
		timeout                                                          time.Duration
		stdClient, asJSON                                                bool
	)
	cmd := &cobra.Command{
		Use:   "sweep --target URL --path P --out DIR",
		Short: "Measure latency at rising concurrency and answer the SLA question",
		Long: `For each --concurrency level, sends --requests requests from that many
workers (closed loop: each waits for its reply, then sends again) and records
mean, p98 and max latency, requests/s and failures. Timeouts and errors are
counted, never abort the run.

Writes DIR/results.csv (concurrency,requests,mean_ms,p98_ms,max_ms,rps,failed),
DIR/results.md (the lab's table), DIR/chart.svg (mean and p98 against
concurrency) and DIR/summary.json. sla_max_concurrency is the largest tested
level with zero failed requests and every --sla metric strictly below its
bound (null when none).

Raises its open-files limit to the hard limit and says so when that is
below what the highest level needs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if target == "" || outDir == "" {
				return fmt.Errorf("--target and --out are required")
			}
			lv, err := measureParseLevels(levels)
			if err != nil {
				return err
			}
			if requests < 1 {
				return fmt.Errorf("--requests %d: want at least 1", requests)
			}
			bounds, err := sla.Parse(slaText)
			if err != nil {
				return err
			}
			// One connection per worker, plus a few for stdio and the runtime.
			if ok, msg := sweep.RaiseFDLimit(uint64(slices.Max(lv)) + 64); !ok {
				fmt.Fprintln(os.Stderr, "warning:", msg)
			} else {
				fmt.Fprintln(os.Stderr, msg)
			}
			cfg := sweep.Config{URL: strings.TrimRight(target, "/") + "/" + strings.TrimLeft(path, "/"), Method: strings.ToUpper(method),
				Body: []byte(body), ContentType: contentType, Levels: lv, Requests: requests, Timeout: timeout, SLA: bounds, StdClient: stdClient}
			// Ctrl-C stops the sweep between requests; the files still get
			// the levels measured so far.
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			s, runErr := sweep.Run(ctx, cfg, os.Stderr)
			if err := sweep.WriteDir(outDir, s); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				if err := measureEncodeJSON(out, s); err != nil {
					return err
				}
			} else {
				if err := sweep.WriteMarkdown(out, s); err != nil {
					return err
				}
				fmt.Fprintf(out, "\nwrote %s\n", strings.Join([]string{filepath.Join(outDir, "results.csv"), filepath.Join(outDir, "results.md"),
					filepath.Join(outDir, "chart.svg"), filepath.Join(outDir, "summary.json")}, ", "))
			}
			return runErr // set when interrupted: the files hold the levels done
		},
	}
	f := cmd.Flags()
	f.StringVar(&target, "target", "", "base URL, e.g. http://10.0.0.5")
	f.StringVar(&path, "path", "/", "request path, e.g. /fibonacci")
	f.StringVar(&method, "method", "GET", "HTTP method")
	f.StringVar(&body, "body", "", `request body, e.g. '{"fibonacci_number": 20}'`)
	f.StringVar(&contentType, "content-type", "application/json", "Content-Type sent with --body")
	f.StringVar(&levels, "concurrency", labLevels, "comma-separated concurrency levels")
	f.IntVar(&requests, "requests", 10000, "requests per level")
	f.DurationVar(&timeout, "timeout", load.DefaultTimeout, "per-request timeout (a request over it counts as failed, kind timeout)")
	f.StringVar(&slaText, "sla", "mean=200ms,p98=300ms,max=1.5s", "SLA bounds: metric=duration,... (metrics mean,p50,p90,p98,p99,max)")
	f.StringVar(&outDir, "out", "", "directory for results.csv, results.md, chart.svg, summary.json")
	f.BoolVar(&stdClient, "std-client", false, "send with Go's net/http client instead of the leaner built-in HTTP/1.1 client")
	f.BoolVar(&asJSON, "json", false, "print summary.json to stdout instead of the table")
	root.AddCommand(cmd)
}

// measureParseLevels reads "10,20,50" into ascending-as-given positive ints.
func measureParseLevels(s string) ([]int, error) {
	var out []int
	for part := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--concurrency %q: %q is not a positive integer", s, part)
		}
		out = append(out, n)
	}
	return out, nil
}
