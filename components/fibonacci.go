package components

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
)

// FleetArgs configures a fibonacci fleet.
type FleetArgs struct {
	Nodes         int    // backends, 1..20
	MaxN          int    // largest n the backends answer
	Binary        Binary // apps/fibonacci
	HTTPAllowCIDR string // who may reach the load balancer on port 80
}

// Fleet is N fibonacci backends behind one nginx load balancer.
type Fleet struct {
	pulumi.ResourceState

	// URL is the load balancer's base URL ("http://203.0.113.7").
	URL pulumi.StringOutput `pulumi:"url"`
	// Backends are the backends' host:port, in node order.
	Backends pulumi.StringArrayOutput `pulumi:"backends"`
	// LB is the load balancer machine.
	LB *platform.Machine
	// Nodes are the backend machines, node-1 first.
	Nodes []*platform.Machine
}

// NewFleet creates the backends, the load balancer and the rules between them.
func NewFleet(ctx *pulumi.Context, name string, p platform.Platform, args *FleetArgs, opts ...pulumi.ResourceOption) (*Fleet, error) {
	if args == nil || args.Nodes < 1 || args.Nodes > 20 {
		return nil, fmt.Errorf("fibonacci fleet %s: nodes must be from 1 to 20", name)
	}
	f := &Fleet{}
	if err := ctx.RegisterComponentResource("cloudlabs:fibonacci:Fleet", name, f, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(f)
	nodeGroup, lbGroup := name+"-node", name+"-lb"

	var backends pulumi.StringArray
	for i := 1; i <= args.Nodes; i++ {
		mname := fmt.Sprintf("%s-node-%d", name, i)
		l := p.Layout(mname)
		r := args.Binary.URL.ApplyT(func(url string) (role.Role, error) {
			return FibonacciRole(l, url, args.Binary.SHA256, args.MaxN), nil
		})
		m, err := p.Machine(ctx, mname, platform.MachineArgs{Group: nodeGroup, Size: "small", Role: platform.RoleOf(r)}, child)
		if err != nil {
			return nil, fmt.Errorf("fibonacci fleet %s: %w", name, err)
		}
		f.Nodes = append(f.Nodes, m)
		backends = append(backends, pulumi.Sprintf("%s:%d", m.PrivateIP, l.Port(FibonacciPort)))
	}
	f.Backends = backends.ToStringArrayOutput()

	lbName := name + "-lb"
	ll := p.Layout(lbName)
	lbRole, err := LBRole(ll)
	if err != nil {
		return nil, fmt.Errorf("fibonacci fleet %s: %w", name, err)
	}
	upstreams := f.Backends.ApplyT(func(b []string) (string, error) { return UpstreamsFile(b) }).(pulumi.StringOutput)
	f.LB, err = p.Machine(ctx, lbName, platform.MachineArgs{
		Group: lbGroup, Size: "small", Public: true, Role: platform.ConstRole(lbRole),
		Dynamic: []platform.DynamicFile{{Path: ll.Path(UpstreamsPath), Content: upstreams, Reload: UpstreamsReload(ll)}},
	}, child)
	if err != nil {
		return nil, fmt.Errorf("fibonacci fleet %s: %w", name, err)
	}
	f.URL = baseURL(f.LB.PublicIP, ll.Port(HTTPPort))

	rules := []struct {
		name string
		rule platform.Rule
	}{
		{lbName + "-to-nodes", platform.Rule{To: nodeGroup, From: lbGroup, Ports: []platform.PortRange{platform.Port(FibonacciPort)},
			Why: "the load balancer reaches the fibonacci backends"}},
		{lbName + "-http", platform.Rule{To: lbGroup, CIDRs: []string{args.HTTPAllowCIDR}, Ports: []platform.PortRange{platform.Port(HTTPPort)},
			Why: "users reach the load balancer over HTTP"}},
	}
	for _, r := range rules {
		if err := p.Allow(ctx, r.name, r.rule, child); err != nil {
			return nil, fmt.Errorf("fibonacci fleet %s: %w", name, err)
		}
	}
	return f, ctx.RegisterResourceOutputs(f, pulumi.Map{"url": f.URL, "backends": f.Backends})
}

// baseURL is http://host, with the port when it is not 80.
func baseURL(host pulumi.StringOutput, port int) pulumi.StringOutput {
	if port == 80 {
		return pulumi.Sprintf("http://%s", host)
	}
	return pulumi.Sprintf("http://%s:%d", host, port)
}
