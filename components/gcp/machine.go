package gcp

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/compute"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/storage"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/machine/cloudinit"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
)

// Boot disk sizes in GB: the Ubuntu image needs 10; Riak's data lives on
// the boot disk of stateful machines and gets room to grow.
const (
	DiskGB         = 10
	StatefulDiskGB = 20
	DiskType       = "pd-balanced"
)

// Machine creates one instance running args.Role. Its user data is the
// role rendered by cloudinit, with a sync service per dynamic file; a
// dynamic file's content lives in the bucket, never in the user data, so
// a new upstream list does not replace the machine.
func (p *Platform) Machine(ctx *pulumi.Context, name string, args platform.MachineArgs, opts ...pulumi.ResourceOption) (*platform.Machine, error) {
	mtype, ok := p.types[args.Size]
	if !ok {
		return nil, fmt.Errorf("machine %s: size %q; allowed: %s", name, args.Size, strings.Join(platform.Sizes, ", "))
	}
	tag, err := groupTag(args.Group)
	if err != nil {
		return nil, fmt.Errorf("machine %s: %w", name, err)
	}
	secretNames, err := platform.SecretNames(name, args.Secrets)
	if err != nil {
		return nil, err
	}
	if err := p.checkGrants(name, args); err != nil {
		return nil, err
	}
	if err := p.guard.Machine(name, args); err != nil {
		return nil, err
	}
	after := []pulumi.Resource{p.reader}
	syncs, objs, err := p.dynamicObjects(ctx, name, args.Dynamic, opts)
	if err != nil {
		return nil, err
	}
	after = append(after, objs...)
	// A machine that reads secrets runs as an account of its own, granted
	// exactly its secrets; the user data names them, never holds them.
	account := &compute.InstanceServiceAccountArgs{
		Email:  p.account.Email,
		Scopes: pulumi.StringArray{pulumi.String(ReadOnlyScope)},
	}
	// So does a machine that controls a group: the instances' IAM
	// bindings name its account.
	secretIDs := map[string]string{}
	if len(secretNames) > 0 || args.Controls != "" {
		acct, ready, err := p.machineAccount(ctx, name, secretNames, args.Secrets, args.Controls, opts)
		if err != nil {
			return nil, err
		}
		scopes := pulumi.StringArray{pulumi.String(SecretScope)}
		if len(secretNames) == 0 {
			scopes = pulumi.StringArray{pulumi.String(ReadOnlyScope), pulumi.String(ComputeScope)}
		}
		account = &compute.InstanceServiceAccountArgs{Email: acct.Email, Scopes: scopes}
		after = append(after, ready...)
		for _, s := range secretNames {
			secretIDs[s] = SecretID(p.s.Project, p.s.Stack, s)
		}
		if args.Controls != "" {
			if err := p.addController(ctx, name, args.Controls, acct.Email, opts); err != nil {
				return nil, err
			}
		}
	}
	userData := p.userData(name, args.Role, syncs, secretNames, secretIDs)

	access := &compute.InstanceNetworkInterfaceAccessConfigArgs{}
	var addr *compute.Address
	if args.Public {
		addr, err = compute.NewAddress(ctx, name+"-ip", &compute.AddressArgs{
			Region:      pulumi.String(p.s.Region),
			AddressType: pulumi.String("EXTERNAL"),
			Description: pulumi.Sprintf("cloudlabs %s/%s: public address of %s", p.s.Project, p.s.Stack, name),
			Labels:      p.labels("cloudlabs-machine", name),
		}, opts...)
		if err != nil {
			return nil, fmt.Errorf("machine %s: static address: %w", name, err)
		}
		access.NatIp = addr.Address
	}

	image := p.s.Image
	if image == "" {
		image = Image(p.arch)
	}
	disk := &compute.InstanceBootDiskArgs{
		AutoDelete: pulumi.Bool(true),
		InitializeParams: &compute.InstanceBootDiskInitializeParamsArgs{
			Image:  pulumi.String(image),
			Size:   pulumi.Int(diskGB(args.Stateful)),
			Type:   pulumi.String(DiskType),
			Labels: p.labels("cloudlabs-machine", name),
		},
	}
	if p.s.DiskKMSKey != "" {
		disk.KmsKeySelfLink = pulumi.String(p.s.DiskKMSKey)
	}
	iargs := &compute.InstanceArgs{
		Zone:        pulumi.String(p.s.Zone),
		MachineType: pulumi.String(mtype),
		Description: pulumi.Sprintf("cloudlabs %s/%s machine %s (group %s)", p.s.Project, p.s.Stack, name, args.Group),
		Tags:        pulumi.StringArray{pulumi.String(tag)},
		Labels:      p.labels("cloudlabs-machine", name, "cloudlabs-group", args.Group),
		BootDisk:    disk,
		NetworkInterfaces: compute.InstanceNetworkInterfaceArray{&compute.InstanceNetworkInterfaceArgs{
			Subnetwork:    p.subnet.ID(),
			AccessConfigs: compute.InstanceNetworkInterfaceAccessConfigArray{access},
		}},
		ServiceAccount: account,
		Metadata: pulumi.StringMap{
			"user-data":              userData,
			"block-project-ssh-keys": pulumi.String("TRUE"),
			"enable-oslogin":         pulumi.String("FALSE"),
		},
		// A new machine type stops and starts the instance instead of
		// failing the update.
		AllowStoppingForUpdate: pulumi.Bool(true),
	}
	if shielded(mtype) {
		iargs.ShieldedInstanceConfig = &compute.InstanceShieldedInstanceConfigArgs{
			EnableSecureBoot:          pulumi.Bool(true),
			EnableVtpm:                pulumi.Bool(true),
			EnableIntegrityMonitoring: pulumi.Bool(true),
		}
	}
	lc := lifecycleOf(args.Stateful, args.Public)
	iopts := append(slices.Clone(opts), pulumi.DependsOn(after))
	iopts = append(iopts, lc.options()...)
	inst, err := compute.NewInstance(ctx, name, iargs, iopts...)
	if err != nil {
		return nil, fmt.Errorf("machine %s: %w", name, err)
	}

	if err := p.addControlled(ctx, name, args.Group, inst, opts); err != nil {
		return nil, err
	}

	nic := inst.NetworkInterfaces.Index(pulumi.Int(0))
	natIP := nic.AccessConfigs().Index(pulumi.Int(0)).NatIp().Elem()
	m := &platform.Machine{
		Name:      name,
		PrivateIP: nic.NetworkIp().Elem(),
		PublicIP:  pulumi.String("").ToStringOutput(),
		SSHHost:   pulumi.String("").ToStringOutput(),
		Resource:  inst,
		Handle:    pulumi.StringMap{"instance": inst.Name, "zone": inst.Zone}.ToStringMapOutput(),
	}
	if addr != nil {
		m.PublicIP = addr.Address
	}
	if p.sshOpen() {
		m.SSHHost = natIP
	}
	return m, nil
}

// syncSpec is a dynamic file as the machine's sync service follows it.
type syncSpec struct {
	name, path, reload string
	url                pulumi.StringOutput
}

// dynamicObjects uploads each dynamic file to dynamic/<machine>/<base> and
// returns the sync services that follow them. The URLs depend on the
// bucket's name and the fixed key only, so a new content is no change to
// the user data.
func (p *Platform) dynamicObjects(ctx *pulumi.Context, machine string, dyn []platform.DynamicFile, opts []pulumi.ResourceOption) ([]syncSpec, []pulumi.Resource, error) {
	var specs []syncSpec
	var objs []pulumi.Resource
	seen := map[string]bool{}
	for _, d := range dyn {
		base := path.Base(d.Path)
		name := syncName(base)
		if seen[name] {
			return nil, nil, fmt.Errorf("machine %s: two dynamic files named %s", machine, name)
		}
		seen[name] = true
		key := "dynamic/" + machine + "/" + base
		// The key stays while the content changes (the provider replaces an
		// object whose content changed): deleting the old object after
		// writing its replacement would delete the new content. Machines
		// depend on it by DependsOn only, so its replacement replaces none
		// of them; their sync loop keeps the last good file meanwhile.
		o, err := storage.NewBucketObject(ctx, machine+"-"+name, &storage.BucketObjectArgs{
			Bucket:       p.bucket.Name,
			Name:         pulumi.String(key),
			Content:      d.Content,
			ContentType:  pulumi.String("text/plain"),
			CacheControl: pulumi.String("no-store"),
		}, append(slices.Clone(opts), pulumi.DeleteBeforeReplace(true))...)
		if err != nil {
			return nil, nil, fmt.Errorf("machine %s: dynamic file %s: %w", machine, d.Path, err)
		}
		specs = append(specs, syncSpec{name: name, path: d.Path, reload: d.Reload, url: ObjectURL(p.bucket.Name, pulumi.String(key))})
		objs = append(objs, o)
	}
	return specs, objs, nil
}

// userData renders the role with one sync service per dynamic file.
func (p *Platform) userData(machine string, ro platform.RoleOutput, syncs []syncSpec, secretNames []string, secretIDs map[string]string) pulumi.StringOutput {
	deps := []any{ro}
	for _, s := range syncs {
		deps = append(deps, s.url)
	}
	opt := cloudinit.Options{Platform: "gcp", SecretIDs: secretIDs}
	if p.sshOpen() {
		opt.SSHKey = p.s.SSHPublicKey
	}
	return pulumi.All(deps...).ApplyT(func(vs []any) (string, error) {
		r, ok := vs[0].(role.Role)
		if !ok {
			return "", fmt.Errorf("machine %s: role output holds %T, want role.Role", machine, vs[0])
		}
		if err := platform.MatchSecrets(machine, r, secretNames); err != nil {
			return "", err
		}
		// The role may be shared with other machines: AddSync appends, so
		// give this one slices of its own.
		r.Files, r.Setup, r.Services = slices.Clone(r.Files), slices.Clone(r.Setup), slices.Clone(r.Services)
		for i, s := range syncs {
			if err := cloudinit.AddSync(&r, s.name, vs[i+1].(string), s.path, s.reload); err != nil {
				return "", fmt.Errorf("machine %s: sync %s: %w", machine, s.path, err)
			}
		}
		ud, err := cloudinit.Render(r, opt)
		if err != nil {
			return "", fmt.Errorf("machine %s: %w", machine, err)
		}
		return ud, nil
	}).(pulumi.StringOutput)
}

// diskGB is the boot disk size of a machine.
func diskGB(stateful bool) int {
	if stateful {
		return StatefulDiskGB
	}
	return DiskGB
}
