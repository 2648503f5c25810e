package gcp

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/compute"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/serviceaccount"
	"github.com/pulumi/pulumi-gcp/sdk/v7/go/gcp/storage"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/platform"
)

// Defaults of the machine types, per abstract size.
const (
	DefaultInstanceType = "e2-micro"  // "small": 2 shared vCPUs, 1 GB
	DefaultMediumType   = "e2-medium" // "medium" (Riak): 2 shared vCPUs, 4 GB
)

// Settings configure the platform. The lead's program fills them from the
// validated stack config; the GCP project itself comes from the provider
// (gcp:project).
type Settings struct {
	// Project and Stack name the Pulumi project and stack: they label every
	// resource that takes labels.
	Project string
	Stack   string
	// Region holds the subnet, the bucket and static addresses
	// ("us-central1"); Zone the instances ("us-central1-a").
	Region string
	Zone   string
	// InstanceType is the machine type of size "small" ("" = e2-micro).
	InstanceType string
	// InstanceTypeBySize overrides the type of a size; "medium" is
	// e2-medium unless set here.
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
}

var _ platform.Platform = (*Platform)(nil)

// New validates s and creates the stack's network, firewall for SSH,
// artifact bucket and service account. opts (a parent, a provider) apply
// to those resources; machines and rules take the options of their caller.
func New(ctx *pulumi.Context, s Settings, opts ...pulumi.ResourceOption) (*Platform, error) {
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
	for _, f := range []struct{ key, v string }{{"Project", s.Project}, {"Stack", s.Stack}, {"Region", s.Region}, {"Zone", s.Zone}} {
		if f.v == "" {
			return nil, fmt.Errorf("gcp platform: %s is empty", f.key)
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
	types := map[string]string{"small": DefaultInstanceType, "medium": DefaultMediumType}
	if s.InstanceType != "" {
		types["small"] = s.InstanceType
	}
	for size, t := range s.InstanceTypeBySize {
		if t == "" {
			return nil, fmt.Errorf("gcp platform: InstanceTypeBySize[%q] is empty", size)
		}
		types[size] = t
	}
	return &Platform{s: s, types: types, arch: Arch(types["small"])}, nil
}

// Name is "gcp".
func (*Platform) Name() string { return "gcp" }

// Arch is the architecture of the "small" machine type: the apps run on
// those machines. Machine refuses a size whose type differs.
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
