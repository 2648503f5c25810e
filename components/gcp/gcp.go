package gcp

import (
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/compute"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/organizations"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/serviceaccount"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/storage"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/platform"
)

// defaultTypes are the sizes' machine types per architecture: the cheapest
// shared-core E2 types on amd64 ("medium" has the 4 GB Riak wants); on
// arm64 the smallest T2A/C4A type (1 vCPU, 4 GB) serves both.
var defaultTypes = map[string]map[string]string{
	"amd64": {"small": "e2-micro", "medium": "e2-medium"},
	"arm64": {"small": "t2a-standard-1", "medium": "t2a-standard-1"},
}

// machineTypePattern is the shape of a GCE machine type ("e2-micro",
// "n2-custom-2-4096").
var machineTypePattern = regexp.MustCompile(`^[a-z][a-z0-9]*-[a-z0-9-]+$`)

// Settings configure the platform. The lead's program fills them from the
// validated stack config; the GCP project itself comes from the provider
// (gcp:project).
type Settings struct {
	// Project and Stack label every resource that takes labels and name
	// the service account; "" means the program's own (ctx.Project(),
	// ctx.Stack()).
	Project string
	Stack   string
	// Region holds the subnet, the bucket and static addresses
	// ("us-central1"); Zone the instances ("us-central1-a"). "" means the
	// default provider's gcp:region / gcp:zone (pass both when New gets an
	// explicit provider).
	Region string
	Zone   string
	// InstanceType is the machine type of size "small" and picks the
	// architecture of the other sizes' defaults; "" means e2-micro.
	InstanceType string
	// InstanceTypeBySize overrides sizes ("medium": "e2-standard-2"); "medium"
	// is e2-medium on amd64, and the small type's series-standard-1 on arm64.
	// Every type must share one architecture: the apps are built once.
	InstanceTypeBySize map[string]string
	// Image is the boot image ("" = the ubuntu-2404-lts image family for the
	// machines' architecture, resolved when an instance is created).
	Image string
	// DiskKMSKey, when set, encrypts boot disks with this Cloud KMS key
	// (projects/P/locations/L/keyRings/R/cryptoKeys/K) instead of a
	// Google-managed key. The Compute Engine service agent needs
	// roles/cloudkms.cryptoKeyEncrypterDecrypter on it.
	DiskKMSKey string
	// SSHAllowCIDR and SSHPublicKey open port 22 to every machine from that
	// block for that key; both or neither.
	SSHAllowCIDR string
	SSHPublicKey string
}

// Platform realizes machines on Compute Engine. Like every platform it is
// used from one program goroutine and is not safe for concurrent use.
type Platform struct {
	s       Settings
	baseOpt []pulumi.ResourceOption // New's options
	types   map[string]string       // size -> machine type
	arch    string
	network *compute.Network
	subnet  *compute.Subnetwork
	bucket  *storage.Bucket
	account *serviceaccount.Account
	reader  *storage.BucketIAMMember
	secrets map[string]stackSecret // by secret name, created on first use

	dataBuckets map[*platform.Bucket]bool // DataBucket's buckets, for MachineArgs.Buckets
	db          *dbNetwork                // private services access, created on first use
	control     *controlState             // who starts and stops which instances
	guard       platform.WorldGuard
}

var _ platform.Platform = (*Platform)(nil)

// New validates s and creates the stack's network, firewall for SSH,
// artifact bucket and service account. opts (a parent, a provider) apply
// to those resources; machines and rules take the options of their caller.
func New(ctx *pulumi.Context, s Settings, opts ...pulumi.ResourceOption) (*Platform, error) {
	if s.Project == "" {
		s.Project = ctx.Project()
	}
	if s.Stack == "" {
		s.Stack = ctx.Stack()
	}
	if s.Region == "" || s.Zone == "" {
		c, err := organizations.GetClientConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("gcp platform: provider region and zone: %w", err)
		}
		if s.Region == "" {
			s.Region = c.Region
		}
		if s.Zone == "" {
			s.Zone = c.Zone
		}
	}
	p, err := newPlatform(s)
	if err != nil {
		return nil, err
	}
	p.baseOpt = opts
	if err := p.createNetwork(ctx, opts); err != nil {
		return nil, err
	}
	if err := p.createBucket(ctx, opts); err != nil {
		return nil, err
	}
	return p, nil
}

// newPlatform checks the settings and resolves the machine types; it
// creates nothing.
func newPlatform(s Settings) (*Platform, error) {
	for _, f := range []struct{ key, v, hint string }{
		{"Project", s.Project, ""}, {"Stack", s.Stack, ""},
		{"Region", s.Region, " (set gcp:region)"}, {"Zone", s.Zone, " (set gcp:zone)"},
	} {
		if f.v == "" {
			return nil, fmt.Errorf("gcp platform: %s is empty%s", f.key, f.hint)
		}
	}
	if !strings.HasPrefix(s.Zone, s.Region+"-") {
		return nil, fmt.Errorf("gcp platform: zone %q is not in region %q; allowed: a zone of the region, such as %s-a", s.Zone, s.Region, s.Region)
	}
	if (s.SSHAllowCIDR == "") != (s.SSHPublicKey == "") {
		return nil, fmt.Errorf("gcp platform: SSHAllowCIDR and SSHPublicKey open SSH together; set both or neither")
	}
	if s.SSHAllowCIDR != "" {
		if _, err := netip.ParsePrefix(s.SSHAllowCIDR); err != nil {
			return nil, fmt.Errorf("gcp platform: SSHAllowCIDR %q: %w", s.SSHAllowCIDR, err)
		}
	}
	if s.DiskKMSKey != "" && !strings.HasPrefix(s.DiskKMSKey, "projects/") {
		return nil, fmt.Errorf("gcp platform: DiskKMSKey %q; allowed: projects/P/locations/L/keyRings/R/cryptoKeys/K", s.DiskKMSKey)
	}
	types, arch, err := sizes.Resolve(s.InstanceType, s.InstanceTypeBySize)
	if err != nil {
		return nil, err
	}
	return &Platform{s: s, types: types, arch: arch, dataBuckets: map[*platform.Bucket]bool{},
		control: &controlState{}, guard: platform.WorldGuard{SSH: s.SSHAllowCIDR}}, nil
}

// sizes is how Compute Engine names the abstract sizes. On arm64 the
// medium default follows the small type's series, and is the small type
// itself when that is larger (t2a-standard-4 small, not a smaller medium).
var sizes = platform.SizeCatalog{
	Cloud: "gcp", Noun: "machine type", Example: "e2-micro", Valid: machineTypePattern, Arch: Arch, Capacity: Capacity,
	Defaults: func(small, arch string) map[string]string {
		types := maps.Clone(defaultTypes[arch])
		if arch == "arm64" && small != "" {
			types["medium"] = series(small) + "-standard-1"
		}
		return types
	},
}

// sharedCore are the shared-core machine types: vCPUs are their CPU share.
var sharedCore = map[string]platform.Capacity{
	"e2-micro": {MemGB: 1, VCPUs: 0.25}, "e2-small": {MemGB: 2, VCPUs: 0.5}, "e2-medium": {MemGB: 4, VCPUs: 1},
	"f1-micro": {MemGB: 0.6, VCPUs: 0.2}, "g1-small": {MemGB: 1.7, VCPUs: 0.5},
}

// memPerVCPU is the memory (GB) per vCPU of the predefined shapes; N1's
// differ from every later series'.
var memPerVCPU = map[string]map[string]float64{
	"standard": {"": 4, "n1": 3.75},
	"highmem":  {"": 8, "n1": 6.5},
	"highcpu":  {"": 1, "n1": 0.9},
}

var shapePattern = regexp.MustCompile(`^([a-z0-9]+)-(standard|highmem|highcpu)-([0-9]+)$`)
var customPattern = regexp.MustCompile(`^([a-z0-9]+-)?custom-([0-9]+)-([0-9]+)(-ext)?$`)

// Capacity is the memory and vCPUs of a machine type: the shared-core
// types, the predefined standard/highmem/highcpu shapes and custom types;
// ok is false for any other.
func Capacity(machineType string) (platform.Capacity, bool) {
	if c, ok := sharedCore[machineType]; ok {
		return c, true
	}
	if m := shapePattern.FindStringSubmatch(machineType); m != nil {
		n, _ := strconv.Atoi(m[3])
		per, ok := memPerVCPU[m[2]][m[1]]
		if !ok {
			per = memPerVCPU[m[2]][""]
		}
		return platform.Capacity{MemGB: per * float64(n), VCPUs: float64(n)}, true
	}
	if m := customPattern.FindStringSubmatch(machineType); m != nil {
		n, _ := strconv.Atoi(m[2])
		mb, _ := strconv.Atoi(m[3])
		return platform.Capacity{MemGB: float64(mb) / 1024, VCPUs: float64(n)}, true
	}
	return platform.Capacity{}, false
}

// Name is "gcp".
func (*Platform) Name() string { return "gcp" }

// Arch is the architecture of every size's machine type (New refuses a
// mix): the apps are cross-compiled for it.
func (p *Platform) Arch() string { return p.arch }

// Layout is the same for every cloud machine: files at their absolute
// paths, services on every interface (the firewall decides who reaches
// them), ports as they are.
func (*Platform) Layout(string) platform.Layout {
	return platform.Layout{Bind: "0.0.0.0"}
}

// InstanceType is the machine type of a size ("" for a size it does not
// know), for `labctl cost`.
func (p *Platform) InstanceType(size string) string { return p.types[size] }

// opts are a fresh copy of New's options, safe to append to.
func (p *Platform) opts() []pulumi.ResourceOption {
	return append([]pulumi.ResourceOption(nil), p.baseOpt...)
}

// sshOpen reports whether the stack opens SSH.
func (p *Platform) sshOpen() bool { return p.s.SSHAllowCIDR != "" }

// labels are the labels of every labelled resource.
func (p *Platform) labels(extra ...string) pulumi.StringMap {
	m := pulumi.StringMap{
		"cloudlabs-project": pulumi.String(LabelValue(p.s.Project)),
		"cloudlabs-stack":   pulumi.String(LabelValue(p.s.Stack)),
	}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = pulumi.String(LabelValue(extra[i+1]))
	}
	return m
}

// RandomSecret makes a random secret with the random provider.
func (p *Platform) RandomSecret(ctx *pulumi.Context, name string, length int, opts ...pulumi.ResourceOption) (pulumi.StringOutput, error) {
	return platform.CloudRandomSecret(ctx, name, length, opts...)
}
