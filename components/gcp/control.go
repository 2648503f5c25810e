package gcp

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/compute"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/projects"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/platform"
)

// ComputeScope is the OAuth scope a controller without secrets adds to
// the read-only storage scope: its IAM bindings, on its group's instances
// alone, are the limit.
const ComputeScope = "https://www.googleapis.com/auth/compute"

// ControlPermissions are what a controller may do to each instance of its
// group (internal/pool/nodegroup/gce: start, stop, then get until the
// state settles), and nothing else.
var ControlPermissions = []string{"compute.instances.get", "compute.instances.start", "compute.instances.stop"}

// Metrics modes a machine may be given. On GCP both are no-ops: the
// pool's metrics live in a Prometheus on the manager's machine, scraped
// over the stack's network, with no cloud API involved.
const (
	MetricsWrite     = "write"
	MetricsRead      = "read"
	MetricsReadWrite = "readwrite"
)

// ControllerRoleID is the id of the stack's custom role holding
// ControlPermissions: [a-zA-Z0-9_.], 3-64 characters, unique per
// (project, stack) in the GCP project.
func ControllerRoleID(project, stack string) string {
	return "cloudlabs_" + strings.ReplaceAll(AccountID(project, stack), "-", "_") + "_controller"
}

// controlState pairs controllers with the instances they control, in
// whichever order the program makes them.
type controlState struct {
	role        *projects.IAMCustomRole
	members     map[string][]controlled // group -> its instances so far
	controllers map[string][]controller // controlled group -> its controllers so far
}

type controlled struct {
	machine string
	inst    *compute.Instance
}

type controller struct {
	machine string
	member  pulumi.StringOutput // serviceAccount:<email>
	opts    []pulumi.ResourceOption
}

// checkGrants validates what MachineArgs asks beyond secrets. Buckets
// need nothing on the machine (the bucket's HMAC key reaches it as a
// secret; its own account gets no role on the bucket) but must be this
// platform's; Metrics needs nothing either.
func (p *Platform) checkGrants(name string, args platform.MachineArgs) error {
	for i, b := range args.Buckets {
		if b == nil || !p.dataBuckets[b] {
			return fmt.Errorf("machine %s: bucket %d was not made by this platform's DataBucket", name, i+1)
		}
	}
	if args.Controls != "" {
		if _, err := groupTag(args.Controls); err != nil {
			return fmt.Errorf("machine %s: controls: %w", name, err)
		}
	}
	switch args.Metrics {
	case "", MetricsWrite, MetricsRead, MetricsReadWrite:
	default:
		return fmt.Errorf("machine %s: metrics %q; allowed: %q, %q, %q or \"\"", name, args.Metrics, MetricsWrite, MetricsRead, MetricsReadWrite)
	}
	return nil
}

// controllerRole is the stack's custom role, created on first use.
func (p *Platform) controllerRole(ctx *pulumi.Context) (*projects.IAMCustomRole, error) {
	if p.control.role != nil {
		return p.control.role, nil
	}
	role, err := projects.NewIAMCustomRole(ctx, "instance-controller", &projects.IAMCustomRoleArgs{
		RoleId:      pulumi.String(ControllerRoleID(p.s.Project, p.s.Stack)),
		Title:       pulumi.Sprintf("cloudlabs %s/%s instance controller", p.s.Project, p.s.Stack),
		Description: pulumi.String("Start, stop and read one instance; bound on each controlled instance, never on the project."),
		Permissions: pulumi.ToStringArray(ControlPermissions),
		Stage:       pulumi.String("GA"),
	}, p.opts()...)
	if err != nil {
		return nil, fmt.Errorf("gcp platform: controller role: %w", err)
	}
	p.control.role = role
	return role, nil
}

// addController lets machine (running as the account of member) start
// and stop the instances of group: those made so far now, later ones as
// they are made.
func (p *Platform) addController(ctx *pulumi.Context, machine, group string, email pulumi.StringOutput, opts []pulumi.ResourceOption) error {
	c := controller{machine: machine, member: pulumi.Sprintf("serviceAccount:%s", email), opts: opts}
	if p.control.controllers == nil {
		p.control.controllers = map[string][]controller{}
	}
	p.control.controllers[group] = append(p.control.controllers[group], c)
	for _, t := range p.control.members[group] {
		if err := p.bind(ctx, c, t); err != nil {
			return err
		}
	}
	return nil
}

// addControlled records an instance of group and binds the group's
// controllers so far to it.
func (p *Platform) addControlled(ctx *pulumi.Context, machine, group string, inst *compute.Instance, opts []pulumi.ResourceOption) error {
	t := controlled{machine: machine, inst: inst}
	if p.control.members == nil {
		p.control.members = map[string][]controlled{}
	}
	p.control.members[group] = append(p.control.members[group], t)
	for _, c := range p.control.controllers[group] {
		if err := p.bind(ctx, c, t); err != nil {
			return err
		}
	}
	return nil
}

// bind grants the controller the custom role on one instance: instance
// IAM, so the grant covers exactly that instance.
func (p *Platform) bind(ctx *pulumi.Context, c controller, t controlled) error {
	role, err := p.controllerRole(ctx)
	if err != nil {
		return err
	}
	if _, err := compute.NewInstanceIAMMember(ctx, c.machine+"-controls-"+t.machine, &compute.InstanceIAMMemberArgs{
		Zone:         t.inst.Zone,
		InstanceName: t.inst.Name,
		Role:         role.Name,
		Member:       c.member,
	}, c.opts...); err != nil {
		return fmt.Errorf("machine %s: control of %s: %w", c.machine, t.machine, err)
	}
	return nil
}
