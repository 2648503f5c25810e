package aws

import (
	"strings"
	"testing"

	"github.com/cloudlabs/cloudlabs/components/platform"
)

func TestArchOf(t *testing.T) {
	for _, tc := range []struct{ itype, want string }{
		{"t3.micro", "amd64"}, {"t3a.medium", "amd64"}, {"t4g.micro", "arm64"}, {"m7g.large", "arm64"},
		{"m7gd.xlarge", "arm64"}, {"c6gn.large", "arm64"}, {"im4gn.large", "arm64"}, {"a1.medium", "arm64"},
		{"g5.xlarge", "amd64"}, {"g5g.xlarge", "arm64"}, {"g4dn.xlarge", "amd64"}, {"m6i.large", "amd64"},
		{"trn1.2xlarge", "amd64"}, {"r7iz.large", "amd64"},
	} {
		t.Run(tc.itype, func(t *testing.T) {
			if got := archOf(tc.itype); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestCreditSpecification(t *testing.T) {
	for _, tc := range []struct {
		itype     string
		burstable bool
	}{
		{"t3.micro", true}, {"t4g.medium", true}, {"t3a.small", true}, {"t2.nano", true},
		{"trn1.2xlarge", false}, {"m7g.large", false},
	} {
		t.Run(tc.itype, func(t *testing.T) {
			if got := creditSpecification(tc.itype) != nil; got != tc.burstable {
				t.Errorf("credit specification set: got %t, want %t", got, tc.burstable)
			}
		})
	}
}

func TestCheckRule(t *testing.T) {
	p80 := []platform.PortRange{platform.Port(80)}
	for _, tc := range []struct {
		name string
		rule platform.Rule
		want string
	}{
		{"no target", platform.Rule{From: "a", Ports: p80}, "no target group"},
		{"both sources", platform.Rule{To: "a", From: "b", CIDRs: []string{"10.0.0.0/8"}, Ports: p80}, "exactly one"},
		{"no source", platform.Rule{To: "a", Ports: p80}, "exactly one"},
		{"no ports", platform.Rule{To: "a", From: "b"}, "opens no ports"},
		{"reversed range", platform.Rule{To: "a", From: "b", Ports: []platform.PortRange{{From: 90, To: 80}}}, "port range 90-80"},
		{"port zero", platform.Rule{To: "a", From: "b", Ports: []platform.PortRange{platform.Port(0)}}, "port range 0-0"},
		{"host bits", platform.Rule{To: "a", CIDRs: []string{"10.1.2.3/8"}, Ports: p80}, `CIDR "10.1.2.3/8"`},
		{"ipv6", platform.Rule{To: "a", CIDRs: []string{"::/0"}, Ports: p80}, `CIDR "::/0"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkRule(tc.rule)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestDescription(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "lb to nodes: 8080", "lb to nodes: 8080"},
		{"arrow and quotes", `users → "the LB"`, "users the LB"},
		{"long", strings.Repeat("x", 300), strings.Repeat("x", 255)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := description(tc.in); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestBucketPrefix(t *testing.T) {
	for _, tc := range []struct{ name, project, stack, want string }{
		{"plain", "cloudlabs", "aws-dev", "cloudlabs-aws-dev-"},
		{"upper and dots", "Cloud.Labs", "Dev_1", "cloud-labs-dev-1-"},
		{"long", strings.Repeat("p", 30), strings.Repeat("s", 30), strings.Repeat("p", 30) + "-sssss-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := bucketPrefix(tc.project, tc.stack)
			if got != tc.want || len(got) > 37 {
				t.Errorf("got %q, want %q (at most 37 characters)", got, tc.want)
			}
		})
	}
}

func TestDynamicObjects(t *testing.T) {
	for _, tc := range []struct {
		name  string
		paths []string
		want  string
	}{
		{"relative", []string{"upstreams.conf"}, "want an absolute file path"},
		{"same base", []string{"/a/up.conf", "/b/up.conf"}, "also named up.conf"},
		{"same service", []string{"/a/up.conf", "/a/up.yaml"}, "also named sync-up"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var files []platform.DynamicFile
			for _, p := range tc.paths {
				files = append(files, platform.DynamicFile{Path: p})
			}
			_, err := dynamicObjects("lb", files)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	got, err := dynamicObjects("lb", []platform.DynamicFile{{Path: "/etc/nginx/conf.d/Up Streams.conf"}})
	if err != nil || got[0].key != "dynamic/lb/Up Streams.conf" || got[0].name != "up-streams" {
		t.Errorf("got %+v, %v", got, err)
	}
}
