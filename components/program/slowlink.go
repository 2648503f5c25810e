package program

import (
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
)

// slowLink makes every machine of a cloud platform slow its own link at
// boot (network:delayMs, network:lossPct). The local twin's link is set by
// labctl instead: it is the operator's machine, not the program's.
type slowLink struct {
	platform.Platform
	step string
}

func (s slowLink) Machine(ctx *pulumi.Context, name string, args platform.MachineArgs, opts ...pulumi.ResourceOption) (*platform.Machine, error) {
	args.Role = platform.RoleOf(args.Role.ApplyT(func(v any) (role.Role, error) {
		r := v.(role.Role)
		r.Boot = append(slices.Clone(r.Boot), s.step)
		return r, nil
	}))
	return s.Platform.Machine(ctx, name, args, opts...)
}
