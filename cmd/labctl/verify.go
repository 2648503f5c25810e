package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/spf13/cobra"

	"github.com/cloudlabs/cloudlabs/internal/verify"
)

func init() { root.AddCommand(newVerifyCmd()) }

// runFlags tune how checks run.
type runFlags struct {
	parallel int
	timeout  time.Duration
	retries  int
}

func (r *runFlags) register(cmd *cobra.Command) {
	cmd.Flags().IntVar(&r.parallel, "parallel", 8, "checks run at once")
	cmd.Flags().DurationVar(&r.timeout, "timeout", 15*time.Second, "bound of one attempt of one check")
	cmd.Flags().IntVar(&r.retries, "retries", settleRetries, "retries, with doubling backoff from 500ms, of the checks of what settles after a change (ports, health, the LB's list)")
}

func (r runFlags) runner() verify.Runner {
	return verify.Runner{Parallel: r.parallel, Timeout: r.timeout, Retries: r.retries, Backoff: 500 * time.Millisecond}
}

func newVerifyCmd() *cobra.Command {
	f := stackFlags{noPlugin: true}
	var rf runFlags
	var asJSON bool
	var junit string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check that every machine of the stack runs what its role declares, and that the environments work across machines",
		Long: `verify derives its checks from each machine's role, as the stack's state
records it: each service running (and, over SSH, enabled at boot), listening on
its port, its health endpoint answering 200; every download's and every
rendered file's SHA-256 equal to the pinned one (a hand edit shows as drift,
with both hashes); packages installed (over SSH). Then the environments' checks
across machines: every backend answers through the load balancer, a phone-book
contact is written and read back under a reserved name; and each public URL
answers with its content.

On the local twin the checks read the host folders and pid files and connect
to the hosts' addresses. On a cloud stack the machines' own checks need SSH
with pinned host keys; without them verify says so and runs what it can from
outside. It exits non-zero when any check fails, naming the machine, the
check, what was expected and what was found.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			tg, err := loadTarget(ctx, &f)
			if err != nil {
				return err
			}
			checks, notes, err := tg.checks()
			if err != nil {
				return err
			}
			for _, n := range notes {
				logf("%s", n)
			}
			run := rf.runner()
			run.Progress = func(done, total int, r verify.Result) {
				fmt.Fprintf(cmd.ErrOrStderr(), "labctl: verify %d/%d %-8s %s\n", done, total, statusWord(r), r.ID())
			}
			start := time.Now()
			rs := run.Run(ctx, checks)
			out := cmd.OutOrStdout()
			if asJSON {
				err = verify.WriteJSON(out, f.stack, notes, rs)
			} else {
				err = verify.WriteTable(out, rs)
			}
			if err != nil {
				return err
			}
			if junit != "" {
				if err := writeJUnit(junit, f.stack, rs); err != nil {
					return err
				}
			}
			logf("verify %s: %d checks in %s", f.stack, len(rs), time.Since(start).Round(100*time.Millisecond))
			if n := countFailed(rs); n > 0 {
				return fmt.Errorf("verify %s: %d of %d checks failed:\n%s", f.stack, n, len(rs), strings.TrimRight(verify.Failures(rs), "\n"))
			}
			return nil
		},
	}
	f.register(cmd, false)
	rf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the results as one JSON object")
	cmd.Flags().StringVar(&junit, "junit", "", "also write the results as JUnit XML to this file, for CI")
	return cmd
}

func statusWord(r verify.Result) string {
	if r.Skipped != "" {
		return "SKIP"
	}
	return r.Status.String()
}

func countFailed(rs []verify.Result) int {
	n := 0
	for _, r := range rs {
		if r.Failed() {
			n++
		}
	}
	return n
}

func writeJUnit(path, stack string, rs []verify.Result) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := verify.WriteJUnit(fh, stack, rs); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

// target is a stack as verify reads it: its platform, outputs and, on the
// twin, its hosts with the roles they were realized with.
type target struct {
	name     string
	platform string
	stack    auto.Stack
	outputs  verify.Outputs
	hosts    []verify.TwinHost
}

// loadTarget opens the stack (no plugin built: it reads state only) and
// reads its outputs and state.
func loadTarget(ctx context.Context, f *stackFlags) (*target, error) {
	f.noPlugin = true
	e, err := prepare(ctx, f)
	if err != nil {
		return nil, err
	}
	s, err := openStack(ctx, e, f.stack)
	if err != nil {
		return nil, err
	}
	tg := &target{name: f.stack, platform: e.cfg.Platform, stack: s}
	return tg, tg.refresh(ctx)
}

// refresh rereads the outputs and, on the twin, the hosts from the stack's
// state (`labctl up` may have changed them).
func (tg *target) refresh(ctx context.Context) error {
	outs, err := tg.stack.Outputs(ctx)
	if err != nil {
		return err
	}
	tg.outputs = verify.Outputs{}
	for k, v := range outs {
		if !v.Secret {
			tg.outputs[k] = v.Value
		}
	}
	if len(tg.outputs) == 0 {
		return fmt.Errorf("stack %s has no outputs: nothing is up to verify (labctl up creates it)", tg.name)
	}
	if p, ok := tg.outputs["platform"].(string); ok && p != "" {
		tg.platform = p
	}
	tg.hosts = nil
	if tg.platform != "local" {
		return nil
	}
	dep, err := tg.stack.Export(ctx)
	if err != nil {
		return fmt.Errorf("stack %s: export its state: %w", tg.name, err)
	}
	tg.hosts, err = verify.TwinHosts(dep.Deployment)
	if err != nil {
		return fmt.Errorf("stack %s: %w", tg.name, err)
	}
	if len(tg.hosts) == 0 {
		return fmt.Errorf("stack %s: its state holds no twin hosts", tg.name)
	}
	return nil
}

// checks are every check of the stack, and notes on what could not be
// checked and why.
func (tg *target) checks() ([]verify.Check, []string, error) {
	var cs []verify.Check
	var notes []string
	if tg.platform == "local" {
		for _, h := range tg.hosts {
			cs = append(cs, verify.ChecksFor(h.Machine())...)
		}
	} else {
		if cmds := tg.outputs.SSHCommands(); len(cmds) > 0 {
			names := make([]string, 0, len(cmds))
			for n := range cmds {
				names = append(names, n)
			}
			sort.Strings(names)
			notes = append(notes, fmt.Sprintf("stack %s opens SSH (%s) but exports no host keys to pin: verify never trusts a host key on first use, so it skips the machines' own checks and runs what it can from outside", tg.name, strings.Join(names, ", ")))
		} else {
			notes = append(notes, fmt.Sprintf("stack %s keeps SSH closed (the default): the machines' own checks (services, files, packages) need it; running what can be checked from outside", tg.name))
		}
	}
	cs = append(cs, tg.outputChecks()...)
	if len(cs) == 0 {
		return nil, notes, fmt.Errorf("stack %s: nothing to check", tg.name)
	}
	return cs, notes, nil
}

// outputChecks are made from this computer through the public URLs: the
// environments' cross-machine checks and the endpoints' HTTP checks.
func (tg *target) outputChecks() []verify.Check {
	cs := tg.outputs.CrossChecks()
	for _, e := range tg.outputs.Endpoints() {
		cs = append(cs, verify.HTTPCheck(e))
	}
	return cs
}

// settleRetries covers what settles after a change for up to ~15 s
// (0.5+1+2+4+8 s of backoff): above all nginx, which rests a backend that
// failed for fail_timeout (10 s, templates/nginx-upstreams.conf.tmpl)
// before it sends it traffic again.
const settleRetries = 5

// verifyStack runs every check of an open stack with the default runner
// and prints the table to w: what `labctl up` runs at its end. It fails
// naming each failed check.
func verifyStack(ctx context.Context, s auto.Stack, e *env, w io.Writer) error {
	tg := &target{name: s.Name(), platform: e.cfg.Platform, stack: s}
	if err := tg.refresh(ctx); err != nil {
		return err
	}
	checks, notes, err := tg.checks()
	if err != nil {
		return err
	}
	for _, n := range notes {
		logf("%s", n)
	}
	var rf runFlags
	rf.parallel, rf.timeout, rf.retries = 8, 15*time.Second, settleRetries
	rs := rf.runner().Run(ctx, checks)
	if err := verify.WriteTable(w, rs); err != nil {
		return err
	}
	if n := countFailed(rs); n > 0 {
		return fmt.Errorf("up is done, but verify found %d of %d checks failing (labctl verify reruns them):\n%s", n, len(rs), strings.TrimRight(verify.Failures(rs), "\n"))
	}
	return nil
}
