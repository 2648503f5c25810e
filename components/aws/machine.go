package aws

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/machine/cloudinit"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
)

// Root volume sizes in GiB: the Ubuntu image's own 8 GiB for machines
// that keep nothing, room for data on Stateful ones.
const (
	RootGiB     = 8
	StatefulGiB = 20
)

// UbuntuOwner is Canonical's AWS account, the only owner whose Ubuntu
// images are trusted.
const UbuntuOwner = "099720109477"

// Machine creates an EC2 instance in the machine's group, booting its
// role as cloud-init user data. Every instance has a public address for
// outbound traffic; Public machines also get an Elastic IP that survives
// their replacement.
func (p *Platform) Machine(ctx *pulumi.Context, name string, args platform.MachineArgs, opts ...pulumi.ResourceOption) (*platform.Machine, error) {
	itype := p.InstanceType(args.Size)
	if itype == "" {
		return nil, fmt.Errorf("machine %s: size %q; allowed: %s", name, args.Size, strings.Join(platform.Sizes, ", "))
	}
	objs, err := dynamicObjects(name, args.Dynamic)
	if err != nil {
		return nil, fmt.Errorf("machine %s: %w", name, err)
	}
	secretNames, err := platform.SecretNames(name, args.Secrets)
	if err != nil {
		return nil, err
	}
	sg, err := p.group(ctx, args.Group)
	if err != nil {
		return nil, fmt.Errorf("machine %s: %w", name, err)
	}
	grants, err := p.machineGrants(ctx, name, args)
	if err != nil {
		return nil, err
	}
	if err := p.guard.Machine(name, args); err != nil {
		return nil, err
	}
	ami, err := p.ami(ctx)
	if err != nil {
		return nil, fmt.Errorf("machine %s: %w", name, err)
	}
	// Dynamic files are objects the machine polls: their content never
	// enters the user data, so a new upstream list updates an object, not
	// the machine.
	deps := slices.Clone(p.ready)
	for i, d := range args.Dynamic {
		obj, err := s3.NewBucketObjectv2(ctx, name+"-"+objs[i].base, &s3.BucketObjectv2Args{
			Bucket:      p.bucket.Bucket,
			Key:         pulumi.String(objs[i].key),
			Content:     d.Content,
			ContentType: pulumi.String("text/plain"),
			Tags:        p.tags(name + "-" + objs[i].base),
		}, opts...)
		if err != nil {
			return nil, fmt.Errorf("machine %s: dynamic file %s: %w", name, d.Path, err)
		}
		deps = append(deps, obj)
	}
	// Secrets are parameters the machine reads with a role of its own; the
	// user data names them, never holds them. The same role carries the
	// machine's grants (buckets, control of a group, metrics).
	var profile pulumi.StringInput
	secretIDs := map[string]string{}
	if len(secretNames) > 0 || len(grants) > 0 {
		params := make([]*ssm.Parameter, len(secretNames))
		for i, s := range secretNames {
			if params[i], err = p.parameter(ctx, s, args.Secrets[s]); err != nil {
				return nil, fmt.Errorf("machine %s: %w", name, err)
			}
			secretIDs[s] = ParameterName(p.s.Project, p.s.Stack, s)
		}
		id, err := p.machineIdentity(ctx, name, params, grants, opts)
		if err != nil {
			return nil, err
		}
		profile = id.profile.Name
		deps = append(deps, id.ready...)
	}
	sshKey := p.s.SSHPublicKey
	region := p.region
	userData := pulumi.All(args.Role, p.bucket.Bucket).ApplyT(func(v []any) (string, error) {
		r, ok := v[0].(role.Role)
		if !ok {
			return "", fmt.Errorf("machine %s: role output holds %T, want role.Role", name, v[0])
		}
		if err := platform.MatchSecrets(name, r, secretNames); err != nil {
			return "", err
		}
		r = withSyncs(r)
		for i, d := range args.Dynamic {
			if err := cloudinit.AddSync(&r, objs[i].name, p.objectURL(v[1].(string), objs[i].key), d.Path, d.Reload); err != nil {
				return "", fmt.Errorf("machine %s: sync %s: %w", name, d.Path, err)
			}
		}
		ud, err := cloudinit.Render(r, cloudinit.Options{Platform: "aws", SSHKey: sshKey, SecretIDs: secretIDs, Region: region})
		if err != nil {
			return "", fmt.Errorf("machine %s: %w", name, err)
		}
		return ud, nil
	}).(pulumi.StringOutput)

	gib := RootGiB
	if args.Stateful {
		gib = StatefulGiB
	}
	iopts := append(slices.Clone(opts), pulumi.DependsOn(deps))
	if ign := ignoredChanges(args.Stateful); len(ign) > 0 {
		iopts = append(iopts, pulumi.IgnoreChanges(ign))
	}
	inst, err := ec2.NewInstance(ctx, name, &ec2.InstanceArgs{
		Ami:                      pulumi.String(ami),
		InstanceType:             pulumi.String(itype),
		SubnetId:                 p.net.subnet.ID(),
		VpcSecurityGroupIds:      pulumi.StringArray{sg.ID()},
		AssociatePublicIpAddress: pulumi.Bool(true),
		UserData:                 userData,
		// A changed user data does not run again on a stopped and started
		// instance: stateless machines are replaced so a new binary hash
		// reaches them; stateful ones keep their data and ignore it.
		UserDataReplaceOnChange: pulumi.Bool(!args.Stateful),
		// IMDSv2 only, one hop: a process in a container or behind a
		// forwarding proxy on the machine cannot reach the metadata service.
		MetadataOptions: &ec2.InstanceMetadataOptionsArgs{
			HttpEndpoint:            pulumi.String("enabled"),
			HttpTokens:              pulumi.String("required"),
			HttpPutResponseHopLimit: pulumi.Int(1),
		},
		RootBlockDevice: &ec2.InstanceRootBlockDeviceArgs{
			VolumeType:          pulumi.String("gp3"),
			VolumeSize:          pulumi.Int(gib),
			Encrypted:           pulumi.Bool(true),
			DeleteOnTermination: pulumi.Bool(true),
			Tags:                p.tags(name + "-root"),
		},
		CreditSpecification: creditSpecification(itype),
		IamInstanceProfile:  profile,
		// The group tag is what a controller's policy matches (GroupTag).
		Tags: p.instanceTags(name, args.Group),
	}, iopts...)
	if err != nil {
		return nil, fmt.Errorf("machine %s: instance: %w", name, err)
	}
	m := &platform.Machine{
		Name:      name,
		PrivateIP: inst.PrivateIp,
		PublicIP:  pulumi.String("").ToStringOutput(),
		SSHHost:   pulumi.String("").ToStringOutput(),
		Resource:  inst,
		Handle:    pulumi.StringMap{"instance_id": inst.ID().ToStringOutput()}.ToStringMapOutput(),
	}
	sshHost := inst.PublicIp
	if args.Public {
		eip, err := ec2.NewEip(ctx, name+"-eip", &ec2.EipArgs{
			Domain:   pulumi.String("vpc"),
			Instance: inst.ID(),
			Tags:     p.tags(name + "-eip"),
		}, append(slices.Clone(opts), pulumi.DependsOn([]pulumi.Resource{p.net.igw}))...)
		if err != nil {
			return nil, fmt.Errorf("machine %s: elastic ip: %w", name, err)
		}
		m.PublicIP = eip.PublicIp
		// The instance's own public address is released when the Elastic
		// IP is associated.
		sshHost = eip.PublicIp
	}
	if p.s.SSHAllowCIDR != "" {
		m.SSHHost = sshHost
	}
	return m, nil
}

// ignoredChanges are the instance properties a later `up` must not act
// on: a stateful machine keeps its data through a new Ubuntu image or a
// changed role, and is replaced only by hand (`pulumi up --replace`).
func ignoredChanges(stateful bool) []string {
	if stateful {
		return []string{"ami", "userData"}
	}
	return nil
}

// creditSpecification keeps burstable instances (t2, t3, t3a, t4g) in
// standard credit mode: AWS launches t3 and t4g as "unlimited", where a
// load test that pins the CPU costs several times the instance's own
// hourly price. In standard mode the bill is exactly the hourly price and
// a drained machine slows down to its baseline instead.
func creditSpecification(instanceType string) ec2.InstanceCreditSpecificationPtrInput {
	if !burstableRE.MatchString(instanceType) {
		return nil
	}
	return &ec2.InstanceCreditSpecificationArgs{CpuCredits: pulumi.String("standard")}
}

var burstableRE = regexp.MustCompile(`^t[0-9]+[a-z]*\.`)

// ami is the pinned image or the latest Ubuntu 24.04 LTS for the
// architecture, looked up once per run.
func (p *Platform) ami(ctx *pulumi.Context) (string, error) {
	if p.image != "" {
		return p.image, nil
	}
	if p.s.Image != "" {
		p.image = p.s.Image
		return p.image, nil
	}
	img, err := ec2.LookupAmi(ctx, &ec2.LookupAmiArgs{
		MostRecent: pulumi.BoolRef(true),
		Owners:     []string{UbuntuOwner},
		Filters: []ec2.GetAmiFilter{
			{Name: "name", Values: []string{ubuntuImageName(p.arch)}},
		},
	})
	if err != nil {
		return "", fmt.Errorf("look up Ubuntu 24.04 %s image: %w", p.arch, err)
	}
	p.image = img.Id
	return p.image, nil
}

// ubuntuImageName is the name pattern of Canonical's Ubuntu 24.04 server
// images on gp3 SSD volumes.
func ubuntuImageName(arch string) string {
	return "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-" + arch + "-server-*"
}

// dynamicObject is where a dynamic file lives in the bucket and the sync
// service that follows it.
type dynamicObject struct {
	base string // file name, as in the object key
	name string // sync service name ("sync-<name>")
	key  string
}

// dynamicObjects names the objects and services of a machine's dynamic files.
func dynamicObjects(machine string, files []platform.DynamicFile) ([]dynamicObject, error) {
	out := make([]dynamicObject, len(files))
	seen := map[string]bool{}
	for i, f := range files {
		base := path.Base(f.Path)
		if !path.IsAbs(f.Path) || base == "/" || base == "." {
			return nil, fmt.Errorf("dynamic file %q: want an absolute file path", f.Path)
		}
		if seen[base] {
			return nil, fmt.Errorf("dynamic file %q: another dynamic file is also named %s", f.Path, base)
		}
		name := serviceWord(strings.TrimSuffix(base, path.Ext(base)))
		if seen["sync-"+name] {
			return nil, fmt.Errorf("dynamic file %q: another dynamic file's sync service is also named sync-%s", f.Path, name)
		}
		seen[base], seen["sync-"+name] = true, true
		out[i] = dynamicObject{base: base, name: name, key: DynamicPrefix + machine + "/" + base}
	}
	return out, nil
}

// serviceWord keeps a systemd-friendly name: lowercase letters, digits
// and hyphens.
func serviceWord(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	if w := strings.Trim(b.String(), "-"); w != "" {
		return w
	}
	return "file"
}

// withSyncs copies the slices AddSync appends to, so the caller's role
// value (shared by other machines' outputs) is never written through.
func withSyncs(r role.Role) role.Role {
	r.Files = slices.Clone(r.Files)
	r.Setup = slices.Clone(r.Setup)
	r.Services = slices.Clone(r.Services)
	return r
}
