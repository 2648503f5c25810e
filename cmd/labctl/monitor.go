package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/cloudlabs/cloudlabs/internal/system"
	"github.com/cloudlabs/cloudlabs/internal/verify"
)

func init() { root.AddCommand(newMonitorCmd()) }

// newTicker is the monitor's interval (a seam for tests).
var newTicker = func(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// monitorOpts are monitor's flags.
type monitorOpts struct {
	every, verifyEvery time.Duration
	webhook, charts    string
}

func newMonitorCmd() *cobra.Command {
	f := stackFlags{noPlugin: true}
	var rf runFlags
	var o monitorOpts
	cmd := &cobra.Command{
		Use:   "monitor",
		Short: "Watch the stack: its public URLs every interval, verify's checks on a slower one; alert on each change of state",
		Long: `monitor checks each public URL of the stack every --every (status 200, the
string its page must hold, latency: a Pingdom-style check from outside) and
runs verify's checks every --verify-every. Each change of a check's state
(OK -> CRITICAL, and back) is printed once and, with --webhook, POSTed there
as JSON; nothing is repeated while a state holds. After each round it writes
one SVG per check (latency and status over time) into --charts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			tg, err := loadTarget(ctx, &f)
			if err != nil {
				return err
			}
			if o.charts == "" {
				root, err := system.ModuleRoot(".")
				if err != nil {
					return err
				}
				o.charts = filepath.Join(root, ".labctl", "monitor", f.stack)
			}
			m, stop, err := newMonitor(tg, o, rf.runner(), cmd.OutOrStdout())
			if err != nil {
				return err
			}
			defer stop()
			logf("monitor %s: URLs every %s, verify every %s, charts in %s", f.stack, o.every, o.verifyEvery, o.charts)
			return m.Run(ctx)
		},
	}
	f.register(cmd, false)
	rf.register(cmd)
	cmd.Flags().DurationVar(&o.every, "every", time.Minute, "interval of the public URLs' checks")
	cmd.Flags().DurationVar(&o.verifyEvery, "verify-every", 5*time.Minute, "interval of verify's checks (rounded to a multiple of --every)")
	cmd.Flags().StringVar(&o.webhook, "webhook", "", "URL to POST each state change to, as JSON")
	cmd.Flags().StringVar(&o.charts, "charts", "", "folder of the SVG charts (default .labctl/monitor/<stack>)")
	return cmd
}

// newMonitor wires a monitor to a stack: the outside checks every tick,
// verify's checks (reread from the stack's state, which up may have
// changed) every verifyEvery, charts rewritten after each round.
func newMonitor(tg *target, o monitorOpts, run verify.Runner, out io.Writer) (*verify.Monitor, func(), error) {
	if o.every <= 0 || o.verifyEvery <= 0 {
		return nil, nil, fmt.Errorf("--every and --verify-every must be positive")
	}
	ticks, stop := newTicker(o.every)
	m := &verify.Monitor{
		HTTP:        tg.outputChecks(),
		VerifyEvery: max(int((o.verifyEvery+o.every-1)/o.every), 1),
		Runner:      run,
		Ticks:       ticks,
		Webhook:     o.webhook,
		Out:         out,
	}
	if tg.platform == "local" {
		m.Verify = func(ctx context.Context) ([]verify.Check, error) {
			if err := tg.refresh(ctx); err != nil {
				return nil, err
			}
			var cs []verify.Check
			for _, h := range tg.hosts {
				cs = append(cs, verify.ChecksFor(h.Machine())...)
			}
			return cs, nil
		}
	} else if len(tg.outputs.SSHCommands()) > 0 {
		// A cloud stack with SSH open: the machines' own checks over SSH
		// (what verify runs), without the outside checks m.HTTP already
		// has; each round dials afresh and the last round's connections
		// are closed first.
		outside := map[string]bool{}
		for _, c := range m.HTTP {
			outside[c.ID()] = true
		}
		m.Verify = func(ctx context.Context) ([]verify.Check, error) {
			tg.close()
			if err := tg.refresh(ctx); err != nil {
				return nil, err
			}
			all, _, err := tg.checks(ctx)
			if err != nil {
				return nil, err
			}
			var cs []verify.Check
			for _, c := range all {
				if !outside[c.ID()] {
					cs = append(cs, c)
				}
			}
			return cs, nil
		}
		stopTicks := stop
		stop = func() { stopTicks(); tg.close() }
	}
	m.OnRound = func(n int, at time.Time, rs []verify.Result) {
		if _, err := m.WriteCharts(o.charts); err != nil {
			fmt.Fprintf(out, "charts: %v\n", err)
		}
		logf("monitor round %d at %s: %d checks, %d not OK", n, at.Format(time.TimeOnly), len(rs), countFailed(rs))
	}
	return m, stop, nil
}
