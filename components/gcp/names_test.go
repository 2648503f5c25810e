package gcp

import (
	"regexp"
	"strings"
	"testing"

	"github.com/cloudlabs/cloudlabs/components/platform"
)

func TestArch(t *testing.T) {
	for _, tc := range []struct{ machineType, want string }{
		{"e2-micro", "amd64"},
		{"e2-medium", "amd64"},
		{"n2d-standard-2", "amd64"},
		{"t2a-standard-1", "arm64"},
		{"c4a-standard-2", "arm64"},
		{"T2A-standard-4", "arm64"},
		{"t2d-standard-1", "amd64"},
	} {
		t.Run(tc.machineType, func(t *testing.T) {
			if got := Arch(tc.machineType); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAccountID(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z][-a-z0-9]{4,28}[a-z0-9]$`)
	for _, tc := range []struct{ name, project, stack string }{
		{"short", "cloudlabs", "gcp"},
		{"long", "cloudlabs", "gcp-fibonacci-with-a-very-long-stack-name"},
		{"odd characters", "cloudlabs", "Dev_Stack.2"},
		{"only punctuation", "cloudlabs", "..."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := AccountID(tc.project, tc.stack)
			if !valid.MatchString(id) {
				t.Errorf("got %q, not a valid service account id", id)
			}
			if other := AccountID(tc.project+"-other", tc.stack); other == id {
				t.Errorf("two projects share account id %q", id)
			}
		})
	}
}

func TestLabelValue(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"gcp-fibonacci", "gcp-fibonacci"},
		{"Dev.Stack/2", "dev-stack-2"},
		{strings.Repeat("a", 70), strings.Repeat("a", 63)},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := LabelValue(tc.in); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSettingsRejected(t *testing.T) {
	ok := Settings{Project: "p", Stack: "s", Region: "us-central1", Zone: "us-central1-a"}
	for _, tc := range []struct {
		name string
		edit func(*Settings)
		want string
	}{
		{"no zone", func(s *Settings) { s.Zone = "" }, "Zone is empty"},
		{"zone outside region", func(s *Settings) { s.Zone = "europe-west1-b" }, "not in region"},
		{"ssh key without cidr", func(s *Settings) { s.SSHPublicKey = "ssh-ed25519 AAAA" }, "set both or neither"},
		{"bad ssh cidr", func(s *Settings) { s.SSHAllowCIDR, s.SSHPublicKey = "10.0.0.0/33", "k" }, "SSHAllowCIDR"},
		{"bad kms key", func(s *Settings) { s.DiskKMSKey = "my-key" }, "DiskKMSKey"},
		{"empty size override", func(s *Settings) { s.InstanceTypeBySize = map[string]string{"medium": ""} }, `machine type "" for size medium`},
		{"unknown size override", func(s *Settings) { s.InstanceTypeBySize = map[string]string{"large": "e2-standard-4"} }, `size "large"; allowed: small, medium`},
		{"not a machine type", func(s *Settings) { s.InstanceType = "t3.micro" }, `machine type "t3.micro"`},
		{"mixed architectures", func(s *Settings) {
			s.InstanceType = "t2a-standard-1"
			s.InstanceTypeBySize = map[string]string{"medium": "e2-medium"}
		},
			"size medium is e2-medium (amd64) but size small is t2a-standard-1 (arm64)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := ok
			tc.edit(&s)
			_, err := newPlatform(s)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestInstanceTypes: the defaults the README documents (e2-micro small,
// e2-medium medium), an override, and the architecture an Arm small type
// gives every size. How big an Arm medium is is TestSizesAreMonotonic's.
func TestInstanceTypes(t *testing.T) {
	base := Settings{Project: "p", Stack: "s", Region: "r", Zone: "r-a"}
	override, arm, axion := base, base, base
	override.InstanceTypeBySize = map[string]string{"medium": "e2-standard-2"}
	arm.InstanceType = "t2a-standard-2"
	axion.InstanceType = "c4a-standard-2"
	for _, tc := range []struct {
		name          string
		s             Settings
		small, medium string // "" for medium: not stated here
		arch          string
	}{
		{"defaults", base, "e2-micro", "e2-medium", "amd64"},
		{"medium override", override, "e2-micro", "e2-standard-2", "amd64"},
		{"t2a small makes every size arm64", arm, "t2a-standard-2", "", "arm64"},
		{"c4a small makes every size arm64", axion, "c4a-standard-2", "", "arm64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := newPlatform(tc.s)
			if err != nil {
				t.Fatal(err)
			}
			if p.InstanceType("small") != tc.small || tc.medium != "" && p.InstanceType("medium") != tc.medium || p.Arch() != tc.arch {
				t.Errorf("got small %q medium %q arch %q, want %q %q %q",
					p.InstanceType("small"), p.InstanceType("medium"), p.Arch(), tc.small, tc.medium, tc.arch)
			}
			for _, size := range platform.Sizes {
				if a := Arch(p.InstanceType(size)); a != tc.arch {
					t.Errorf("size %s is %s (%s), want %s like small", size, p.InstanceType(size), a, tc.arch)
				}
			}
			if Image(p.Arch()) != "ubuntu-os-cloud/ubuntu-2404-lts-"+tc.arch {
				t.Errorf("image %q", Image(p.Arch()))
			}
		})
	}
}

// publishedGCE is the spec for TestSizesAreMonotonic: vCPUs and memory (GB)
// of machine types as Compute Engine's machine family pages publish them.
// Shared-core E2 types count their sustained vCPU share (e2-micro 0.25).
var publishedGCE = map[string]struct{ vCPUs, memGB float64 }{
	"e2-micro": {0.25, 1}, "e2-small": {0.5, 2}, "e2-medium": {1, 4},
	"e2-standard-2": {2, 8}, "e2-standard-4": {4, 16}, "e2-standard-8": {8, 32},
	"n2-standard-2": {2, 8}, "n2-standard-4": {4, 16}, "n1-standard-1": {1, 3.75}, "n1-standard-2": {2, 7.5},
	"e2-highcpu-2": {2, 2}, "e2-highcpu-4": {4, 4},
	"t2a-standard-1": {1, 4}, "t2a-standard-2": {2, 8}, "t2a-standard-4": {4, 16}, "t2a-standard-8": {8, 32},
	"c4a-standard-1": {1, 4}, "c4a-standard-2": {2, 8}, "c4a-standard-4": {4, 16}, "c4a-standard-8": {8, 32},
}

// TestSizesAreMonotonic: on both architectures, whatever small type a
// stack picks, every size is at least as big as the one before it
// (small <= medium <= ...) in vCPUs and in memory.
func TestSizesAreMonotonic(t *testing.T) {
	smalls := []string{
		"", "e2-micro", "e2-small", "e2-medium", "e2-standard-4", "n2-standard-2", "n1-standard-1", "e2-highcpu-2", // amd64
		"t2a-standard-1", "t2a-standard-2", "t2a-standard-4", "c4a-standard-1", "c4a-standard-2", "c4a-standard-4", // arm64
	}
	if len(platform.Sizes) < 2 {
		t.Fatalf("sizes %v: nothing to order", platform.Sizes)
	}
	archs := map[string]bool{}
	for _, small := range smalls {
		t.Run("small="+small, func(t *testing.T) {
			p, err := newPlatform(Settings{Project: "p", Stack: "s", Region: "r", Zone: "r-a", InstanceType: small})
			if err != nil {
				t.Fatal(err)
			}
			archs[p.Arch()] = true
			for i := 1; i < len(platform.Sizes); i++ {
				lo, hi := platform.Sizes[i-1], platform.Sizes[i]
				lt, ht := p.InstanceType(lo), p.InstanceType(hi)
				lc, lok := publishedGCE[lt]
				hc, hok := publishedGCE[ht]
				if !lok || !hok {
					t.Fatalf("no published capacity in the test for %q or %q: add it", lt, ht)
				}
				if hc.vCPUs < lc.vCPUs || hc.memGB < lc.memGB {
					t.Errorf("%s %s (%v vCPU, %v GB) is smaller than %s %s (%v vCPU, %v GB)",
						hi, ht, hc.vCPUs, hc.memGB, lo, lt, lc.vCPUs, lc.memGB)
				}
			}
		})
	}
	if !archs["amd64"] || !archs["arm64"] {
		t.Errorf("architectures covered: %v, want amd64 and arm64", archs)
	}
}

func TestFirewallPortsRejected(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ports []platform.PortRange
	}{
		{"none", nil},
		{"zero", []platform.PortRange{platform.Port(0)}},
		{"reversed", []platform.PortRange{{From: 90, To: 80}}},
		{"too high", []platform.PortRange{platform.Port(70000)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := firewallPorts(tc.ports); err == nil {
				t.Errorf("ports %v accepted", tc.ports)
			}
		})
	}
}
