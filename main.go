// The cloudlabs Pulumi program, for `pulumi up` with the official CLI
// (runtime: go). labctl runs the same program.Run through the Automation API.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/program"
)

func main() {
	pulumi.Run(program.Run)
}
