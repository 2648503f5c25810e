package gcp_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/gcp"
	"github.com/cloudlabs/cloudlabs/components/offline"
	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
)

// Resource types the platform makes.
const (
	tNetwork  = "gcp:compute/network:Network"
	tSubnet   = "gcp:compute/subnetwork:Subnetwork"
	tFirewall = "gcp:compute/firewall:Firewall"
	tAddress  = "gcp:compute/address:Address"
	tInstance = "gcp:compute/instance:Instance"
	tBucket   = "gcp:storage/bucket:Bucket"
	tObject   = "gcp:storage/bucketObject:BucketObject"
	tIAM      = "gcp:storage/bucketIAMMember:BucketIAMMember"
	tAccount  = "gcp:serviceaccount/account:Account"
)

const (
	sshKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGb0yU1p9wWc0Ojt0Fh2p7dEwpI3lS3b8Wm3mBvI3x1X op@laptop"
	// upstreamMarker is in the dynamic file's content and must never reach
	// user data.
	upstreamMarker = "upstream-marker-7f3a"
	appSHA         = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

// settings are the platform settings the tests start from.
func settings() gcp.Settings {
	return gcp.Settings{
		Project: "cloudlabs", Stack: "gcp-Test",
		Region: "us-central1", Zone: "us-central1-a",
	}
}

// withSSH opens SSH from a narrow block.
func withSSH(s gcp.Settings) gcp.Settings {
	s.SSHAllowCIDR, s.SSHPublicKey = "198.51.100.0/24", sshKey
	return s
}

// outcome is what the program made and what its machines reported.
type outcome struct {
	mocks *offline.Mocks
	mu    sync.Mutex
	ips   map[string][3]string // machine -> private, public, ssh host
}

// run runs the lab program: a published artifact; a Public "web" machine
// with a dynamic upstream list in group web; a "node-1" in group nodes
// fetching the artifact; a Stateful medium "db-1" in group db; rules from
// a CIDR, from a group and within a group.
func run(t *testing.T, s gcp.Settings) *outcome {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "app")
	if err := os.WriteFile(bin, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := &outcome{ips: map[string][3]string{}}
	var err error
	out.mocks, err = offline.Run(func(ctx *pulumi.Context) error {
		p, err := gcp.New(ctx, s)
		if err != nil {
			return err
		}
		url, err := p.Publish(ctx, platform.Artifact{Name: "app", Path: bin, SHA256: appSHA})
		if err != nil {
			return err
		}
		nodeRole := platform.RoleOf(url.ApplyT(func(u string) role.Role {
			return role.Role{
				Name:      "node",
				Downloads: []role.Download{{Name: "app", URL: u, SHA256: appSHA, Path: "/opt/cloudlabs/bin/app", Mode: "0755"}},
				Services:  []role.Service{{Name: "app", Exec: "/opt/cloudlabs/bin/app", Args: []string{"--listen", "0.0.0.0:8080"}, Port: 8080}},
			}
		}))
		node, err := p.Machine(ctx, "node-1", platform.MachineArgs{Group: "nodes", Size: "small", Role: nodeRole})
		if err != nil {
			return err
		}
		upstreams := node.PrivateIP.ApplyT(func(ip string) string {
			return fmt.Sprintf("# %s\nserver %s:8080;\n", upstreamMarker, ip)
		}).(pulumi.StringOutput)
		web, err := p.Machine(ctx, "web", platform.MachineArgs{
			Group: "web", Size: "small", Public: true,
			Role: platform.ConstRole(role.Role{
				Name:     "lb",
				Packages: []string{"nginx"},
				Services: []role.Service{{Name: "nginx", Exec: "/usr/sbin/nginx", SystemdUnit: "nginx", Port: 80}},
			}),
			Dynamic: []platform.DynamicFile{{Path: "/etc/nginx/cloudlabs/upstreams.conf", Content: upstreams, Reload: "systemctl reload nginx"}},
		})
		if err != nil {
			return err
		}
		db, err := p.Machine(ctx, "db-1", platform.MachineArgs{
			Group: "db", Size: "medium", Stateful: true,
			Role: platform.ConstRole(role.Role{Name: "db", Packages: []string{"memcached"},
				Services: []role.Service{{Name: "memcached", Exec: "/usr/bin/memcached", SystemdUnit: "memcached", Port: 11211}}}),
		})
		if err != nil {
			return err
		}
		for _, r := range []struct {
			name string
			rule platform.Rule
		}{
			{"web-http", platform.Rule{To: "web", CIDRs: []string{"203.0.113.0/24"}, Ports: []platform.PortRange{platform.Port(80)}, Why: "users"}},
			{"nodes-from-web", platform.Rule{To: "nodes", From: "web", Ports: []platform.PortRange{platform.Port(8080)}, Why: "lb to nodes"}},
			{"db-peers", platform.Rule{To: "db", From: "db", Ports: []platform.PortRange{platform.Port(11211), {From: 6000, To: 7999}}, Why: "peers"}},
		} {
			if err := p.Allow(ctx, r.name, r.rule); err != nil {
				return err
			}
		}
		for _, m := range []*platform.Machine{node, web, db} {
			name := m.Name
			pulumi.All(m.PrivateIP, m.PublicIP, m.SSHHost).ApplyT(func(vs []any) error {
				out.mu.Lock()
				defer out.mu.Unlock()
				out.ips[name] = [3]string{vs[0].(string), vs[1].(string), vs[2].(string)}
				return nil
			})
		}
		return nil
	}, "cloudlabs", "gcp-test", nil)
	if err != nil {
		t.Fatalf("program: %v", err)
	}
	return out
}

// at walks a property value through object keys (string) and array
// indexes (int), unwrapping secrets and outputs; null when absent.
func at(v resource.PropertyValue, path ...any) resource.PropertyValue {
	for _, step := range path {
		v = plain(v)
		switch k := step.(type) {
		case string:
			if !v.IsObject() {
				return resource.NewNullProperty()
			}
			v = v.ObjectValue()[resource.PropertyKey(k)]
		case int:
			if !v.IsArray() || k >= len(v.ArrayValue()) {
				return resource.NewNullProperty()
			}
			v = v.ArrayValue()[k]
		}
	}
	return plain(v)
}

func plain(v resource.PropertyValue) resource.PropertyValue {
	for {
		switch {
		case v.IsSecret():
			v = v.SecretValue().Element
		case v.IsOutput():
			v = v.OutputValue().Element
		default:
			return v
		}
	}
}

// input is a resource's input at a path.
func input(r offline.Resource, path ...any) resource.PropertyValue {
	return at(resource.NewObjectProperty(r.Inputs), path...)
}

// strs is a string array input.
func strs(r offline.Resource, path ...any) []string {
	v := input(r, path...)
	if !v.IsArray() {
		return nil
	}
	var out []string
	for _, e := range v.ArrayValue() {
		out = append(out, plain(e).StringValue())
	}
	return out
}

// str is a string input ("" when absent).
func str(r offline.Resource, path ...any) string {
	v := input(r, path...)
	if !v.IsString() {
		return ""
	}
	return v.StringValue()
}

// named returns a recorded resource or fails.
func named(t *testing.T, m *offline.Mocks, typ, name string) offline.Resource {
	t.Helper()
	r, ok := m.Named(typ, name)
	if !ok {
		t.Fatalf("no %s named %s", typ, name)
	}
	return r
}

// userData is an instance's user data.
func userData(t *testing.T, m *offline.Mocks, name string) string {
	t.Helper()
	ud := str(named(t, m, tInstance, name), "metadata", "user-data")
	if !strings.HasPrefix(ud, "#cloud-config") {
		t.Fatalf("instance %s: user data is not #cloud-config:\n%s", name, ud)
	}
	return ud
}
