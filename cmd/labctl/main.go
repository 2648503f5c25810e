// Command labctl is the cloudlabs operator CLI: the local twin, offline
// rendering of what machines boot, load tests, cost and verification.
//
// Each subcommand lives in its own file and adds itself to root in init.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

var root = &cobra.Command{
	Use:           "labctl",
	Short:         "Stand up, measure, scale and tear down the cloudlabs environments",
	SilenceUsage:  true,
	SilenceErrors: true,
}

func main() {
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "labctl:", err)
		os.Exit(1)
	}
}
