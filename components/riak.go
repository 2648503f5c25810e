package components

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
)

// RiakClusterArgs configures a Riak KV cluster.
type RiakClusterArgs struct {
	Nodes   int // 1..7
	Package RiakPackage
	// Cookie is the Erlang distribution cookie the nodes share; nil makes a
	// random one, kept as a Pulumi secret.
	Cookie pulumi.StringInput
	// ClientGroup may reach the nodes' client ports (8087, 8098).
	ClientGroup string
}

// RiakCluster is N Riak nodes that join the first by themselves. Nodes hold
// data: they are stateful machines, never replaced by a later `up`.
type RiakCluster struct {
	pulumi.ResourceState

	// Addresses are the nodes' private addresses, node-1 first.
	Addresses pulumi.StringArrayOutput `pulumi:"addresses"`
	Group     string
	Nodes     []*platform.Machine
}

// NewRiakCluster creates the nodes and the rules between them and their clients.
func NewRiakCluster(ctx *pulumi.Context, name string, p platform.Platform, args *RiakClusterArgs, opts ...pulumi.ResourceOption) (*RiakCluster, error) {
	switch {
	case args == nil || args.Nodes < 1 || args.Nodes > 7:
		return nil, fmt.Errorf("riak cluster %s: nodes must be from 1 to 7", name)
	case args.Package.URL == "" || len(args.Package.SHA256) != 64:
		return nil, fmt.Errorf("riak cluster %s: the Riak package needs a URL and its SHA-256", name)
	}
	// A .deb of another architecture would fail at boot, after the machines
	// exist; the file name says which it is (an unnamed one is not checked).
	if a := args.Package.Arch(); a != "" && a != p.Arch() {
		return nil, fmt.Errorf("riak cluster %s: riak:packageUrl %s is an %s package but the Riak machines (size medium, riak:instanceType) are %s; "+
			"allowed: riak:packageUrl and riak:packageSha256 of the %s build, or an %s riak:instanceType",
			name, args.Package.URL, a, p.Arch(), p.Arch(), a)
	}
	c := &RiakCluster{Group: name}
	if err := ctx.RegisterComponentResource("cloudlabs:riak:Cluster", name, c, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(c)
	cookie := args.Cookie
	if cookie == nil {
		pw, err := p.RandomSecret(ctx, name+"-cookie", 32, child)
		if err != nil {
			return nil, fmt.Errorf("riak cluster %s: %w", name, err)
		}
		cookie = pw
	}
	// The cookie reaches the nodes through the platform's secret store,
	// never through their role.
	cookieSecret := name + "-cookie"
	secrets := map[string]pulumi.StringOutput{cookieSecret: pulumi.ToSecret(cookie.ToStringOutput()).(pulumi.StringOutput)}
	first := pulumi.String("").ToStringOutput()
	var addrs pulumi.StringArray
	for i := 1; i <= args.Nodes; i++ {
		mname := fmt.Sprintf("%s-node-%d", name, i)
		// The first node joins nobody; every later one joins the first.
		r := first.ApplyT(func(first string) (role.Role, error) {
			return RiakRole(args.Package, cookieSecret, first, args.Nodes)
		})
		m, err := p.Machine(ctx, mname, platform.MachineArgs{Group: name, Size: "medium", Stateful: true, Role: platform.RoleOf(r), Secrets: secrets}, child)
		if err != nil {
			return nil, fmt.Errorf("riak cluster %s: %w", name, err)
		}
		if i == 1 {
			first = m.PrivateIP
		}
		c.Nodes = append(c.Nodes, m)
		addrs = append(addrs, m.PrivateIP)
	}
	c.Addresses = addrs.ToStringArrayOutput()

	rules := []struct {
		name string
		rule platform.Rule
	}{
		{name + "-cluster", platform.Rule{To: name, From: name, Ports: []platform.PortRange{
			platform.Port(RiakEPMDPort), platform.Port(RiakHandoff), {From: RiakDistFrom, To: RiakDistTo},
		}, Why: "Riak nodes gossip, hand off and distribute among themselves"}},
		{name + "-clients", platform.Rule{To: name, From: args.ClientGroup, Ports: []platform.PortRange{
			platform.Port(RiakPBPort), platform.Port(RiakHTTPPort),
		}, Why: "the phone book reaches Riak over protocol buffers and HTTP"}},
	}
	for _, r := range rules {
		if err := p.Allow(ctx, r.name, r.rule, child); err != nil {
			return nil, fmt.Errorf("riak cluster %s: %w", name, err)
		}
	}
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"addresses": c.Addresses})
}
