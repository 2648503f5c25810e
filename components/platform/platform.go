// Package platform is the seam between the environments and where they run:
// components describe machines, firewall rules and artifacts against the
// Platform interface, and the aws, gcp and local packages realize them.
package platform

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/internal/machine/role"
)

// Platform realizes machines. Implementations are used from one Pulumi
// program goroutine at a time and need not be safe for concurrent use.
type Platform interface {
	// Name is "aws", "gcp" or "local".
	Name() string
	// Arch is the machines' CPU architecture as GOARCH ("amd64", "arm64"):
	// the apps are cross-compiled for it.
	Arch() string
	// Layout says where a machine's files live, so the same templates serve
	// a cloud machine (root "/") and a local host (its state folder).
	Layout(machine string) Layout
	// Publish makes a local file (an app binary) fetchable by the machines
	// and returns where they fetch it. Called once per artifact.
	Publish(ctx *pulumi.Context, a Artifact) (pulumi.StringOutput, error)
	// Machine creates one machine running its role.
	Machine(ctx *pulumi.Context, name string, args MachineArgs, opts ...pulumi.ResourceOption) (*Machine, error)
	// RandomSecret is a random secret of length letters and digits, made
	// once and kept in the stack's state (the Riak cookie, an admin token).
	RandomSecret(ctx *pulumi.Context, name string, length int, opts ...pulumi.ResourceOption) (pulumi.StringOutput, error)
	// Allow opens traffic to the machines of a group. Everything not
	// allowed is closed; SSH is opened by the platform itself when the stack
	// configures it.
	Allow(ctx *pulumi.Context, name string, rule Rule, opts ...pulumi.ResourceOption) error
	// DataBucket makes a private object-store bucket for the apps' data:
	// encrypted, never public,
	// spoken to through the S3 API (S3; GCS's S3-interoperable API; a
	// versitygw host on the twin). Machines get access by naming it in
	// MachineArgs.Buckets.
	DataBucket(ctx *pulumi.Context, name string, args BucketArgs, opts ...pulumi.ResourceOption) (*Bucket, error)
	// Database makes a PostgreSQL server with one database, reachable on
	// its port only from the machines of args.Groups (RDS; Cloud SQL; a
	// PostgreSQL host on the twin).
	Database(ctx *pulumi.Context, name string, args DatabaseArgs, opts ...pulumi.ResourceOption) (*Database, error)
}

// BucketArgs describes a bucket.
type BucketArgs struct{}

// Bucket is an object-store bucket and how its users reach it.
type Bucket struct {
	// Name is the bucket's name in the store.
	Name pulumi.StringOutput
	// Endpoint is the S3 API's base URL; "" means AWS S3 in Region.
	Endpoint pulumi.StringOutput
	Region   pulumi.StringOutput
	// AccessKey and SecretKey are static S3 keys where the machines need
	// them (GCS HMAC keys, the twin's gateway); both "" where a machine's
	// own identity grants access (an AWS instance role). SecretKey is a
	// Pulumi secret: deliver it as a role SecretFile, never in a role.
	AccessKey pulumi.StringOutput
	SecretKey pulumi.StringOutput
	// Resource is the underlying resource, for DependsOn.
	Resource pulumi.Resource
}

// DatabaseArgs describes a PostgreSQL database.
type DatabaseArgs struct {
	// Name is the database's name; User the role the apps log in as.
	Name, User string
	// Groups are the firewall groups whose machines may connect.
	Groups []string
}

// Database is a PostgreSQL database and how its users reach it.
type Database struct {
	Host pulumi.StringOutput
	Port int
	Name string
	User string
	// Password is a Pulumi secret: deliver it as a role SecretFile.
	Password pulumi.StringOutput
	// SSLMode is the libpq sslmode clients use ("require" on clouds,
	// "disable" on the twin's private host).
	SSLMode string
	// Resource is the underlying resource, for DependsOn.
	Resource pulumi.Resource
}

// Artifact is a file built during the program run, pinned by its hash.
type Artifact struct {
	Name   string // "fibonacci"
	Path   string // local path of the built file
	SHA256 string // hex
}

// MachineArgs describes one machine.
type MachineArgs struct {
	// Group is the firewall group the machine belongs to ("riak", "lb", …).
	Group string
	// Size is an abstract size ("small", "medium") the platform maps to an
	// instance type from the stack config.
	Size string
	// Public gives the machine an address reachable from outside the network.
	Public bool
	// Stateful machines keep data: a later `up` never replaces them because
	// their role or image changed (their role must not depend on artifacts).
	Stateful bool
	// Role is what the machine runs; an output because it may depend on
	// other machines' addresses and on artifact URLs.
	Role RoleOutput
	// Dynamic files may change after boot without replacing the machine
	// (the load balancer's upstream list): the platform delivers new content
	// to the running machine and runs Reload.
	Dynamic []DynamicFile
	// Secrets are the values of the role's SecretFiles, by name: Pulumi
	// secrets the platform puts in its secret store, readable by this
	// machine alone.
	Secrets map[string]pulumi.StringOutput
	// Buckets the machine may get, put, delete and list objects in (an
	// instance-role policy on AWS; the bucket's keys elsewhere).
	Buckets []*Bucket
	// Controls names a group whose machines this machine may start and
	// stop, and nothing else (the pool manager and the pool's slots).
	Controls string
	// Metrics is what the machine does with the stack's metrics: "write"
	// (publishing), "read" (the autoscaler and the charts), "readwrite"
	// (the manager on AWS, which also publishes the slots' statistics) or
	// "" (nothing).
	Metrics string
}

// DynamicFile is a file whose content follows an output after boot.
type DynamicFile struct {
	Path    string
	Content pulumi.StringOutput
	// Reload runs (as root) after new content is in place.
	Reload string
}

// Machine is what the platform made.
type Machine struct {
	Name string
	// PrivateIP is the address other machines of the stack use.
	PrivateIP pulumi.StringOutput
	// PublicIP is the address users reach; "" for machines that are not Public.
	PublicIP pulumi.StringOutput
	// SSHHost is the address an operator reaches over SSH when the stack
	// opens it (any public address of the machine, static or not); "" where
	// there is none.
	SSHHost pulumi.StringOutput
	// Resource is the underlying resource, for DependsOn.
	Resource pulumi.Resource
	// Handle is what a controller needs to start and stop this machine
	// (internal/pool/nodegroup's slot fields): {"instance_id"} on AWS,
	// {"instance", "zone"} on GCP, {"dir", "bind"} on the twin.
	Handle pulumi.StringMapOutput
}

// Rule allows TCP traffic to the Ports of group To, from group From or from
// the CIDR blocks in CIDRs (exactly one of the two is set). From may equal
// To: traffic between the members of a group.
type Rule struct {
	To    string
	From  string
	CIDRs []string
	Ports []PortRange
	// Why is a one-line description shown in the cloud console.
	Why string
}

// PortRange is an inclusive range of TCP ports.
type PortRange struct{ From, To int }

// Port is a one-port range.
func Port(p int) PortRange { return PortRange{p, p} }

// Layout places a machine's files.
type Layout struct {
	// Root prefixes every absolute path: "" on cloud machines, the host's
	// state folder on the local platform.
	Root string
	// Bind is the address services listen on: "0.0.0.0" on cloud machines,
	// the host's own 127.x.y.z address on the local platform.
	Bind string
	// PortOffset is added to ports below 1024 where the platform cannot bind
	// them (the local platform when not root); 0 elsewhere.
	PortOffset int
	// Local is true on the local platform, where packaged binaries are run
	// directly instead of through their systemd units.
	Local bool
}

// Path places an absolute machine path under the layout's root.
func (l Layout) Path(p string) string { return l.Root + p }

// Port maps a service port to the one actually bound.
func (l Layout) Port(p int) int {
	if p < 1024 {
		return p + l.PortOffset
	}
	return p
}

// RoleOutput is a role known once the values it depends on are.
type RoleOutput = pulumi.AnyOutput

// RoleOf turns a role built from outputs into a RoleOutput:
// RoleOf(pulumi.All(a, b).ApplyT(func(v []any) (role.Role, error) {...})).
func RoleOf(o pulumi.Output) RoleOutput {
	return o.ApplyT(func(v any) (any, error) { return v.(role.Role), nil }).(pulumi.AnyOutput)
}

// ConstRole is a role that depends on nothing.
func ConstRole(r role.Role) RoleOutput {
	return pulumi.Any(r)
}
