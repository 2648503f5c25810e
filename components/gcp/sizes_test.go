package gcp

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components"
	"github.com/cloudlabs/cloudlabs/components/offline"
)

// TestSizesNeverShrink: whatever the small type, on either architecture,
// the resolved medium has at least small's memory and vCPUs.
func TestSizesNeverShrink(t *testing.T) {
	smalls := []string{"e2-micro", "e2-standard-4", "n2-highmem-8", "t2a-standard-1", "t2a-standard-2", "t2a-standard-4", "c4a-standard-2", "c4a-highmem-4"}
	if len(smalls) == 0 {
		t.Fatal("no cases")
	}
	for _, small := range smalls {
		t.Run(small, func(t *testing.T) {
			types, _, err := sizes.Resolve(small, nil)
			if err != nil {
				t.Fatal(err)
			}
			cs, okS := Capacity(types["small"])
			cm, okM := Capacity(types["medium"])
			if !okS || !okM {
				t.Fatalf("capacity unknown: small %s (%t), medium %s (%t)", types["small"], okS, types["medium"], okM)
			}
			if cm.MemGB < cs.MemGB || cm.VCPUs < cs.VCPUs {
				t.Errorf("medium %s (%v) is smaller than small %s (%v)", types["medium"], cm, types["small"], cs)
			}
		})
	}
}

// TestCapacityOfKnownTypes checks the table against GCP's published shapes.
func TestCapacityOfKnownTypes(t *testing.T) {
	for _, tc := range []struct {
		typ        string
		mem, vcpus float64
	}{
		{"e2-micro", 1, 0.25}, {"e2-medium", 4, 1}, {"t2a-standard-1", 4, 1}, {"t2a-standard-4", 16, 4},
		{"c4a-highmem-2", 16, 2}, {"n1-standard-2", 7.5, 2}, {"e2-custom-2-8192", 8, 2},
	} {
		c, ok := Capacity(tc.typ)
		if !ok || c.MemGB != tc.mem || c.VCPUs != tc.vcpus {
			t.Errorf("Capacity(%s) = %v, %t; want %v GB, %v vCPUs", tc.typ, c, ok, tc.mem, tc.vcpus)
		}
	}
}

// TestSmallerMediumRefused: an explicit medium smaller than small is an
// error naming both.
func TestSmallerMediumRefused(t *testing.T) {
	_, err := newPlatform(Settings{Project: "p", Stack: "s", Region: "us-central1", Zone: "us-central1-a",
		InstanceType: "t2a-standard-4", InstanceTypeBySize: map[string]string{"medium": "t2a-standard-1"}})
	if err == nil || !strings.Contains(err.Error(), "size medium is t2a-standard-1, smaller than size small (t2a-standard-4)") {
		t.Fatalf("got %v, want the smaller medium refused", err)
	}
}

// TestRiakPackageMustMatchArch: an arm64 stack refuses the amd64 Riak
// package before creating a machine, naming the key, the package's arch
// and the machines'.
func TestRiakPackageMustMatchArch(t *testing.T) {
	mocks, err := offline.Run(func(ctx *pulumi.Context) error {
		p, err := New(ctx, Settings{InstanceType: "t2a-standard-1"})
		if err != nil {
			return err
		}
		_, err = components.NewRiakCluster(ctx, "riak", p, &components.RiakClusterArgs{
			Nodes:   1,
			Package: components.RiakPackage{URL: "https://files.example/riak_3.4.0-OTP26_amd64.deb", SHA256: strings.Repeat("ab", 32)},
		})
		return err
	}, "cloudlabs", "dev", nil)
	if err == nil {
		t.Fatal("an amd64 Riak package on arm64 machines was accepted")
	}
	for _, w := range []string{"riak:packageUrl", "riak:instanceType", "amd64 package", "are arm64"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	if n := len(mocks.OfType(offline.GCPInstance)); n != 0 {
		t.Errorf("%d instances created before the refusal, want 0", n)
	}
}
