package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cloudlabs/cloudlabs/internal/verify"
)

func init() { root.AddCommand(newCheckCmd()) }

// exit ends a plugin run with its code (a seam for tests).
var exit = os.Exit

func newCheckCmd() *cobra.Command {
	f := stackFlags{noPlugin: true}
	var rf runFlags
	var list bool
	cmd := &cobra.Command{
		Use:   "check NAME",
		Short: "Run one check as a Nagios/Icinga plugin: one line with status and performance data, exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN",
		Long: `check runs one of verify's checks, named machine/check as verify lists
them (such as fibonacci-node-1/health:fibonacci or fibonacci/lb-backends), and
prints one line per the Nagios plugin guidelines:

  fibonacci-node-1/health:fibonacci OK - fibonacci-node-1: status 200 | 'health:fibonacci'=0.003s;;;0 attempts=1;;;0

It exits 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also when the stack cannot
be read or there is no such check). --list prints every check's name.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !list && len(args) != 1 {
				return fmt.Errorf("check takes the name of one check (labctl check --list names them)")
			}
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			line, code := runCheck(cmd.Context(), &f, rf, name, list, cmd.OutOrStdout())
			if list && code == 0 {
				return nil
			}
			fmt.Fprintln(cmd.OutOrStdout(), line)
			exit(code)
			return nil
		},
	}
	f.register(cmd, false)
	rf.register(cmd)
	cmd.Flags().BoolVar(&list, "list", false, "list the names of the stack's checks")
	return cmd
}

// runCheck returns the plugin line and its exit code; with list, it
// prints the checks' names instead (exit 0).
func runCheck(ctx context.Context, f *stackFlags, rf runFlags, name string, list bool, out io.Writer) (string, int) {
	unknown := func(err error) (string, int) {
		label := name
		if label == "" {
			label = "labctl-check"
		}
		return fmt.Sprintf("%s UNKNOWN - %s", label, strings.Join(strings.Fields(err.Error()), " ")), int(verify.Unknown)
	}
	tg, err := loadTarget(ctx, f)
	if err != nil {
		return unknown(err)
	}
	checks, notes, err := tg.checks(ctx)
	if err != nil {
		return unknown(err)
	}
	if list {
		for _, c := range checks {
			fmt.Fprintln(out, c.ID())
		}
		return "", 0
	}
	for _, c := range checks {
		if c.ID() == name {
			return verify.PluginLine(rf.runner().RunOne(ctx, c))
		}
	}
	msg := fmt.Sprintf("stack %s has no check %s (labctl check --list names them)", f.stack, name)
	if len(notes) > 0 {
		msg += "; " + notes[0]
	}
	return unknown(fmt.Errorf("%s", msg))
}
