package aws

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/platform"
)

// Platform realizes machines as EC2 instances in the stack's own VPC. Like
// every platform it is used from one program goroutine and is not safe for
// concurrent use.
type Platform struct {
	s      Settings
	opts   []pulumi.ResourceOption // the caller's options, for every resource the platform owns
	types  map[string]string       // size -> instance type
	arch   string
	region string
	zone   string

	net    network
	bucket *s3.BucketV2
	// ready are what a machine needs before it boots: a route out, the
	// endpoint and the bucket policy that let it fetch its artifacts.
	ready []pulumi.Resource

	image  string                        // AMI, looked up on first use
	groups map[string]*ec2.SecurityGroup // by group name, created on first use
	order  []string                      // group names in creation order
	params map[string]*ssm.Parameter     // stack secrets by name, created on first use

	account     string                            // the provider's account id, looked up on first use
	dataBuckets map[*platform.Bucket]*s3.BucketV2 // DataBucket's buckets, for MachineArgs.Buckets
	dbNet       *dbNetwork                        // the database subnets, created on first use
	guard       platform.WorldGuard
}

var _ platform.Platform = (*Platform)(nil)

// New validates s and creates the stack's network and artifact bucket.
// opts (typically pulumi.Parent) apply to every resource the platform owns;
// machines and rules take the options their own calls pass.
func New(ctx *pulumi.Context, s Settings, opts ...pulumi.ResourceOption) (*Platform, error) {
	types, arch, err := s.resolve()
	if err != nil {
		return nil, err
	}
	if s.Project == "" {
		s.Project = ctx.Project()
	}
	if s.Stack == "" {
		s.Stack = ctx.Stack()
	}
	region, err := aws.GetRegion(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("aws platform: region: %w", err)
	}
	p := &Platform{s: s, opts: opts, types: types, arch: arch, region: region.Name, groups: map[string]*ec2.SecurityGroup{},
		dataBuckets: map[*platform.Bucket]*s3.BucketV2{}, guard: platform.WorldGuard{SSH: s.SSHAllowCIDR}}
	if p.zone, err = p.pickZone(ctx); err != nil {
		return nil, err
	}
	if err := p.newNetwork(ctx); err != nil {
		return nil, err
	}
	if err := p.newBucket(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// Name is "aws".
func (*Platform) Name() string { return "aws" }

// Arch is the GOARCH of the stack's instance types.
func (p *Platform) Arch() string { return p.arch }

// Region is the provider's region the stack lives in.
func (p *Platform) Region() string { return p.region }

// Zone is the availability zone of the stack's subnet.
func (p *Platform) Zone() string { return p.zone }

// Bucket is the artifact bucket's name, for the program's outputs.
func (p *Platform) Bucket() pulumi.StringOutput { return p.bucket.Bucket }

// InstanceType is the EC2 instance type of a size ("" for an unknown
// size), for `labctl cost`.
func (p *Platform) InstanceType(size string) string {
	if size == "" {
		size = "small"
	}
	return p.types[size]
}

// Layout is the same for every machine: files at their real paths,
// services on every interface (the security groups are the barrier).
func (*Platform) Layout(string) platform.Layout {
	return platform.Layout{Bind: "0.0.0.0"}
}

// tags are every resource's tags: the stack's identity and a Name the
// console shows.
func (p *Platform) tags(name string) pulumi.StringMap {
	return pulumi.StringMap{
		"cloudlabs:project": pulumi.String(p.s.Project),
		"cloudlabs:stack":   pulumi.String(p.s.Stack),
		"Name":              pulumi.String(p.s.Project + "-" + p.s.Stack + "-" + name),
	}
}

// instanceTags are an instance's tags: the stack's identity and its group.
func (p *Platform) instanceTags(name, group string) pulumi.StringMap {
	t := p.tags(name)
	t[GroupTag] = pulumi.String(group)
	return t
}

// own are the options of a resource the platform owns, plus extra.
func (p *Platform) own(extra ...pulumi.ResourceOption) []pulumi.ResourceOption {
	return append(append([]pulumi.ResourceOption(nil), p.opts...), extra...)
}

// RandomSecret makes a random secret with the random provider.
func (p *Platform) RandomSecret(ctx *pulumi.Context, name string, length int, opts ...pulumi.ResourceOption) (pulumi.StringOutput, error) {
	return platform.CloudRandomSecret(ctx, name, length, opts...)
}
