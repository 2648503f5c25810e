// Package provider is the local twin's Pulumi provider: cloudlabs:local:Host
// realizes a machine's role on this machine as files in a state folder and
// processes on the host's own address; cloudlabs:local:Disk keeps the
// machine's durable data apart, so replacing the host keeps it.
// cmd/pulumi-resource-cloudlabs serves it; tests serve it in memory.
package provider

import (
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
)

// Name is the provider's package name; the CLI finds the plugin as
// pulumi-resource-<Name>.
const Name = "cloudlabs"

// Version is the plugin version reported to the engine.
const Version = "0.1.0"

// New builds the provider.
func New() (p.Provider, error) {
	return infer.NewProviderBuilder().
		WithDisplayName("cloudlabs local twin").
		WithResources(infer.Resource(Host{}), infer.Resource(Disk{}), infer.Resource(Secret{}),
			infer.Resource(Network{}), infer.Resource(Rule{})).
		Build()
}
