package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/spf13/cobra"

	"github.com/cloudlabs/cloudlabs/components/program"
	"github.com/cloudlabs/cloudlabs/internal/machine/netem"
)

func init() {
	var skipVerify bool
	up := stackCommand("up", "Create or update the stack's machines (the local twin by default), print its URLs and verify what runs", deploys,
		func(ctx context.Context, s auto.Stack, e *env, out io.Writer) error {
			_, err := s.Up(ctx, optup.ProgressStreams(os.Stderr))
			if err != nil {
				return err
			}
			if err := printOutputs(ctx, s, out, outputFormat{}); err != nil {
				return err
			}
			if err := applyTwinLink(ctx, e, s.Name()); err != nil {
				return err
			}
			// "Run your test harness in production every time you deploy."
			if skipVerify {
				return nil
			}
			return verifyStack(ctx, s, e, out)
		})
	up.Flags().BoolVar(&skipVerify, "skip-verify", false, "do not run labctl verify's checks after up")
	root.AddCommand(
		up,
		stackCommand("preview", "Show what up would change, without changing any machine (-c values are saved into the stack file first, as with pulumi preview -c)", runsEngine,
			func(ctx context.Context, s auto.Stack, e *env, out io.Writer) error {
				_, err := s.Preview(ctx, optpreview.ProgressStreams(out))
				return err
			}),
		stackCommand("destroy", "Stop and delete every machine of the stack; the stack stays, empty", runsEngine,
			func(ctx context.Context, s auto.Stack, e *env, out io.Writer) error {
				_, err := s.Destroy(ctx, optdestroy.ProgressStreams(os.Stderr))
				if err == nil && e.cfg.Platform == "local" {
					err = errors.Join(netem.ClearStack(ctx, s.Name()), removeTwinFolder(s.Name()))
				}
				if err == nil {
					fmt.Fprintln(out, "destroyed: nothing of the stack is left running")
					// The engine's own advice (`pulumi stack rm`) would reach
					// the CLI's default backend, not this one.
					logf("the stack's history and config stay; to forget them too: PULUMI_BACKEND_URL=%s pulumi stack rm %s --yes", e.vars["PULUMI_BACKEND_URL"], s.Name())
				}
				return err
			}),
		stackCommand("refresh", "Read the machines' real state (a dead service shows as missing; up restarts it)", runsEngine,
			func(ctx context.Context, s auto.Stack, e *env, out io.Writer) error {
				_, err := s.Refresh(ctx, optrefresh.ProgressStreams(os.Stderr))
				return err
			}),
	)
	var asJSON, showSecrets bool
	outputs := stackCommand("outputs", "Print the stack's outputs (URLs, addresses, endpoints); secrets show as [secret] unless --show-secrets", readsState,
		func(ctx context.Context, s auto.Stack, e *env, out io.Writer) error {
			return printOutputs(ctx, s, out, outputFormat{json: asJSON, secrets: showSecrets})
		})
	outputs.Flags().BoolVar(&asJSON, "json", false, "print the outputs as one JSON object")
	outputs.Flags().BoolVar(&showSecrets, "show-secrets", false, "print secret outputs (admin tokens) in plain text")
	root.AddCommand(outputs)
}

// removeTwinFolder removes what the twin's hosts leave after a destroy:
// the published app binaries and empty folders (the hosts' data folders'
// parent, say), then the stack's folder if it is empty. A folder that
// still holds something is kept and named.
func removeTwinFolder(stack string) error {
	dir := filepath.Join(program.LocalStateDir(), stack)
	if err := os.RemoveAll(filepath.Join(dir, "artifacts")); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			// os.Remove removes only an empty folder: data stays.
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				logf("kept %s: %v", filepath.Join(dir, e.Name()), err)
			}
		}
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		logf("kept %s: %v", dir, err)
	}
	return nil
}

// applyTwinLink gives the local twin the link the stack asks for
// (network:delayMs, network:lossPct); cloud machines set theirs at boot.
func applyTwinLink(ctx context.Context, e *env, stack string) error {
	if e.cfg.Platform != "local" {
		return nil
	}
	link := netem.Link{DelayMs: e.cfg.NetworkDelayMs, LossPct: e.cfg.NetworkLossPct}
	if err := netem.ApplyStack(ctx, stack, link); err != nil {
		return fmt.Errorf("the twin is up, but its link is not slowed: %w", err)
	}
	if !link.Off() {
		logf("the twin's addresses (%s) now see %s", netem.TwinRange, link)
	}
	return nil
}

// What a stack command does, for what it needs first.
type stackKind int

const (
	runsEngine stackKind = iota // preview, refresh, destroy: the provider plugin
	deploys                     // up: the plugin, and a config complete for a real deployment
	readsState                  // outputs: nothing built
)

// stackCommand makes a command that runs fn on the selected stack.
func stackCommand(use, short string, kind stackKind, fn func(context.Context, auto.Stack, *env, io.Writer) error) *cobra.Command {
	f := stackFlags{deploy: kind == deploys, noPlugin: kind == readsState}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			start := time.Now()
			e, err := prepare(ctx, &f)
			if err != nil {
				return err
			}
			s, err := openStack(ctx, e, f.stack)
			if err != nil {
				return err
			}
			if err := fn(ctx, s, e, cmd.OutOrStdout()); err != nil {
				return fmt.Errorf("%s %s: %w", use, f.stack, err)
			}
			logf("%s %s done in %s", use, f.stack, time.Since(start).Round(100*time.Millisecond))
			return nil
		},
	}
	f.register(cmd, true)
	return cmd
}

// outputFormat says how printOutputs prints.
type outputFormat struct {
	json    bool // one JSON object instead of a table
	secrets bool // secret values in plain text instead of [secret]
}

// printOutputs prints the outputs as a table for people or as JSON.
func printOutputs(ctx context.Context, s auto.Stack, w io.Writer, f outputFormat) error {
	outs, err := s.Outputs(ctx)
	if err != nil {
		return err
	}
	asJSON := f.json
	plain := map[string]any{}
	for k, v := range outs {
		if v.Secret && !f.secrets {
			plain[k] = "[secret]"
			continue
		}
		plain[k] = v.Value
	}
	if len(plain) == 0 && !asJSON {
		logf("stack %s has no outputs: nothing is up (labctl up creates it)", s.Name())
		return nil
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(plain)
	}
	keys := make([]string, 0, len(plain))
	for k := range plain {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "%-20s %s\n", k, formatValue(plain[k]))
	}
	return nil
}

func formatValue(v any) string {
	switch x := v.(type) {
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = fmt.Sprint(e)
		}
		return strings.Join(parts, " ")
	case map[string]any:
		b, _ := json.Marshal(x)
		return string(b)
	default:
		return fmt.Sprint(v)
	}
}
