package gcp_test

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/gcp"
	"github.com/cloudlabs/cloudlabs/components/offline"
	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
)

// one runs a program making a single machine and returns what it made.
func one(s gcp.Settings, args platform.MachineArgs) (*offline.Mocks, error) {
	return offline.Run(func(ctx *pulumi.Context) error {
		p, err := gcp.New(ctx, s)
		if err != nil {
			return err
		}
		if args.Role == (platform.RoleOutput{}) {
			args.Role = platform.ConstRole(role.Role{Name: "m"})
		}
		_, err = p.Machine(ctx, "m", args)
		return err
	}, "cloudlabs", "gcp-test", nil)
}

func TestMachineSettings(t *testing.T) {
	const key = "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k"
	pinned, kms, arm := settings(), settings(), settings()
	pinned.Image = "projects/ubuntu-os-cloud/global/images/ubuntu-2404-noble-amd64-v20250101"
	kms.DiskKMSKey = key
	arm.InstanceType = "t2a-standard-1"
	for _, tc := range []struct {
		name                    string
		s                       gcp.Settings
		image, kms, machineType string
		shielded                bool
	}{
		{"defaults", settings(), "ubuntu-os-cloud/ubuntu-2404-lts-amd64", "", "e2-micro", true},
		{"pinned image", pinned, pinned.Image, "", "e2-micro", true},
		{"customer key", kms, "ubuntu-os-cloud/ubuntu-2404-lts-amd64", key, "e2-micro", true},
		{"arm without shielded vm", arm, "ubuntu-os-cloud/ubuntu-2404-lts-arm64", "", "t2a-standard-1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := one(tc.s, platform.MachineArgs{Group: "g", Size: "small"})
			if err != nil {
				t.Fatal(err)
			}
			in := named(t, m, tInstance, "m")
			for _, c := range []struct{ what, got, want string }{
				{"image", str(in, "bootDisk", "initializeParams", "image"), tc.image},
				{"kmsKeySelfLink", str(in, "bootDisk", "kmsKeySelfLink"), tc.kms},
				{"machineType", str(in, "machineType"), tc.machineType},
			} {
				if c.got != c.want {
					t.Errorf("%s: got %q, want %q", c.what, c.got, c.want)
				}
			}
			if got := input(in, "shieldedInstanceConfig").IsObject(); got != tc.shielded {
				t.Errorf("shielded VM: got %v, want %v", got, tc.shielded)
			}
		})
	}
}

func TestProviderDefaults(t *testing.T) {
	s := settings()
	s.Project, s.Stack, s.Region, s.Zone = "", "", "", ""
	m, err := one(s, platform.MachineArgs{Group: "g", Size: "small"})
	if err != nil {
		t.Fatal(err)
	}
	in := named(t, m, tInstance, "m")
	sub := named(t, m, tSubnet, "cloudlabs-subnet")
	for _, c := range []struct{ what, got, want string }{
		{"zone from gcp:zone", str(in, "zone"), "us-central1-a"},
		{"region from gcp:region", str(sub, "region"), "us-central1"},
		{"project label from the program", str(in, "labels", "cloudlabs-project"), "cloudlabs"},
		{"stack label from the program", str(in, "labels", "cloudlabs-stack"), "gcp-test"},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.what, c.got, c.want)
		}
	}
}

func TestMachineRejected(t *testing.T) {
	dup := []platform.DynamicFile{
		{Path: "/a/up.conf", Content: pulumi.String("x").ToStringOutput()},
		{Path: "/b/up.conf", Content: pulumi.String("y").ToStringOutput()},
	}
	for _, tc := range []struct {
		name string
		s    gcp.Settings
		args platform.MachineArgs
		want string
	}{
		{"unknown size", settings(), platform.MachineArgs{Group: "g", Size: "huge"}, `size "huge"; allowed: small, medium`},
		{"bad group", settings(), platform.MachineArgs{Group: "Web_Servers", Size: "small"}, "not a valid GCP network tag"},
		{"two dynamic files of one name", settings(), platform.MachineArgs{Group: "g", Size: "small", Dynamic: dup}, "two dynamic files named up"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := one(tc.s, tc.args)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestAllowRejected(t *testing.T) {
	for _, tc := range []struct {
		name string
		rule platform.Rule
		want string
	}{
		{"both sources", platform.Rule{To: "a", From: "b", CIDRs: []string{"10.0.0.0/8"}, Ports: []platform.PortRange{platform.Port(1)}}, "exactly one of From"},
		{"no source", platform.Rule{To: "a", Ports: []platform.PortRange{platform.Port(1)}}, "exactly one of From"},
		{"bad cidr", platform.Rule{To: "a", CIDRs: []string{"10.0.0.300/8"}, Ports: []platform.PortRange{platform.Port(1)}}, `CIDR "10.0.0.300/8"`},
		{"no ports", platform.Rule{To: "a", From: "b"}, "no ports"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := offline.Run(func(ctx *pulumi.Context) error {
				p, err := gcp.New(ctx, settings())
				if err != nil {
					return err
				}
				return p.Allow(ctx, "r", tc.rule)
			}, "cloudlabs", "gcp-test", nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
