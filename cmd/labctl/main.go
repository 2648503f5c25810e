// Command labctl is the cloudlabs operator CLI: the local twin, offline
// rendering of what machines boot, load tests, cost and verification.
//
// Each subcommand lives in its own file and adds itself to root in init.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cloudlabs/cloudlabs/internal/verify"
)

var root = &cobra.Command{
	Use:           "labctl",
	Short:         "Stand up, measure, scale and tear down the cloudlabs environments",
	SilenceUsage:  true,
	SilenceErrors: true,
}

func main() {
	cmd, err := root.ExecuteC()
	if err == nil {
		return
	}
	if cmd.Name() == "check" {
		// A plugin's every failure to check is UNKNOWN, usage errors too
		// (Nagios plugin guidelines): one line on stdout, exit 3.
		fmt.Printf("labctl-check UNKNOWN - %s\n", strings.Join(strings.Fields(err.Error()), " "))
		os.Exit(int(verify.Unknown))
	}
	fmt.Fprintln(os.Stderr, "labctl:", err)
	os.Exit(1)
}
