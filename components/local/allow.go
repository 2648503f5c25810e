package local

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/platform"
)

// Allow records the rule (Rules) and, in namespace mode, declares it as a
// cloudlabs:local:Rule that nftables enforces in the namespaces of the
// rule's To group. In loopback mode it enforces nothing: every host
// reaches every port of every other, and `up` says so.
func (p *Platform) Allow(ctx *pulumi.Context, name string, rule platform.Rule, opts ...pulumi.ResourceOption) error {
	p.rules = append(p.rules, rule)
	if p.net == nil {
		if len(p.rules) == 1 {
			// Once per program: the twin must not pass for a firewall.
			if err := ctx.Log.Warn("local:network loopback: firewall rules are recorded, not enforced (every host reaches every port of every other); local:network netns, as root, enforces them", nil); err != nil {
				return err
			}
		}
		return nil
	}
	return p.net.rule(ctx, name, rule, opts...)
}

// Rules are the rules Allow recorded, in order.
func (p *Platform) Rules() []platform.Rule { return append([]platform.Rule(nil), p.rules...) }
