package local

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/platform"
)

// Allow records the rule and enforces nothing: loopback has no firewall,
// so on the local twin every host reaches every port of every other. The
// rules stay inspectable (Rules) for tests and for `labctl` to show.
func (p *Platform) Allow(ctx *pulumi.Context, name string, rule platform.Rule, opts ...pulumi.ResourceOption) error {
	p.rules = append(p.rules, rule)
	return nil
}

// Rules are the rules Allow recorded, in order.
func (p *Platform) Rules() []platform.Rule { return append([]platform.Rule(nil), p.rules...) }
