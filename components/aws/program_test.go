package aws

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/offline"
	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
)

const (
	testKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGb0yU1p9wWc0Ojt0Fh2p7dEwpI3lS3b8Wm3mBvI3x1X user@host"
	// dynamicMarker is in the dynamic file's content and must never reach
	// any user data.
	dynamicMarker = "server 10.42.1.77:8080; # dynamic-marker"
	artifactSHA   = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

// lab is what the test program saw resolve.
type lab struct {
	mu      sync.Mutex
	public  map[string]string // machine -> PublicIP
	private map[string]string
	ssh     map[string]string
	url     string // the artifact's URL
	arch    string
	types   map[string]string
}

func (l *lab) record(ctx *pulumi.Context, m *platform.Machine) {
	set := func(dst map[string]string) func(string) string {
		return func(v string) string {
			l.mu.Lock()
			defer l.mu.Unlock()
			dst[m.Name] = v
			return v
		}
	}
	// Exported so the run waits for the applies.
	ctx.Export(m.Name+"-public", m.PublicIP.ApplyT(set(l.public)))
	ctx.Export(m.Name+"-private", m.PrivateIP.ApplyT(set(l.private)))
	ctx.Export(m.Name+"-ssh", m.SSHHost.ApplyT(set(l.ssh)))
}

// runLab runs a small lab: a public web machine with a dynamic upstream
// list, an app machine fetching a published binary, a stateful db
// machine, and rules between them.
func runLab(t *testing.T, s Settings) (*offline.Mocks, *lab) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "app")
	if err := os.WriteFile(bin, []byte("binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	l := &lab{public: map[string]string{}, private: map[string]string{}, ssh: map[string]string{}, types: map[string]string{}}
	mocks, err := offline.Run(func(ctx *pulumi.Context) error {
		p, err := New(ctx, s)
		if err != nil {
			return err
		}
		l.arch = p.Arch()
		for _, size := range platform.Sizes {
			l.types[size] = p.InstanceType(size)
		}
		url, err := p.Publish(ctx, platform.Artifact{Name: "app", Path: bin, SHA256: artifactSHA})
		if err != nil {
			return err
		}
		ctx.Export("url", url.ApplyT(func(u string) string { l.mu.Lock(); l.url = u; l.mu.Unlock(); return u }))
		appRole := platform.RoleOf(url.ApplyT(func(u string) role.Role {
			return role.Role{
				Name:      "app",
				Downloads: []role.Download{{Name: "app", URL: u, SHA256: artifactSHA, Path: "/opt/cloudlabs/bin/app", Mode: "0755"}},
				Services:  []role.Service{{Name: "app", Exec: "/opt/cloudlabs/bin/app", Args: []string{"--listen", "0.0.0.0:8080"}, Port: 8080, Health: "/healthz"}},
			}
		}))
		machines := []struct {
			name string
			args platform.MachineArgs
		}{
			{"app-1", platform.MachineArgs{Group: "app", Size: "small", Role: appRole}},
			{"web-1", platform.MachineArgs{Group: "web", Size: "small", Public: true,
				Role: platform.ConstRole(role.Role{Name: "lb", Packages: []string{"nginx"},
					Services: []role.Service{{Name: "nginx", SystemdUnit: "nginx", Exec: "/usr/sbin/nginx", Port: 80}}}),
				Dynamic: []platform.DynamicFile{{Path: "/etc/nginx/conf.d/upstreams.conf",
					Content: pulumi.String(dynamicMarker).ToStringOutput(), Reload: "systemctl reload nginx"}}}},
			{"db-1", platform.MachineArgs{Group: "db", Size: "medium", Stateful: true,
				Role: platform.ConstRole(role.Role{Name: "db", Packages: []string{"memcached"},
					Services: []role.Service{{Name: "memcached", SystemdUnit: "memcached", Exec: "/usr/bin/memcached", Port: 11211}}})}},
		}
		for _, m := range machines {
			made, err := p.Machine(ctx, m.name, m.args)
			if err != nil {
				return err
			}
			l.record(ctx, made)
		}
		rules := []struct {
			name string
			rule platform.Rule
		}{
			{"web-http", platform.Rule{To: "web", CIDRs: []string{"0.0.0.0/0"}, Ports: []platform.PortRange{platform.Port(80)}, Why: "users → the load balancer"}},
			{"app-from-web", platform.Rule{To: "app", From: "web", Ports: []platform.PortRange{platform.Port(8080)}, Why: "lb to app"}},
			{"db-peers", platform.Rule{To: "db", From: "db", Ports: []platform.PortRange{platform.Port(8087), {From: 6000, To: 7999}}, Why: "db peers"}},
			{"db-admin", platform.Rule{To: "db", CIDRs: []string{"198.51.100.0/24", "203.0.113.0/28"}, Ports: []platform.PortRange{platform.Port(8098)}, Why: "admins"}},
		}
		for _, r := range rules {
			if err := p.Allow(ctx, r.name, r.rule); err != nil {
				return err
			}
		}
		return nil
	}, "cloudlabs", "test", nil)
	if err != nil {
		t.Fatalf("program: %v", err)
	}
	return mocks, l
}

// Property helpers over the recorded inputs.

func obj(r offline.Resource, key string) resource.PropertyMap {
	v, ok := r.Inputs[resource.PropertyKey(key)]
	if !ok || !v.IsObject() {
		return nil
	}
	return v.ObjectValue()
}

func boolOf(m resource.PropertyMap, key string) bool {
	v, ok := m[resource.PropertyKey(key)]
	return ok && v.IsBool() && v.BoolValue()
}

func numOf(m resource.PropertyMap, key string) float64 {
	v, ok := m[resource.PropertyKey(key)]
	if !ok || !v.IsNumber() {
		return -1
	}
	return v.NumberValue()
}

func strOf(m resource.PropertyMap, key string) string {
	v, ok := m[resource.PropertyKey(key)]
	if !ok || !v.IsString() {
		return ""
	}
	return v.StringValue()
}

func strs(r offline.Resource, key string) []string {
	v, ok := r.Inputs[resource.PropertyKey(key)]
	if !ok || !v.IsArray() {
		return nil
	}
	var out []string
	for _, e := range v.ArrayValue() {
		if e.IsString() {
			out = append(out, e.StringValue())
		}
	}
	return out
}

func named(t *testing.T, m *offline.Mocks, token, name string) offline.Resource {
	t.Helper()
	r, ok := m.Named(token, name)
	if !ok {
		t.Fatalf("no %s named %s", token, name)
	}
	return r
}

func short(token string) string {
	_, after, _ := strings.Cut(token, "/")
	return after
}
