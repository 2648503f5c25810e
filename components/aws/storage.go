package aws

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/platform"
)

// The database's engine and size: the smallest Graviton class, PostgreSQL
// 16 (RDS picks the newest minor version and upgrades minor versions in
// the maintenance window).
const (
	DBEngine        = "postgres"
	DBEngineVersion = "16"
	DBFamily        = "postgres16"
	DBClass         = "db.t4g.micro"
	DBStorageGB     = 20 // gp3's minimum for PostgreSQL
	DBStorageType   = "gp3"
	DBPort          = 5432
)

// The database subnets: private (no route out), one in the machines' zone
// and one in a second zone, because an RDS subnet group must span two.
// The machines' subnet (SubnetCIDR) is left as it is.
var DBSubnetCIDRs = [2]string{"10.42.2.0/24", "10.42.3.0/24"}

// dbNetwork is what every database of the stack shares.
type dbNetwork struct {
	subnets [2]*ec2.Subnet
	group   *rds.SubnetGroup
}

// DataBucket makes a private bucket for the apps' data: SSE-S3, all four
// public access blocks, ACLs off, plain HTTP refused. Machines reach it
// with their instance role (MachineArgs.Buckets), so it has no keys.
func (p *Platform) DataBucket(ctx *pulumi.Context, name string, args platform.BucketArgs, opts ...pulumi.ResourceOption) (*platform.Bucket, error) {
	b, err := s3.NewBucketV2(ctx, name, &s3.BucketV2Args{
		BucketPrefix: pulumi.String(bucketPrefix(p.s.Project+"-"+p.s.Stack, name)),
		// A lab's data goes with its stack (README: "Data and destroy").
		ForceDestroy: pulumi.Bool(true),
		Tags:         p.dataBucketTags(name),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", name, err)
	}
	pab, err := s3.NewBucketPublicAccessBlock(ctx, name+"-public-access", &s3.BucketPublicAccessBlockArgs{
		Bucket:                b.ID(),
		BlockPublicAcls:       pulumi.Bool(true),
		IgnorePublicAcls:      pulumi.Bool(true),
		BlockPublicPolicy:     pulumi.Bool(true),
		RestrictPublicBuckets: pulumi.Bool(true),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("bucket %s: public access block: %w", name, err)
	}
	if _, err := s3.NewBucketOwnershipControls(ctx, name+"-ownership", &s3.BucketOwnershipControlsArgs{
		Bucket: b.ID(),
		Rule:   &s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")},
	}, opts...); err != nil {
		return nil, fmt.Errorf("bucket %s: ownership: %w", name, err)
	}
	if _, err := s3.NewBucketServerSideEncryptionConfigurationV2(ctx, name+"-encryption", &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: b.ID(),
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{&s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
			ApplyServerSideEncryptionByDefault: &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
				SseAlgorithm: pulumi.String("AES256"),
			},
		}},
	}, opts...); err != nil {
		return nil, fmt.Errorf("bucket %s: encryption: %w", name, err)
	}
	doc := b.Arn.ApplyT(denyPlainHTTPPolicy).(pulumi.StringOutput)
	if _, err := s3.NewBucketPolicy(ctx, name+"-policy", &s3.BucketPolicyArgs{
		Bucket: b.ID(),
		Policy: doc,
	}, append(slices.Clone(opts), pulumi.DependsOn([]pulumi.Resource{pab}))...); err != nil {
		return nil, fmt.Errorf("bucket %s: policy: %w", name, err)
	}
	empty := pulumi.String("").ToStringOutput()
	out := &platform.Bucket{
		Name:      b.Bucket,
		Endpoint:  empty,
		Region:    pulumi.String(p.region).ToStringOutput(),
		AccessKey: empty,
		SecretKey: pulumi.ToSecret(empty).(pulumi.StringOutput),
		Resource:  b,
	}
	p.dataBuckets[out] = b
	return out, nil
}

// DataBucketTag marks the apps' data buckets (not the artifact bucket):
// `labctl cost` prices their storage.
const DataBucketTag = "cloudlabs:bucket"

func (p *Platform) dataBucketTags(name string) pulumi.StringMap {
	t := p.tags(name)
	t[DataBucketTag] = pulumi.String(name)
	return t
}

// denyPlainHTTPPolicy is the data bucket's policy: it grants nothing (the
// machines' roles do) and refuses unencrypted requests.
func denyPlainHTTPPolicy(bucketARN string) (string, error) {
	doc := map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Sid": "DenyPlainHTTP", "Effect": "Deny", "Principal": "*", "Action": []string{"s3:*"},
			"Resource":  []string{bucketARN, bucketARN + "/*"},
			"Condition": map[string]any{"Bool": map[string]string{"aws:SecureTransport": "false"}},
		}},
	}
	b, err := json.Marshal(doc)
	return string(b), err
}

// pgName is what RDS accepts as a database name and master user name.
var pgName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// reservedUsers are master user names RDS for PostgreSQL refuses.
var reservedUsers = map[string]bool{"rdsadmin": true, "rdsrepladmin": true, "rds_superuser": true}

// checkDatabase validates the args before anything is created.
func checkDatabase(args platform.DatabaseArgs) error {
	if !pgName.MatchString(args.Name) {
		return fmt.Errorf("name %q: want a lowercase letter, then up to 62 lowercase letters, digits or _", args.Name)
	}
	if !pgName.MatchString(args.User) || reservedUsers[args.User] {
		return fmt.Errorf("user %q: want a lowercase letter, then up to 62 lowercase letters, digits or _, not an RDS reserved name", args.User)
	}
	if len(args.Groups) == 0 {
		return fmt.Errorf("no client groups: a database nothing may reach is a mistake")
	}
	seen := map[string]bool{}
	for _, g := range args.Groups {
		if !groupRE.MatchString(g) || seen[g] {
			return fmt.Errorf("client group %q: want distinct lowercase names of letters, digits and hyphens", g)
		}
		seen[g] = true
	}
	return nil
}

// Database makes an RDS PostgreSQL instance in two private subnets, with
// a security group of its own that admits 5432 from args.Groups only.
func (p *Platform) Database(ctx *pulumi.Context, name string, args platform.DatabaseArgs, opts ...pulumi.ResourceOption) (*platform.Database, error) {
	if err := checkDatabase(args); err != nil {
		return nil, fmt.Errorf("database %s: %w", name, err)
	}
	dbNet, err := p.databaseNetwork(ctx)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", name, err)
	}
	// Not a firewall group: Allow can never open it, to a CIDR or to
	// anything else.
	sg, err := ec2.NewSecurityGroup(ctx, name+"-pg-sg", &ec2.SecurityGroupArgs{
		VpcId:       p.net.vpc.ID(),
		Description: pulumi.String("cloudlabs " + name + " PostgreSQL"),
		Tags:        p.tags(name + "-pg"),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("database %s: security group: %w", name, err)
	}
	for _, g := range args.Groups {
		from, err := p.group(ctx, g)
		if err != nil {
			return nil, fmt.Errorf("database %s: %w", name, err)
		}
		rname := fmt.Sprintf("%s-from-%s-%d", name, g, DBPort)
		if _, err := vpc.NewSecurityGroupIngressRule(ctx, rname, &vpc.SecurityGroupIngressRuleArgs{
			SecurityGroupId:           sg.ID(),
			IpProtocol:                pulumi.String("tcp"),
			FromPort:                  pulumi.Int(DBPort),
			ToPort:                    pulumi.Int(DBPort),
			ReferencedSecurityGroupId: from.ID(),
			Description:               pulumi.String(description("PostgreSQL clients: the " + g + " machines")),
			Tags:                      p.tags(rname),
		}, opts...); err != nil {
			return nil, fmt.Errorf("database %s: rule from %s: %w", name, g, err)
		}
	}
	// Clients must use TLS. PostgreSQL 15 and later on RDS default to it
	// already; an explicit group keeps it so whatever the default becomes.
	params, err := rds.NewParameterGroup(ctx, name+"-params", &rds.ParameterGroupArgs{
		Family:      pulumi.String(DBFamily),
		Description: pulumi.String("cloudlabs " + name + ": TLS required"),
		Parameters: rds.ParameterGroupParameterArray{&rds.ParameterGroupParameterArgs{
			Name: pulumi.String("rds.force_ssl"), Value: pulumi.String("1"),
		}},
		Tags: p.tags(name + "-params"),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("database %s: parameter group: %w", name, err)
	}
	password, err := p.RandomSecret(ctx, name+"-password", 32, opts...)
	if err != nil {
		return nil, fmt.Errorf("database %s: password: %w", name, err)
	}
	password = pulumi.ToSecret(password).(pulumi.StringOutput)
	inst, err := rds.NewInstance(ctx, name, &rds.InstanceArgs{
		Engine:              pulumi.String(DBEngine),
		EngineVersion:       pulumi.String(DBEngineVersion),
		InstanceClass:       pulumi.String(DBClass),
		AllocatedStorage:    pulumi.Int(DBStorageGB),
		StorageType:         pulumi.String(DBStorageType),
		StorageEncrypted:    pulumi.Bool(true),
		DbName:              pulumi.String(args.Name),
		Username:            pulumi.String(args.User),
		Password:            password,
		Port:                pulumi.Int(DBPort),
		DbSubnetGroupName:   dbNet.group.Name,
		VpcSecurityGroupIds: pulumi.StringArray{sg.ID()},
		ParameterGroupName:  params.Name,
		PubliclyAccessible:  pulumi.Bool(false),
		// The machines' zone: no cross-zone traffic to pay for.
		AvailabilityZone: pulumi.String(p.zone),
		MultiAz:          pulumi.Bool(false),
		// A lab is destroyed between sessions; its data goes with it
		// (README: "Data and destroy").
		SkipFinalSnapshot:       pulumi.Bool(true),
		DeletionProtection:      pulumi.Bool(false),
		BackupRetentionPeriod:   pulumi.Int(1),
		AutoMinorVersionUpgrade: pulumi.Bool(true),
		ApplyImmediately:        pulumi.Bool(true),
		CopyTagsToSnapshot:      pulumi.Bool(true),
		Tags:                    p.tags(name),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("database %s: instance: %w", name, err)
	}
	return &platform.Database{
		Host:     inst.Address,
		Port:     DBPort,
		Name:     args.Name,
		User:     args.User,
		Password: password,
		SSLMode:  "require",
		Resource: inst,
	}, nil
}

// databaseNetwork makes the two private database subnets and their RDS
// subnet group once per stack. Nothing existing changes: the machines'
// subnet, its route table and the instances stay as they are.
func (p *Platform) databaseNetwork(ctx *pulumi.Context) (*dbNetwork, error) {
	if p.dbNet != nil {
		return p.dbNet, nil
	}
	second, err := p.secondZone(ctx)
	if err != nil {
		return nil, err
	}
	n := &dbNetwork{}
	for i, zone := range []string{p.zone, second} {
		suffix := string(rune('a' + i))
		n.subnets[i], err = ec2.NewSubnet(ctx, "db-subnet-"+suffix, &ec2.SubnetArgs{
			VpcId:               p.net.vpc.ID(),
			CidrBlock:           pulumi.String(DBSubnetCIDRs[i]),
			AvailabilityZone:    pulumi.String(zone),
			MapPublicIpOnLaunch: pulumi.Bool(false),
			Tags:                p.tags("db-" + suffix),
		}, p.own()...)
		if err != nil {
			return nil, fmt.Errorf("database subnet in %s: %w", zone, err)
		}
	}
	n.group, err = rds.NewSubnetGroup(ctx, "db-subnets", &rds.SubnetGroupArgs{
		Description: pulumi.String("cloudlabs " + p.s.Project + "/" + p.s.Stack + " databases: private subnets in two zones"),
		SubnetIds:   pulumi.StringArray{n.subnets[0].ID(), n.subnets[1].ID()},
		Tags:        p.tags("db-subnets"),
	}, p.own()...)
	if err != nil {
		return nil, fmt.Errorf("database subnet group: %w", err)
	}
	p.dbNet = n
	return n, nil
}

// secondZone is the region's first zone, other than the machines', that
// needs no opt-in.
func (p *Platform) secondZone(ctx *pulumi.Context) (string, error) {
	zs, err := aws.GetAvailabilityZones(ctx, &aws.GetAvailabilityZonesArgs{
		State:   pulumi.StringRef("available"),
		Filters: []aws.GetAvailabilityZonesFilter{{Name: "opt-in-status", Values: []string{"opt-in-not-required"}}},
	})
	if err != nil {
		return "", fmt.Errorf("availability zones of %s: %w", p.region, err)
	}
	names := append([]string(nil), zs.Names...)
	sort.Strings(names)
	for _, z := range names {
		if z != p.zone {
			return z, nil
		}
	}
	return "", fmt.Errorf("region %s has no available zone besides %s: an RDS subnet group needs two", p.region, p.zone)
}
