package aws

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/platform"
)

var groupRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// group returns the security group of a firewall group, creating it the
// first time it is named. A new group lets everything out (apt, the
// bucket) and nothing in but SSH from the stack's SSH CIDR, when open;
// Allow adds the rest. Rules are standalone resources, never inline, so
// adding one is an update of nothing else.
func (p *Platform) group(ctx *pulumi.Context, name string) (*ec2.SecurityGroup, error) {
	if sg, ok := p.groups[name]; ok {
		return sg, nil
	}
	if !groupRE.MatchString(name) {
		return nil, fmt.Errorf("aws platform: group %q: want lowercase letters, digits and hyphens", name)
	}
	sg, err := ec2.NewSecurityGroup(ctx, name+"-sg", &ec2.SecurityGroupArgs{
		VpcId: p.net.vpc.ID(),
		// Changing a description replaces the group: keep it constant.
		Description: pulumi.String("cloudlabs " + name + " machines"),
		Tags:        p.tags(name),
	}, p.own()...)
	if err != nil {
		return nil, fmt.Errorf("aws platform: security group %s: %w", name, err)
	}
	// The provider removes the allow-all egress rule AWS adds to a new
	// group, so it is declared again here.
	if _, err := vpc.NewSecurityGroupEgressRule(ctx, name+"-egress", &vpc.SecurityGroupEgressRuleArgs{
		SecurityGroupId: sg.ID(),
		IpProtocol:      pulumi.String("-1"),
		CidrIpv4:        pulumi.String("0.0.0.0/0"),
		Description:     pulumi.String("packages, downloads and the artifact bucket"),
		Tags:            p.tags(name + "-egress"),
	}, p.own()...); err != nil {
		return nil, fmt.Errorf("aws platform: egress of %s: %w", name, err)
	}
	if p.s.SSHAllowCIDR != "" {
		if _, err := vpc.NewSecurityGroupIngressRule(ctx, name+"-ssh", &vpc.SecurityGroupIngressRuleArgs{
			SecurityGroupId: sg.ID(),
			IpProtocol:      pulumi.String("tcp"),
			FromPort:        pulumi.Int(22),
			ToPort:          pulumi.Int(22),
			CidrIpv4:        pulumi.String(p.s.SSHAllowCIDR),
			Description:     pulumi.String("operator SSH (ssh:allowCidr)"),
			Tags:            p.tags(name + "-ssh"),
		}, p.own()...); err != nil {
			return nil, fmt.Errorf("aws platform: ssh to %s: %w", name, err)
		}
	}
	p.groups[name] = sg
	p.order = append(p.order, name)
	return sg, nil
}

// Allow opens TCP ports of group To to group From or to CIDR blocks: one
// ingress rule per source and port range, named name-<ports> (with the
// CIDR's index when there are several).
func (p *Platform) Allow(ctx *pulumi.Context, name string, rule platform.Rule, opts ...pulumi.ResourceOption) error {
	if err := checkRule(rule); err != nil {
		return fmt.Errorf("allow %s: %w", name, err)
	}
	if err := p.guard.Allow(rule); err != nil {
		return fmt.Errorf("allow %s: %w", name, err)
	}
	to, err := p.group(ctx, rule.To)
	if err != nil {
		return fmt.Errorf("allow %s: %w", name, err)
	}
	type source struct {
		suffix string
		args   func(*vpc.SecurityGroupIngressRuleArgs)
	}
	var sources []source
	if rule.From != "" {
		from, err := p.group(ctx, rule.From)
		if err != nil {
			return fmt.Errorf("allow %s: %w", name, err)
		}
		sources = append(sources, source{"", func(a *vpc.SecurityGroupIngressRuleArgs) { a.ReferencedSecurityGroupId = from.ID() }})
	}
	for i, c := range rule.CIDRs {
		suffix := ""
		if len(rule.CIDRs) > 1 {
			suffix = fmt.Sprintf("-%d", i+1)
		}
		sources = append(sources, source{suffix, func(a *vpc.SecurityGroupIngressRuleArgs) { a.CidrIpv4 = pulumi.String(c) }})
	}
	for _, src := range sources {
		for _, pr := range rule.Ports {
			rname := name + src.suffix + "-" + portsName(pr)
			args := &vpc.SecurityGroupIngressRuleArgs{
				SecurityGroupId: to.ID(),
				IpProtocol:      pulumi.String("tcp"),
				FromPort:        pulumi.Int(pr.From),
				ToPort:          pulumi.Int(pr.To),
				Description:     pulumi.String(description(rule.Why)),
				Tags:            p.tags(rname),
			}
			src.args(args)
			if _, err := vpc.NewSecurityGroupIngressRule(ctx, rname, args, opts...); err != nil {
				return fmt.Errorf("allow %s: rule %s: %w", name, rname, err)
			}
		}
	}
	return nil
}

// checkRule enforces the Rule contract before anything is created.
func checkRule(r platform.Rule) error {
	if r.To == "" {
		return fmt.Errorf("rule names no target group")
	}
	if (r.From == "") == (len(r.CIDRs) == 0) {
		return fmt.Errorf("rule to %s needs exactly one of a source group or CIDR blocks", r.To)
	}
	if len(r.Ports) == 0 {
		return fmt.Errorf("rule to %s opens no ports", r.To)
	}
	for _, pr := range r.Ports {
		if pr.From < 1 || pr.To > 65535 || pr.From > pr.To {
			return fmt.Errorf("rule to %s: port range %d-%d: want 1 <= from <= to <= 65535", r.To, pr.From, pr.To)
		}
	}
	for _, c := range r.CIDRs {
		pfx, err := netip.ParsePrefix(c)
		if err != nil || !pfx.Addr().Is4() || pfx.Masked() != pfx {
			return fmt.Errorf("rule to %s: CIDR %q: want an IPv4 block such as 198.51.100.0/24", r.To, c)
		}
	}
	return nil
}

func portsName(pr platform.PortRange) string {
	if pr.From == pr.To {
		return fmt.Sprint(pr.From)
	}
	return fmt.Sprintf("%d-%d", pr.From, pr.To)
}

// description fits a rule's Why into what EC2 accepts: at most 255
// characters of a-zA-Z0-9. _-:/()#,@[]+=&;{}!$* (others become single
// spaces).
func description(why string) string {
	const allowed = ". _-:/()#,@[]+=&;{}!$*"
	var b strings.Builder
	for _, r := range why {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(allowed, r)) {
			b.WriteRune(r)
		} else {
			b.WriteByte(' ')
		}
	}
	s := strings.Join(strings.Fields(b.String()), " ")
	if len(s) > 255 {
		s = strings.TrimSpace(s[:255])
	}
	return s
}
