// Command pulumi-resource-cloudlabs is the Pulumi provider plugin of the
// local twin (internal/twin/provider). The Pulumi CLI finds it on PATH by
// its name.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/cloudlabs/cloudlabs/internal/twin/provider"
)

func main() {
	prov, err := provider.New()
	if err == nil {
		err = prov.Run(context.Background(), provider.Name, provider.Version)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
