package gcp

import (
	"regexp"
	"slices"
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

func TestLifecycle(t *testing.T) {
	for _, tc := range []struct {
		name             string
		stateful, public bool
		want             lifecycle
	}{
		{"stateless replaced on new user data", false, false, lifecycle{ReplaceOnChanges: []string{"metadata"}}},
		{"stateless public releases its address first", false, true, lifecycle{ReplaceOnChanges: []string{"metadata"}, DeleteBeforeReplace: true}},
		{"stateful never replaced", true, false, lifecycle{IgnoreChanges: []string{"metadata", "bootDisk.initializeParams.image"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := lifecycleOf(tc.stateful, tc.public)
			if !slices.Equal(got.ReplaceOnChanges, tc.want.ReplaceOnChanges) || !slices.Equal(got.IgnoreChanges, tc.want.IgnoreChanges) ||
				got.DeleteBeforeReplace != tc.want.DeleteBeforeReplace {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if tc.stateful && len(got.ReplaceOnChanges) > 0 {
				t.Error("a stateful machine must never be replaced on change")
			}
			if n := len(got.options()); n == 0 {
				t.Error("no resource options")
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

func TestInstanceTypes(t *testing.T) {
	base := Settings{Project: "p", Stack: "s", Region: "r", Zone: "r-a"}
	override, arm, axion := base, base, base
	override.InstanceTypeBySize = map[string]string{"medium": "e2-standard-2"}
	arm.InstanceType = "t2a-standard-2"
	axion.InstanceType = "c4a-standard-2"
	for _, tc := range []struct {
		name          string
		s             Settings
		small, medium string
		arch          string
	}{
		{"defaults", base, "e2-micro", "e2-medium", "amd64"},
		{"medium override", override, "e2-micro", "e2-standard-2", "amd64"},
		{"t2a medium follows small's series, never below it", arm, "t2a-standard-2", "t2a-standard-2", "arm64"},
		{"c4a medium follows small's series, never below it", axion, "c4a-standard-2", "c4a-standard-2", "arm64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := newPlatform(tc.s)
			if err != nil {
				t.Fatal(err)
			}
			if p.InstanceType("small") != tc.small || p.InstanceType("medium") != tc.medium || p.Arch() != tc.arch {
				t.Errorf("got small %q medium %q arch %q, want %q %q %q",
					p.InstanceType("small"), p.InstanceType("medium"), p.Arch(), tc.small, tc.medium, tc.arch)
			}
			if Image(p.Arch()) != "ubuntu-os-cloud/ubuntu-2404-lts-"+tc.arch {
				t.Errorf("image %q", Image(p.Arch()))
			}
		})
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
