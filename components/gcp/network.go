package gcp

import (
	"fmt"
	"net/netip"
	"strconv"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/compute"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/platform"
)

// SubnetCIDR is the stack's one subnet.
const SubnetCIDR = "10.42.1.0/24"

// createNetwork makes the network, its subnet and, when configured, the
// SSH rule.
func (p *Platform) createNetwork(ctx *pulumi.Context, opts []pulumi.ResourceOption) error {
	var err error
	p.network, err = compute.NewNetwork(ctx, "cloudlabs-net", &compute.NetworkArgs{
		Description: pulumi.Sprintf("cloudlabs %s/%s: the stack's own network", p.s.Project, p.s.Stack),
		// One subnet we choose instead of one per region we do not use.
		AutoCreateSubnetworks: pulumi.Bool(false),
		RoutingMode:           pulumi.String("REGIONAL"),
	}, opts...)
	if err != nil {
		return fmt.Errorf("gcp network: %w", err)
	}
	p.subnet, err = compute.NewSubnetwork(ctx, "cloudlabs-subnet", &compute.SubnetworkArgs{
		Network:     p.network.ID(),
		Region:      pulumi.String(p.s.Region),
		IpCidrRange: pulumi.String(SubnetCIDR),
		// Google APIs (the bucket) stay reachable over Google's network
		// whatever happens to the external addresses.
		PrivateIpGoogleAccess: pulumi.Bool(true),
	}, opts...)
	if err != nil {
		return fmt.Errorf("gcp subnet: %w", err)
	}
	if !p.sshOpen() {
		return nil
	}
	// No target tags: the rule covers every instance of the network, all of
	// which are this stack's, including groups named after this call.
	_, err = compute.NewFirewall(ctx, "cloudlabs-ssh", &compute.FirewallArgs{
		Network:      p.network.ID(),
		Description:  pulumi.String("cloudlabs: operator SSH from ssh:allowCidr"),
		Direction:    pulumi.String("INGRESS"),
		SourceRanges: pulumi.StringArray{pulumi.String(p.s.SSHAllowCIDR)},
		Allows:       compute.FirewallAllowArray{&compute.FirewallAllowArgs{Protocol: pulumi.String("tcp"), Ports: pulumi.StringArray{pulumi.String("22")}}},
	}, opts...)
	if err != nil {
		return fmt.Errorf("gcp ssh firewall: %w", err)
	}
	return nil
}

// Allow makes one ingress firewall rule, named name: TCP to exactly the
// rule's ports of the instances tagged with the target group, from the
// instances tagged with the source group or from the CIDR blocks.
func (p *Platform) Allow(ctx *pulumi.Context, name string, rule platform.Rule, opts ...pulumi.ResourceOption) error {
	args, err := p.firewallArgs(rule)
	if err != nil {
		return fmt.Errorf("allow %s: %w", name, err)
	}
	if err := p.guard.Allow(rule); err != nil {
		return fmt.Errorf("allow %s: %w", name, err)
	}
	if _, err := compute.NewFirewall(ctx, name, args, opts...); err != nil {
		return fmt.Errorf("allow %s: %w", name, err)
	}
	return nil
}

// firewallArgs checks a rule and translates it.
func (p *Platform) firewallArgs(rule platform.Rule) (*compute.FirewallArgs, error) {
	to, err := groupTag(rule.To)
	if err != nil {
		return nil, err
	}
	if (rule.From == "") == (len(rule.CIDRs) == 0) {
		return nil, fmt.Errorf("rule to %s: set exactly one of From (a group) and CIDRs", rule.To)
	}
	ports, err := firewallPorts(rule.Ports)
	if err != nil {
		return nil, fmt.Errorf("rule to %s: %w", rule.To, err)
	}
	args := &compute.FirewallArgs{
		Network:     p.network.ID(),
		Description: pulumi.String(rule.Why),
		Direction:   pulumi.String("INGRESS"),
		TargetTags:  pulumi.StringArray{pulumi.String(to)},
		Allows:      compute.FirewallAllowArray{&compute.FirewallAllowArgs{Protocol: pulumi.String("tcp"), Ports: ports}},
	}
	if rule.From != "" {
		from, err := groupTag(rule.From)
		if err != nil {
			return nil, err
		}
		args.SourceTags = pulumi.StringArray{pulumi.String(from)}
		return args, nil
	}
	var ranges pulumi.StringArray
	for _, c := range rule.CIDRs {
		if _, err := netip.ParsePrefix(c); err != nil {
			return nil, fmt.Errorf("rule to %s: CIDR %q: %w", rule.To, c, err)
		}
		ranges = append(ranges, pulumi.String(c))
	}
	args.SourceRanges = ranges
	return args, nil
}

// firewallPorts renders port ranges as GCP writes them: "80", "6000-7999".
func firewallPorts(rs []platform.PortRange) (pulumi.StringArray, error) {
	if len(rs) == 0 {
		return nil, fmt.Errorf("no ports: a rule opens at least one")
	}
	var out pulumi.StringArray
	for _, r := range rs {
		if r.From < 1 || r.To > 65535 || r.From > r.To {
			return nil, fmt.Errorf("port range %d-%d; allowed: 1 <= from <= to <= 65535", r.From, r.To)
		}
		s := strconv.Itoa(r.From)
		if r.To != r.From {
			s += "-" + strconv.Itoa(r.To)
		}
		out = append(out, pulumi.String(s))
	}
	return out, nil
}
