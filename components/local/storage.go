package local

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/system"
	"github.com/cloudlabs/cloudlabs/templates"
)

// Ports of the twin's storage hosts.
const (
	S3Port       = 7070
	PostgresPort = 5432
)

// DataBucket makes a twin host running versitygw (an S3 gateway over a
// folder of its Disk) with keys of its own; the bucket itself is made by
// its first user (the gallery's --create-bucket).
func (p *Platform) DataBucket(ctx *pulumi.Context, name string, args platform.BucketArgs, opts ...pulumi.ResourceOption) (*platform.Bucket, error) {
	exe, err := system.Tool("versitygw")
	if err != nil {
		return nil, fmt.Errorf("bucket %s: the twin's S3 gateway: %w", name, err)
	}
	access, err := p.RandomSecret(ctx, name+"-access-key", 20, opts...)
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", name, err)
	}
	secret, err := p.RandomSecret(ctx, name+"-secret-key", 40, opts...)
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", name, err)
	}
	envSecret := name + "-keys"
	m, err := p.Machine(ctx, name, platform.MachineArgs{
		Group: name, Size: "small", Stateful: true,
		Role:    platform.ConstRole(S3Role(p.Layout(name), exe, envSecret)),
		Secrets: map[string]pulumi.StringOutput{envSecret: pulumi.Sprintf("ROOT_ACCESS_KEY_ID=%s\nROOT_SECRET_ACCESS_KEY=%s\n", access, secret)},
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", name, err)
	}
	b := &platform.Bucket{
		Name:      pulumi.String(name).ToStringOutput(),
		Endpoint:  pulumi.Sprintf("http://%s:%d", m.PrivateIP, S3Port),
		Region:    pulumi.String("us-east-1").ToStringOutput(),
		AccessKey: access, SecretKey: secret,
		Resource: m.Resource,
	}
	if p.buckets == nil {
		p.buckets = map[*platform.Bucket]string{}
	}
	p.buckets[b] = name
	return b, nil
}

// allowBuckets lets a machine reach the gateway of every bucket it names
// (a rule per machine group and bucket, as on a cloud the bucket policy
// names the machine's role).
func (p *Platform) allowBuckets(ctx *pulumi.Context, machine string, args platform.MachineArgs, opts []pulumi.ResourceOption) error {
	for _, b := range args.Buckets {
		gw, ok := p.buckets[b]
		if !ok {
			return fmt.Errorf("local host %s: a bucket this platform did not make", machine)
		}
		if err := p.Allow(ctx, gw+"-from-"+machine, platform.Rule{To: gw, From: args.Group, Ports: []platform.PortRange{platform.Port(S3Port)},
			Why: machine + " reads and writes the bucket"}, opts...); err != nil {
			return fmt.Errorf("local host %s: %w", machine, err)
		}
	}
	return nil
}

// s3Data is where the gateway keeps the buckets: a Data folder, so the
// images outlive a replaced host.
const s3Data = "/var/lib/cloudlabs/s3"

// S3Role is the twin's S3 gateway: versitygw's posix backend, its root
// keys from an environment file.
func S3Role(l platform.Layout, exe, envSecret string) role.Role {
	env := l.Path("/etc/cloudlabs/s3.env")
	return role.Role{
		Name:    "s3",
		Data:    []string{l.Path(s3Data)},
		Secrets: []role.SecretFile{{Name: envSecret, Path: env, Mode: "0600"}},
		Services: []role.Service{{
			Name: "versitygw", Exec: exe, EnvFile: env,
			Args: []string{"--port", joinHostPort(l.Bind, S3Port), "--quiet", "posix", l.Path(s3Data)},
			Port: S3Port,
		}},
	}
}

// Database makes a twin host running Debian's PostgreSQL: a private
// cluster made with initdb in the host's Disk at its first start (never
// the system's own cluster), password authentication, the database and
// its owner made then.
func (p *Platform) Database(ctx *pulumi.Context, name string, args platform.DatabaseArgs, opts ...pulumi.ResourceOption) (*platform.Database, error) {
	bin, err := postgresBin()
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", name, err)
	}
	password, err := p.RandomSecret(ctx, name+"-password", 32, opts...)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", name, err)
	}
	pwSecret := name + "-password"
	r, err := PostgresRole(p.Layout(name), bin, args.Name, args.User, pwSecret)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", name, err)
	}
	m, err := p.Machine(ctx, name, platform.MachineArgs{
		Group: name, Size: "small", Stateful: true, Role: platform.ConstRole(r),
		Secrets: map[string]pulumi.StringOutput{pwSecret: password},
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", name, err)
	}
	for _, g := range args.Groups {
		if err := p.Allow(ctx, name+"-from-"+g, platform.Rule{To: name, From: g, Ports: []platform.PortRange{platform.Port(PostgresPort)},
			Why: g + " keeps its state in the database"}, opts...); err != nil {
			return nil, fmt.Errorf("database %s: %w", name, err)
		}
	}
	return &platform.Database{Host: m.PrivateIP, Port: PostgresPort, Name: args.Name, User: args.User,
		Password: password, SSLMode: "disable", Resource: m.Resource}, nil
}

// postgresBin is the newest installed PostgreSQL's bin folder.
func postgresBin() (string, error) {
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(found) == 0 {
		return "", fmt.Errorf("PostgreSQL not found in /usr/lib/postgresql: install it with apt-get install -y postgresql")
	}
	slices.SortFunc(found, func(a, b string) int { return version(a) - version(b) })
	return filepath.Dir(found[len(found)-1]), nil
}

func version(path string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return n
}

const pgData = "/var/lib/cloudlabs/postgres"

// PostgresRole is the twin's PostgreSQL host. The start script makes the
// cluster on the first start (as the postgres user when run by root: the
// server refuses root) and then runs the server in the foreground.
func PostgresRole(l platform.Layout, bin, dbName, user, pwSecret string) (role.Role, error) {
	script, err := renderPostgresStart(bin)
	if err != nil {
		return role.Role{}, err
	}
	start, hba, pw := l.Path("/usr/local/sbin/cloudlabs-postgres"), l.Path("/etc/cloudlabs/pg_hba.conf"), l.Path("/etc/cloudlabs/postgres-password")
	return role.Role{
		Name: "postgres",
		Data: []string{l.Path(pgData)},
		Files: []role.File{
			{Path: start, Content: script, Mode: "0755"},
			// Any address may try; the password decides, and the platform's
			// rules decide who can reach the port.
			{Path: hba, Content: "# cloudlabs twin database\nhost all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n", Mode: "0644"},
		},
		Secrets: []role.SecretFile{{Name: pwSecret, Path: pw, Mode: "0600"}},
		Services: []role.Service{{
			Name: "postgres", Exec: start,
			Args: []string{l.Path(pgData) + "/cluster", pw, hba, l.Bind, strconv.Itoa(PostgresPort), user, dbName},
			Port: PostgresPort,
		}},
	}, nil
}

// joinHostPort joins a host and a port.
func joinHostPort(host string, port int) string { return host + ":" + strconv.Itoa(port) }

// renderPostgresStart renders the start script for the PostgreSQL in bin.
func renderPostgresStart(bin string) (string, error) {
	return templates.Render("postgres-start.sh.tmpl", map[string]any{"Bin": bin})
}
