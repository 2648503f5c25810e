package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cloudlabs/cloudlabs/internal/measure/imageset"
	"github.com/cloudlabs/cloudlabs/internal/measure/poolreport"
)

func init() {
	var (
		sf                                stackFlags
		galleryURL, managerURL, tokenFile string
		outDir, sizes, ratio, autoCap     string
		computedOnly                      bool
	)
	cfg := poolreport.Defaults()
	cmd := &cobra.Command{
		Use:   "pool-report [scenario ...] --out DIR",
		Short: "Measure the elastic pool like the lab's report: latency, throughput, autoscaler, key movement",
		Long: `Runs the lab report's experiments (seed 003, "Results") against a stack's
gallery and manager (the twin "local" by default) and writes DIR: every chart
as SVG, the raw data as CSV, report.json and report.md, which embeds the
charts and states the configuration, the machine and this command.

Scenarios (all of them, in this order, when none is named):
  constant     the pool held at --n nodes (run --repeats times: the noise)
  shrink       --n -> --m nodes, one node at a time, during the run
  grow         --m -> --n nodes, one node at a time, during the run
  auto-grow    automatic mode, miss rate above --max-miss-rate: the pool grows
  auto-shrink  automatic mode, miss rate below --min-miss-rate: it shrinks
  movement     share of keys each ring scheme moves for n -> n+1 and n -> n-1,
               computed from internal/pool/ring and measured on the pool

The images are made locally from --seed (random valid PNG and JPEG, sizes
from --image-sizes); the workload draws keys with Zipf popularity and reads
and writes at --read-write. The gallery, manager and token come from the
stack's outputs (galleryUrl, managerUrl, managerToken) unless --gallery,
--manager and --token-file name them.

The pool is put back as found (size, mode, autoscaler policy, node capacity
and eviction policy), also after Ctrl-C; what could not be restored is
printed and written into the report. The automatic scenarios wait for the
autoscaler: at its default 1-minute interval they take several minutes each;
the twin's autoscaler interval can be shortened with its --interval flag.

"movement --computed-only" needs no stack: it writes the computed table.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if outDir == "" {
				return errors.New("--out is required: the folder to write the report into")
			}
			var err error
			if cfg.Sizes, err = imageset.ParseSizes(sizes); err != nil {
				return fmt.Errorf("--image-sizes: %w", err)
			}
			if cfg.Reads, cfg.Writes, err = poolreport.ParseRatio(ratio); err != nil {
				return fmt.Errorf("--read-write: %w", err)
			}
			if autoCap != "" {
				n, err := imageset.ParseBytes(autoCap)
				if err != nil {
					return fmt.Errorf("--auto-capacity: %w", err)
				}
				cfg.AutoCapacity = int64(n)
			}
			command := commandLine(cmd, args)
			if computedOnly {
				if len(args) != 1 || args[0] != poolreport.Movement {
					return errors.New("--computed-only goes with the movement scenario only: labctl pool-report movement --computed-only --out DIR")
				}
				mv, err := poolreport.ComputedOnly(8)
				if err != nil {
					return err
				}
				rep := &poolreport.Report{Command: command, Config: cfg, Scenarios: args, Machine: poolreport.ThisMachine(),
					Started: time.Now(), Finished: time.Now(), Movement: mv}
				return finishPoolReport(cmd, outDir, rep)
			}
			tg, err := poolTarget(cmd.Context(), &sf, galleryURL, managerURL, tokenFile)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			r := &poolreport.Runner{Config: cfg, Log: os.Stderr,
				Manager: &poolreport.Manager{URL: tg.ManagerURL, Token: tg.token},
				Gallery: &poolreport.Gallery{URL: tg.GalleryURL}}
			rep, runErr := r.Run(ctx, args)
			if rep == nil {
				return runErr
			}
			rep.Command, rep.Machine, rep.Target.Stack = command, poolreport.ThisMachine(), tg.Stack
			if err := finishPoolReport(cmd, outDir, rep); err != nil {
				return err
			}
			switch {
			case runErr != nil:
				return runErr
			case len(rep.Left) > 0:
				return fmt.Errorf("the pool was not put back as found: %s", strings.Join(rep.Left, "; "))
			case rep.Interrupted:
				return errors.New("interrupted: the report holds what was measured")
			case len(rep.Errors) > 0:
				return fmt.Errorf("%d scenario(s) failed: %s", len(rep.Errors), strings.Join(rep.Errors, "; "))
			}
			return nil
		},
	}
	sf.register(cmd, false)
	fl := cmd.Flags()
	fl.StringVar(&galleryURL, "gallery", "", "the gallery's base URL (default: the stack's galleryUrl output)")
	fl.StringVar(&managerURL, "manager", "", "the manager's base URL (default: the stack's managerUrl output)")
	fl.StringVar(&tokenFile, "token-file", "", "file holding the manager's token (default: the stack's managerToken secret)")
	fl.StringVar(&outDir, "out", "", "folder to write the report into (created)")
	fl.BoolVar(&computedOnly, "computed-only", false, "movement only: write the table computed from the ring code, without a pool")
	fl.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the image set and the workload: the same seed gives the same files and requests")
	fl.IntVar(&cfg.Images, "images", cfg.Images, "images in the set")
	fl.StringVar(&sizes, "image-sizes", imageset.DefaultSizes, "file size distribution: size:weight classes")
	fl.Float64Var(&cfg.JPEGShare, "jpeg-share", cfg.JPEGShare, "share of the images made as JPEG (the rest PNG)")
	fl.Float64Var(&cfg.ZipfS, "zipf", cfg.ZipfS, "Zipf exponent of key popularity (> 1)")
	fl.StringVar(&ratio, "read-write", "9:1", "reads:writes of the manual scenarios' workload")
	fl.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "workers (closed loop)")
	fl.IntVar(&cfg.Requests, "requests", cfg.Requests, "requests per manual scenario run")
	fl.IntVar(&cfg.Batch, "batch", cfg.Batch, "requests per latency point")
	fl.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "per request")
	fl.IntVar(&cfg.N, "n", cfg.N, "pool size of the constant scenario, start of shrink, end of grow")
	fl.IntVar(&cfg.M, "m", cfg.M, "end of shrink, start of grow (> 1)")
	fl.IntVar(&cfg.Repeats, "repeats", cfg.Repeats, "runs of the constant scenario (their spread is the report's noise)")
	fl.Float64Var(&cfg.MaxMissRate, "max-miss-rate", cfg.MaxMissRate, "autoscaler: grow above this miss rate")
	fl.Float64Var(&cfg.MinMissRate, "min-miss-rate", cfg.MinMissRate, "autoscaler: shrink below this miss rate")
	fl.Float64Var(&cfg.ExpandRatio, "expand-ratio", cfg.ExpandRatio, "autoscaler: grow to ceil(n × ratio)")
	fl.Float64Var(&cfg.ShrinkRatio, "shrink-ratio", cfg.ShrinkRatio, "autoscaler: shrink to floor(n × ratio)")
	fl.BoolVar(&cfg.PlainRule, "plain-rule", false, "autoscaler: the lab's plain rule (turn the manager's extra rules off for the run)")
	fl.StringVar(&autoCap, "auto-capacity", "", "node capacity during auto-grow, such as 2MB (default: a fifth of the image set's bytes)")
	fl.IntVar(&cfg.AutoStart, "auto-start", 0, "pool size auto-shrink starts from (default: --n)")
	fl.IntVar(&cfg.HotKeys, "hot-keys", cfg.HotKeys, "images auto-shrink reads (a set that fits one node)")
	fl.DurationVar(&cfg.AutoTimeout, "auto-timeout", cfg.AutoTimeout, "longest an automatic scenario waits for the pool to resize and settle")
	fl.IntVar(&cfg.SettleChecks, "settle-checks", cfg.SettleChecks, "autoscaler checks after the last resize before an automatic scenario ends")
	fl.DurationVar(&cfg.Sample, "sample", cfg.Sample, "how often automatic scenarios sample the miss rate and node count")
	fl.IntVar(&cfg.MovementKeys, "movement-keys", cfg.MovementKeys, "images whose movement is measured")
	fl.IntVar(&cfg.MovementMax, "movement-max-nodes", 0, "largest pool of the movement measurement (default: the pool's maxNodes)")
	fl.DurationVar(&cfg.EpochWait, "epoch-wait", cfg.EpochWait, "longest to wait for the gallery to route with a new membership")
	root.AddCommand(cmd)
}

// poolReportTarget is where pool-report sends its requests.
type poolReportTarget struct {
	poolreport.Target
	token string
}

// poolTarget takes the gallery, manager and token from the flags, and what
// they leave out from the stack's outputs (read as `labctl outputs` does).
func poolTarget(ctx context.Context, sf *stackFlags, galleryURL, managerURL, tokenFile string) (poolReportTarget, error) {
	tg := poolReportTarget{Target: poolreport.Target{GalleryURL: galleryURL, ManagerURL: managerURL}}
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return tg, fmt.Errorf("--token-file: %w", err)
		}
		tg.token = strings.TrimSpace(string(b))
		if tg.token == "" {
			return tg, fmt.Errorf("--token-file %s is empty", tokenFile)
		}
	}
	if tg.GalleryURL != "" && tg.ManagerURL != "" && tg.token != "" {
		return tg, nil
	}
	sf.noPlugin = true
	e, err := prepare(ctx, sf)
	if err != nil {
		return tg, err
	}
	s, err := openStack(ctx, e, sf.stack)
	if err != nil {
		return tg, err
	}
	outs, err := s.Outputs(ctx)
	if err != nil {
		return tg, err
	}
	tg.Stack = sf.stack
	return fillFromOutputs(tg, outs)
}

// fillFromOutputs fills what the flags left empty from the stack's outputs
// galleryUrl, managerUrl and managerToken (a secret: its plain value), and
// names every value still missing with its flag.
func fillFromOutputs(tg poolReportTarget, outs auto.OutputMap) (poolReportTarget, error) {
	get := func(key string) string {
		if v, ok := outs[key]; ok {
			if s, ok := v.Value.(string); ok {
				return s
			}
		}
		return ""
	}
	if tg.GalleryURL == "" {
		tg.GalleryURL = get("galleryUrl")
	}
	if tg.ManagerURL == "" {
		tg.ManagerURL = get("managerUrl")
	}
	if tg.token == "" {
		tg.token = get("managerToken")
	}
	var missing []string
	for _, m := range []struct{ name, value, flag string }{
		{"galleryUrl", tg.GalleryURL, "--gallery"}, {"managerUrl", tg.ManagerURL, "--manager"}, {"managerToken", tg.token, "--token-file"},
	} {
		if m.value == "" {
			missing = append(missing, fmt.Sprintf("%s (or %s)", m.name, m.flag))
		}
	}
	if len(missing) > 0 {
		return tg, fmt.Errorf("stack %s has no %s: is the elastic pool up (labctl up)? Or name them with the flags", tg.Stack, strings.Join(missing, ", "))
	}
	return tg, nil
}

func finishPoolReport(cmd *cobra.Command, outDir string, rep *poolreport.Report) error {
	if err := poolreport.WriteDir(outDir, rep); err != nil {
		return err
	}
	abs, _ := filepath.Abs(outDir)
	fmt.Fprintf(cmd.OutOrStdout(), "report: %s\n", filepath.Join(abs, poolreport.ReportMD))
	return nil
}

// commandLine is the command as run, for the report: the scenarios and
// every flag set (a token is only ever named by its file).
func commandLine(cmd *cobra.Command, args []string) string {
	parts := append([]string{"labctl", cmd.Name()}, args...)
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				parts = append(parts, "--"+f.Name+"="+v)
			}
			return
		}
		parts = append(parts, "--"+f.Name+"="+f.Value.String())
	})
	return strings.Join(parts, " ")
}
