// Command pulumi-resource-cloudlabs is the Pulumi provider of the local
// twin: its one resource, cloudlabs:local:Host, realizes a machine's role as
// files in a state folder and processes on the host's own loopback address.
// The Pulumi CLI finds it on PATH by its name.
package main

import (
	"context"
	"fmt"
	"os"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
)

// version is the plugin version reported to the engine.
const version = "0.1.0"

func main() {
	prov, err := provider()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := prov.Run(context.Background(), "cloudlabs", version); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// provider builds the provider; tests serve the same value in memory.
func provider() (p.Provider, error) {
	return infer.NewProviderBuilder().
		WithDisplayName("cloudlabs local twin").
		WithResources(infer.Resource(Host{})).
		Build()
}
