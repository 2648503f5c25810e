package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cloudlabs/cloudlabs/components/program"
	"github.com/cloudlabs/cloudlabs/internal/cost"
)

func init() { root.AddCommand(newCostCmd()) }

// newCostCmd makes the command afresh, so tests get clean flags.
func newCostCmd() *cobra.Command {
	var f stackFlags
	var o cost.Options
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "cost",
		Short: "Estimate, offline, what a cloud stack costs a day and a month",
		Long: `cost runs the stack's program against offline mocks — no Pulumi CLI,
plugin, credentials or network — and prices what it would create from the
dated on-demand price table in ` + cost.TableFile + `: instances by type and
hour, root disks by GB-month, one public IPv4 address per machine by hour,
and --egress-gb-per-day of internet egress. A month is 730 hours.

-c key=value changes a value for this estimate only (the stack file is not
written), so "what if" is one command: labctl cost -s gcp-fibonacci -c fibonacci:nodes=10`,
		Example: "  labctl cost --stack aws-cachepool\n  labctl cost -s gcp-fibonacci --hours 8 --egress-gb-per-day 5 --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, _, values, _, err := stackValues(&f)
			if err != nil {
				return err
			}
			table, err := cost.Builtin()
			if err != nil {
				return err
			}
			rep, err := cost.Stack(f.stack, values, program.Declared, table, o)
			if err != nil {
				return fmt.Errorf("cost %s: %w", f.stack, err)
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			if err := rep.WriteText(cmd.OutOrStdout()); err != nil {
				return err
			}
			return nil
		},
	}
	f.register(cmd, false)
	cmd.Flags().Float64Var(&o.HoursPerDay, "hours", 24, "hours a day the stack exists (0 < hours <= 24); everything scales with it, since labs are destroyed between sessions")
	cmd.Flags().Float64Var(&o.EgressGBPerDay, "egress-gb-per-day", cost.DefaultEgressGBPerDay, "GB a day the machines send to the internet, priced at the first paid tier (free tiers ignored)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the estimate as JSON")
	return cmd
}
