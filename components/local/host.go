package local

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
)

// HostType is the provider's resource token.
const HostType = "cloudlabs:local:Host"

// Host is the program's view of a cloudlabs:local:Host, written by hand
// instead of generated: one resource with five outputs.
type Host struct {
	pulumi.CustomResourceState

	// Address is the loopback address the host's services listen on.
	Address pulumi.StringOutput `pulumi:"address"`
	// Dir is the host's folder.
	Dir pulumi.StringOutput `pulumi:"dir"`
	// Services maps each running service to its pid.
	Services pulumi.IntMapOutput `pulumi:"services"`
	// Healthy is true when every service of the role runs or is parked.
	Healthy pulumi.BoolOutput `pulumi:"healthy"`
	// Parked lists the services stopped on purpose (a parked pool slot).
	Parked pulumi.StringArrayOutput `pulumi:"parked"`
}

// DiskType is the token of the provider's disk: the folder a machine keeps
// its role's Data in, apart from the host folder.
const DiskType = "cloudlabs:local:Disk"

// Disk is the program's view of a cloudlabs:local:Disk.
type Disk struct {
	pulumi.CustomResourceState

	// Dir is the disk's folder: <StateDir>/<stack>/disks/<machine>.
	Dir pulumi.StringOutput `pulumi:"dir"`
}

// reserved are folder names of the stack folder that are not machines.
var reserved = map[string]bool{"artifacts": true, "disks": true}

// machineSecrets turns a machine's MachineArgs.Secrets into the Host's
// "secrets" input: the content of each of the role's SecretFiles, keyed by
// its path in the host folder. components/local/secret.go sets it (in an
// init func); nil means no secret delivery, and a machine with secrets
// then fails rather than boot without them.
var machineSecrets func(name string, l platform.Layout, args platform.MachineArgs) (pulumi.StringMapInput, error)

// Machine registers a Host running the role, with the dynamic files
// folded into the role's files and their Reload mapped to a SIGHUP of the
// service it names, and the machine's Disk, which holds the role's Data
// folders so that a replacement of the Host keeps them.
func (p *Platform) Machine(ctx *pulumi.Context, name string, args platform.MachineArgs, opts ...pulumi.ResourceOption) (*platform.Machine, error) {
	if reserved[name] {
		return nil, fmt.Errorf("local host %s: the name is taken by the stack folder's %s/ (choose another machine name)", name, name)
	}
	l := p.Layout(name)
	if err := p.allowBuckets(ctx, name, args, opts); err != nil {
		return nil, err
	}
	if p.ssh.open() {
		var err error
		if args, err = p.withSSH(ctx, name, l, args, opts...); err != nil {
			return nil, err
		}
	}
	disk := &Disk{}
	if err := ctx.RegisterResource(DiskType, name+"-disk", pulumi.Map{
		"name": pulumi.String(name),
		"dir":  pulumi.String(filepath.Join(p.dir, "disks", name)),
	}, disk, opts...); err != nil {
		return nil, fmt.Errorf("local disk %s: %w", name, err)
	}
	deps := []any{args.Role}
	for _, d := range args.Dynamic {
		deps = append(deps, d.Content)
	}
	inputs := pulumi.All(deps...).ApplyT(func(vs []any) (hostInputs, error) {
		r, ok := vs[0].(role.Role)
		if !ok {
			return hostInputs{}, fmt.Errorf("machine %s: role output holds %T, want role.Role", name, vs[0])
		}
		contents := make([]string, len(args.Dynamic))
		for i := range args.Dynamic {
			contents[i] = vs[i+1].(string)
		}
		return render(name, l, r, args.Dynamic, contents)
	})
	props := pulumi.Map{
		"name":     pulumi.String(name),
		"stateDir": pulumi.String(l.Root),
		"bind":     pulumi.String(l.Bind),
		"role":     inputs.ApplyT(func(v any) string { return v.(hostInputs).role }).(pulumi.StringOutput),
		"reloads":  inputs.ApplyT(func(v any) map[string]string { return v.(hostInputs).reloads }).(pulumi.StringMapOutput),
		"dataDir":  disk.Dir,
	}
	if p.net != nil {
		props["net"] = p.hostNet(args.Group)
	}
	if len(args.Secrets) > 0 {
		if machineSecrets == nil {
			return nil, fmt.Errorf("local host %s: %d secrets but this platform cannot deliver them", name, len(args.Secrets))
		}
		s, err := machineSecrets(name, l, args)
		if err != nil {
			return nil, fmt.Errorf("local host %s: %w", name, err)
		}
		if s != nil {
			props["secrets"] = pulumi.ToSecret(s)
		}
	}
	h := &Host{}
	err := ctx.RegisterResource(HostType, name, props, h, opts...)
	if err != nil {
		return nil, fmt.Errorf("local host %s: %w", name, err)
	}
	handle := pulumi.StringMap{"dir": pulumi.String(l.Root), "bind": h.Address}.ToStringMapOutput()
	m := &platform.Machine{Name: name, PrivateIP: h.Address, PublicIP: h.Address, Resource: h, Handle: handle}
	if p.ssh.open() {
		m.SSHHost = h.Address
	}
	return m, nil
}

// hostInputs are the Host's inputs that depend on outputs.
type hostInputs struct {
	role    string
	reloads map[string]string
}

// render turns a role and its dynamic files' contents into the Host's
// role JSON and reload map.
func render(name string, l platform.Layout, r role.Role, dyn []platform.DynamicFile, contents []string) (hostInputs, error) {
	reloads := map[string]string{}
	for i, d := range dyn {
		path := d.Path
		if !strings.HasPrefix(path, l.Root+"/") {
			path = l.Path(path)
		}
		f := role.File{Path: path, Content: contents[i], Mode: "0644"}
		replaced := false
		for j := range r.Files {
			if r.Files[j].Path == path {
				r.Files[j], replaced = f, true
			}
		}
		if !replaced {
			r.Files = append(append([]role.File(nil), r.Files...), f)
		}
		if svc := reloadService(d.Reload, r.Services); svc != "" {
			reloads[path] = svc
		}
	}
	b, err := json.Marshal(r)
	if err != nil {
		return hostInputs{}, fmt.Errorf("machine %s: encode role: %w", name, err)
	}
	return hostInputs{role: string(b), reloads: reloads}, nil
}

// reloadService maps a cloud Reload command to the local service that
// gets SIGHUP: the service whose name is the basename of a word of the
// command ("/usr/sbin/nginx -s reload", "systemctl reload nginx"). With
// no match, a change of the file restarts the services that depend on it.
func reloadService(cmd string, svcs []role.Service) string {
	for _, w := range strings.Fields(cmd) {
		for _, s := range svcs {
			if filepath.Base(w) == s.Name {
				return s.Name
			}
		}
	}
	return ""
}

// SecretType is the token of the provider's random secret.
const SecretType = "cloudlabs:local:Secret"

// randomSecret is the program's view of a cloudlabs:local:Secret.
type randomSecret struct {
	pulumi.CustomResourceState

	Value pulumi.StringOutput `pulumi:"value"`
}

// RandomSecret makes a random secret with the project's own provider: the
// twin needs no random provider plugin.
func (p *Platform) RandomSecret(ctx *pulumi.Context, name string, length int, opts ...pulumi.ResourceOption) (pulumi.StringOutput, error) {
	s := &randomSecret{}
	if err := ctx.RegisterResource(SecretType, name, pulumi.Map{"length": pulumi.Int(length)}, s, opts...); err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("local secret %s: %w", name, err)
	}
	return pulumi.ToSecret(s.Value).(pulumi.StringOutput), nil
}
