package local

import (
	"fmt"
	"hash/fnv"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/config/stackconfig"
	"github.com/cloudlabs/cloudlabs/internal/twin/hostnet"
)

// NetworkType is the token of the provider's stack network (netns mode).
const NetworkType = "cloudlabs:local:Network"

// RuleType is the token of the provider's firewall rule (netns mode).
const RuleType = "cloudlabs:local:Rule"

// Network is the program's view of a cloudlabs:local:Network.
type Network struct {
	pulumi.CustomResourceState

	// Dir is the network's registry folder: hosts and rules name it.
	Dir pulumi.StringOutput `pulumi:"dir"`
	// Gateway is this machine's address on the stack's network.
	Gateway pulumi.StringOutput `pulumi:"gateway"`
	Bridge  pulumi.StringOutput `pulumi:"bridge"`
}

// netns is the platform's network in namespace mode.
type netns struct {
	id     string
	subnet netip.Prefix
	res    *Network
}

// newNetns chooses the stack's /24 on this machine (clear of every
// address and route in use, the stack's own bridge aside, so the choice
// holds from one run to the next) and declares the Network.
func newNetns(ctx *pulumi.Context, stack, dir, rng string) (*netns, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("local:network: %q needs root (namespaces, veths, nftables): run labctl as root, or set local:network to %q", stackconfig.LocalNetns, stackconfig.LocalLoopback)
	}
	if rng == "" {
		rng = hostnet.DefaultRange
	}
	pool, err := netip.ParsePrefix(rng)
	if err != nil {
		return nil, fmt.Errorf("local:networkRange: %q: %w", rng, err)
	}
	id := hostnet.StackID(dir)
	sub, err := hostnet.ChooseSubnet(pool, id)
	if err != nil {
		return nil, err
	}
	n := &Network{}
	if err := ctx.RegisterResource(NetworkType, stack+"-network", pulumi.Map{
		"name":    pulumi.String(stack),
		"stackId": pulumi.String(id),
		"subnet":  pulumi.String(sub.String()),
		"dir":     pulumi.String(filepath.Join(dir, "network")),
	}, n); err != nil {
		return nil, fmt.Errorf("local network: %w", err)
	}
	return &netns{id: id, subnet: sub, res: n}, nil
}

// address is the attempt-th candidate host address of a machine in the
// stack's /24: .2 to .254 (.1 is this machine), by a hash of the name.
func (n *netns) address(machine string, attempt int) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s#%d", machine, attempt)
	a := n.subnet.Addr().As4()
	a[3] = byte(2 + h.Sum32()%253)
	return netip.AddrFrom4(a).String()
}

// rule declares one Allow rule on the stack's network.
func (n *netns) rule(ctx *pulumi.Context, name string, r platform.Rule, opts ...pulumi.ResourceOption) error {
	ports := pulumi.Array{}
	for _, pr := range r.Ports {
		ports = append(ports, pulumi.Map{"from": pulumi.Int(pr.From), "to": pulumi.Int(pr.To)})
	}
	props := pulumi.Map{"network": n.res.Dir, "to": pulumi.String(r.To), "ports": ports}
	if r.From != "" {
		props["from"] = pulumi.String(r.From)
	}
	if len(r.CIDRs) > 0 {
		props["cidrs"] = pulumi.ToStringArray(r.CIDRs)
	}
	var res pulumi.CustomResourceState
	if err := ctx.RegisterResource(RuleType, name, props, &res, opts...); err != nil {
		return fmt.Errorf("local rule %s: %w", name, err)
	}
	return nil
}

// hostNet is a Host's net input.
func (p *Platform) hostNet(group string) pulumi.Map {
	return pulumi.Map{
		"network":  p.net.res.Dir,
		"group":    pulumi.String(group),
		"rateKbit": pulumi.Int(p.shape.RateKbit),
		"delayMs":  pulumi.Int(p.shape.DelayMs),
		"lossPct":  pulumi.Float64(p.shape.LossPct),
	}
}
