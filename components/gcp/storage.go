package gcp

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/compute"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/serviceaccount"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/servicenetworking"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/sql"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/storage"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/platform"
)

// How the apps reach a data bucket: GCS's S3-interoperable XML API.
const (
	S3Endpoint = "https://storage.googleapis.com"
	S3Region   = "auto"
	// BucketRole is what the bucket's own account holds on it, and only on it.
	BucketRole = "roles/storage.objectAdmin"
)

// The database's engine and size: PostgreSQL 16 on the smallest
// shared-core tier, which only the Enterprise edition offers (new
// PostgreSQL 16 instances default to Enterprise Plus).
const (
	DBVersion  = "POSTGRES_16"
	DBTier     = "db-f1-micro"
	DBEdition  = "ENTERPRISE"
	DBDiskType = "PD_SSD"
	DBDiskGB   = 10 // Cloud SQL's minimum
	DBPort     = 5432
)

// DBRange is the block reserved for Google's managed services (private
// services access) in the stack's network: Cloud SQL's private addresses
// come from it. Beside the machines' subnet, inside the stack's 10.42/16.
const (
	DBRangeAddress = "10.42.16.0"
	DBRangeBits    = 20
)

// dbNetwork is the private services access every database of the stack
// shares, and the rule that keeps machines away from it.
type dbNetwork struct {
	rangeCIDR  string
	connection *servicenetworking.Connection
}

// DataBucket makes a private bucket for the apps' data (uniform access,
// public access prevention enforced, encrypted at rest by Google) and an
// HMAC key of a service account of its own, which holds objectAdmin on
// this bucket alone: the apps speak S3 to it with that key.
func (p *Platform) DataBucket(ctx *pulumi.Context, name string, args platform.BucketArgs, opts ...pulumi.ResourceOption) (*platform.Bucket, error) {
	b, err := storage.NewBucket(ctx, name, &storage.BucketArgs{
		Location:                 pulumi.String(p.s.Region),
		UniformBucketLevelAccess: pulumi.Bool(true),
		PublicAccessPrevention:   pulumi.String("enforced"),
		// A lab's data goes with its stack (README: "Data and destroy"),
		// and deleted images are not kept (and billed) for seven days.
		ForceDestroy:     pulumi.Bool(true),
		SoftDeletePolicy: &storage.BucketSoftDeletePolicyArgs{RetentionDurationSeconds: pulumi.Int(0)},
		Labels:           p.labels("cloudlabs-bucket", name),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", name, err)
	}
	acct, err := serviceaccount.NewAccount(ctx, name+"-sa", &serviceaccount.AccountArgs{
		AccountId:   pulumi.String(BucketAccountID(p.s.Project, p.s.Stack, name)),
		DisplayName: pulumi.Sprintf("cloudlabs %s/%s bucket %s", p.s.Project, p.s.Stack, name),
		Description: pulumi.String("Holds the HMAC key of bucket " + name + "; objectAdmin on that bucket, nothing else."),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("bucket %s: service account: %w", name, err)
	}
	grant, err := storage.NewBucketIAMMember(ctx, name+"-object-admin", &storage.BucketIAMMemberArgs{
		Bucket: b.Name,
		Role:   pulumi.String(BucketRole),
		Member: pulumi.Sprintf("serviceAccount:%s", acct.Email),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("bucket %s: grant: %w", name, err)
	}
	key, err := storage.NewHmacKey(ctx, name+"-hmac", &storage.HmacKeyArgs{
		ServiceAccountEmail: acct.Email,
	}, append(slices.Clone(opts), pulumi.DependsOn([]pulumi.Resource{grant}))...)
	if err != nil {
		return nil, fmt.Errorf("bucket %s: HMAC key: %w", name, err)
	}
	out := &platform.Bucket{
		Name:      b.Name,
		Endpoint:  pulumi.String(S3Endpoint).ToStringOutput(),
		Region:    pulumi.String(S3Region).ToStringOutput(),
		AccessKey: key.AccessId,
		SecretKey: pulumi.ToSecret(key.Secret).(pulumi.StringOutput),
		Resource:  b,
	}
	p.dataBuckets[out] = true
	return out, nil
}

// pgName is a PostgreSQL database or role name the apps can use unquoted.
var pgName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// reservedUsers are Cloud SQL's own roles.
var reservedUsers = map[string]bool{"postgres": true, "cloudsqlsuperuser": true, "cloudsqladmin": true}

func checkDatabase(args platform.DatabaseArgs) error {
	if !pgName.MatchString(args.Name) {
		return fmt.Errorf("name %q: want a lowercase letter, then up to 62 lowercase letters, digits or _", args.Name)
	}
	if !pgName.MatchString(args.User) || reservedUsers[args.User] {
		return fmt.Errorf("user %q: want a lowercase letter, then up to 62 lowercase letters, digits or _, not a Cloud SQL role", args.User)
	}
	if len(args.Groups) == 0 {
		return fmt.Errorf("no client groups: a database nothing may reach is a mistake")
	}
	seen := map[string]bool{}
	for _, g := range args.Groups {
		if _, err := groupTag(g); err != nil || seen[g] {
			return fmt.Errorf("client group %q: want distinct valid group names", g)
		}
		seen[g] = true
	}
	return nil
}

// Database makes a Cloud SQL PostgreSQL instance with a private address
// only, in the stack's network through private services access; TLS is
// required. Inside the network, egress firewall rules let only the
// machines of args.Groups reach it.
func (p *Platform) Database(ctx *pulumi.Context, name string, args platform.DatabaseArgs, opts ...pulumi.ResourceOption) (*platform.Database, error) {
	if err := checkDatabase(args); err != nil {
		return nil, fmt.Errorf("database %s: %w", name, err)
	}
	n, err := p.databaseNetwork(ctx)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", name, err)
	}
	inst, err := sql.NewDatabaseInstance(ctx, name, &sql.DatabaseInstanceArgs{
		DatabaseVersion: pulumi.String(DBVersion),
		Region:          pulumi.String(p.s.Region),
		// A lab is destroyed between sessions (README: "Data and destroy").
		DeletionProtection: pulumi.Bool(false),
		Settings: &sql.DatabaseInstanceSettingsArgs{
			Tier:                      pulumi.String(DBTier),
			Edition:                   pulumi.String(DBEdition),
			AvailabilityType:          pulumi.String("ZONAL"),
			DiskType:                  pulumi.String(DBDiskType),
			DiskSize:                  pulumi.Int(DBDiskGB),
			DiskAutoresize:            pulumi.Bool(false),
			DeletionProtectionEnabled: pulumi.Bool(false),
			// The machines' zone: no cross-zone traffic.
			LocationPreference: &sql.DatabaseInstanceSettingsLocationPreferenceArgs{Zone: pulumi.String(p.s.Zone)},
			IpConfiguration: &sql.DatabaseInstanceSettingsIpConfigurationArgs{
				Ipv4Enabled:    pulumi.Bool(false),
				PrivateNetwork: p.network.ID(),
				SslMode:        pulumi.String("ENCRYPTED_ONLY"),
			},
			UserLabels: p.labels("cloudlabs-database", name),
		},
	}, append(slices.Clone(opts), pulumi.DependsOn([]pulumi.Resource{n.connection}))...)
	if err != nil {
		return nil, fmt.Errorf("database %s: instance: %w", name, err)
	}
	// ABANDON: PostgreSQL refuses to drop a database or role that still
	// owns objects; deleting the instance removes both anyway.
	db, err := sql.NewDatabase(ctx, name+"-db", &sql.DatabaseArgs{
		Instance:       inst.Name,
		Name:           pulumi.String(args.Name),
		DeletionPolicy: pulumi.String("ABANDON"),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("database %s: database: %w", name, err)
	}
	password, err := p.RandomSecret(ctx, name+"-password", 32, opts...)
	if err != nil {
		return nil, fmt.Errorf("database %s: password: %w", name, err)
	}
	password = pulumi.ToSecret(password).(pulumi.StringOutput)
	user, err := sql.NewUser(ctx, name+"-user", &sql.UserArgs{
		Instance:       inst.Name,
		Name:           pulumi.String(args.User),
		Password:       password,
		DeletionPolicy: pulumi.String("ABANDON"),
		// After the database: Database.Resource (the user) then stands
		// for both.
	}, append(slices.Clone(opts), pulumi.DependsOn([]pulumi.Resource{db}))...)
	if err != nil {
		return nil, fmt.Errorf("database %s: user: %w", name, err)
	}
	var tags pulumi.StringArray
	for _, g := range args.Groups {
		tags = append(tags, pulumi.String(g))
	}
	// Above the stack's deny of the whole range: the clients, to this
	// instance's address, on its port.
	if _, err := compute.NewFirewall(ctx, name+"-clients", &compute.FirewallArgs{
		Network:           p.network.ID(),
		Description:       pulumi.String("cloudlabs: the " + name + " database's clients reach it on 5432"),
		Direction:         pulumi.String("EGRESS"),
		Priority:          pulumi.Int(900),
		TargetTags:        tags,
		DestinationRanges: pulumi.StringArray{pulumi.Sprintf("%s/32", inst.PrivateIpAddress)},
		Allows:            compute.FirewallAllowArray{&compute.FirewallAllowArgs{Protocol: pulumi.String("tcp"), Ports: pulumi.StringArray{pulumi.Sprintf("%d", DBPort)}}},
	}, opts...); err != nil {
		return nil, fmt.Errorf("database %s: client rule: %w", name, err)
	}
	return &platform.Database{
		Host:     inst.PrivateIpAddress,
		Port:     DBPort,
		Name:     args.Name,
		User:     args.User,
		Password: password,
		SSLMode:  "require",
		Resource: user,
	}, nil
}

// databaseNetwork makes private services access for the stack once: a
// reserved range in the stack's network, peered with Google's service
// producer network, and an egress rule denying every machine that range
// (each database then allows its own clients).
func (p *Platform) databaseNetwork(ctx *pulumi.Context) (*dbNetwork, error) {
	if p.db != nil {
		return p.db, nil
	}
	addr, err := compute.NewGlobalAddress(ctx, "db-range", &compute.GlobalAddressArgs{
		Description:  pulumi.Sprintf("cloudlabs %s/%s: private services access (Cloud SQL)", p.s.Project, p.s.Stack),
		Purpose:      pulumi.String("VPC_PEERING"),
		AddressType:  pulumi.String("INTERNAL"),
		Address:      pulumi.String(DBRangeAddress),
		PrefixLength: pulumi.Int(DBRangeBits),
		Network:      p.network.ID(),
	}, p.opts()...)
	if err != nil {
		return nil, fmt.Errorf("private services range: %w", err)
	}
	conn, err := servicenetworking.NewConnection(ctx, "db-peering", &servicenetworking.ConnectionArgs{
		Network:               p.network.ID(),
		Service:               pulumi.String("servicenetworking.googleapis.com"),
		ReservedPeeringRanges: pulumi.StringArray{addr.Name},
	}, p.opts()...)
	if err != nil {
		return nil, fmt.Errorf("private services connection: %w", err)
	}
	cidr := fmt.Sprintf("%s/%d", DBRangeAddress, DBRangeBits)
	if _, err := compute.NewFirewall(ctx, "db-range-deny", &compute.FirewallArgs{
		Network:           p.network.ID(),
		Description:       pulumi.String("cloudlabs: no machine reaches the databases' range but the clients a database allows"),
		Direction:         pulumi.String("EGRESS"),
		Priority:          pulumi.Int(1000),
		DestinationRanges: pulumi.StringArray{pulumi.String(cidr)},
		Denies:            compute.FirewallDenyArray{&compute.FirewallDenyArgs{Protocol: pulumi.String("all")}},
	}, p.opts()...); err != nil {
		return nil, fmt.Errorf("databases' range firewall: %w", err)
	}
	p.db = &dbNetwork{rangeCIDR: cidr, connection: conn}
	return p.db, nil
}
