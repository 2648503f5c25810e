package local

import (
	"encoding/json"
	stdnet "net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/offline"
	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
)

func TestAddress(t *testing.T) {
	tests := []struct {
		name           string
		stack, machine string
	}{
		{"lb", "local", "fib-lb"},
		{"node", "local", "fib-node-1"},
		{"other stack", "dev", "fib-lb"},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Address(tt.stack, tt.machine, 0)
			if a != Address(tt.stack, tt.machine, 0) {
				t.Fatal("address is not deterministic")
			}
			ip := stdnet.ParseIP(a).To4()
			if ip == nil || ip[0] != 127 || ip[1] < 64 || ip[1] > 127 || ip[3] == 0 || ip[3] == 255 {
				t.Fatalf("address %s outside 127.64.0.0/10 or ends in .0/.255", a)
			}
			if prev, dup := seen[a]; dup {
				t.Fatalf("%s shared with %s", a, prev)
			}
			seen[a] = tt.stack + "/" + tt.machine
		})
	}
}

func TestLayoutResolvesCollisions(t *testing.T) {
	p, err := New(nil, Settings{StateDir: "/state", Stack: "local"})
	if err != nil {
		t.Fatal(err)
	}
	// Pretend another machine already holds fib-lb's first address.
	p.owner[Address("local", "fib-lb", 0)] = "squatter"
	l := p.Layout("fib-lb")
	if l.Bind != Address("local", "fib-lb", 1) {
		t.Fatalf("bind %s, want the second candidate %s", l.Bind, Address("local", "fib-lb", 1))
	}
	if again := p.Layout("fib-lb"); again != l {
		t.Fatalf("second Layout %+v differs from first %+v", again, l)
	}
	if l.Root != "/state/local/fib-lb" || !l.Local {
		t.Fatalf("layout %+v", l)
	}
}

func TestReloadService(t *testing.T) {
	svcs := []role.Service{{Name: "nginx"}, {Name: "fibonacci"}}
	tests := []struct {
		name, cmd, want string
	}{
		{"nginx -s reload", "/usr/sbin/nginx -c /s/etc/nginx/lb.conf -s reload", "nginx"},
		{"systemctl", "systemctl reload nginx", "nginx"},
		{"unknown", "kill -HUP 1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reloadService(tt.cmd, svcs); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMachineRegistersHost(t *testing.T) {
	var layout platform.Layout
	mocks, err := offline.Run(func(ctx *pulumi.Context) error {
		p, err := New(ctx, Settings{StateDir: "/state"})
		if err != nil {
			return err
		}
		layout = p.Layout("lb")
		r := role.Role{
			Name:     "lb",
			Files:    []role.File{{Path: layout.Path("/etc/nginx/upstreams.conf"), Content: "old", Mode: "0644"}},
			Services: []role.Service{{Name: "nginx", Exec: "/usr/sbin/nginx", Port: layout.Port(80)}},
		}
		_, err = p.Machine(ctx, "lb", platform.MachineArgs{
			Role: platform.ConstRole(r),
			Dynamic: []platform.DynamicFile{{
				Path: layout.Path("/etc/nginx/upstreams.conf"), Content: pulumi.String("server 127.1.1.1:8080;").ToStringOutput(),
				Reload: "/usr/sbin/nginx -s reload",
			}},
		})
		return err
	}, "cloudlabs", "dev", nil)
	if err != nil {
		t.Fatal(err)
	}
	h, ok := mocks.Named(HostType, "lb")
	if !ok {
		t.Fatalf("no %s registered: %v", HostType, mocks.Resources())
	}
	if got, want := h.Str("stateDir"), "/state/dev/lb"; got != want {
		t.Errorf("stateDir %q, want %q", got, want)
	}
	if got := h.Str("bind"); got != layout.Bind || !strings.HasPrefix(got, "127.") {
		t.Errorf("bind %q, want %q", got, layout.Bind)
	}
	var r role.Role
	if err := json.Unmarshal([]byte(h.Str("role")), &r); err != nil {
		t.Fatalf("role input: %v", err)
	}
	want := []role.File{{Path: "/state/dev/lb/etc/nginx/upstreams.conf", Content: "server 127.1.1.1:8080;", Mode: "0644"}}
	if !reflect.DeepEqual(r.Files, want) {
		t.Errorf("files %+v, want the dynamic content in place of the static one %+v", r.Files, want)
	}
	reloads := h.Inputs["reloads"].ObjectValue()
	if got := reloads["/state/dev/lb/etc/nginx/upstreams.conf"]; !got.IsString() || got.StringValue() != "nginx" {
		t.Errorf("reloads %v, want the upstream list mapped to nginx", reloads)
	}
}

func TestMachineKeepsDataOnItsDisk(t *testing.T) {
	mocks, err := offline.Run(func(ctx *pulumi.Context) error {
		p, err := New(ctx, Settings{StateDir: "/state"})
		if err != nil {
			return err
		}
		_, err = p.Machine(ctx, "pb", platform.MachineArgs{Role: platform.ConstRole(role.Role{Name: "pb"})})
		return err
	}, "cloudlabs", "dev", nil)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := mocks.Named(DiskType, "pb-disk")
	if !ok {
		t.Fatalf("no %s registered: %v", DiskType, mocks.Resources())
	}
	if got, want := d.Str("dir"), "/state/dev/disks/pb"; got != want {
		t.Errorf("disk dir %q, want %q", got, want)
	}
	h, ok := mocks.Named(HostType, "pb")
	if !ok {
		t.Fatalf("no %s registered", HostType)
	}
	if got := h.Str("dataDir"); got != "/state/dev/disks/pb" {
		t.Errorf("host dataDir %q, want the disk's dir", got)
	}
}

func TestMachineRefusesReservedNames(t *testing.T) {
	for _, name := range []string{"artifacts", "disks"} {
		t.Run(name, func(t *testing.T) {
			_, err := offline.Run(func(ctx *pulumi.Context) error {
				p, err := New(ctx, Settings{StateDir: "/state"})
				if err != nil {
					return err
				}
				_, err = p.Machine(ctx, name, platform.MachineArgs{Role: platform.ConstRole(role.Role{Name: "x"})})
				return err
			}, "cloudlabs", "dev", nil)
			if err == nil || !strings.Contains(err.Error(), "choose another machine name") {
				t.Fatalf("error %v, want a refusal of the name %s", err, name)
			}
		})
	}
}

func TestMachineSecrets(t *testing.T) {
	const path = "/state/dev/riak/etc/riak/cookie"
	run := func(hook func(string, platform.Layout, platform.MachineArgs) (pulumi.StringMapInput, error)) (*offline.Mocks, error) {
		prev := machineSecrets
		machineSecrets = hook
		defer func() { machineSecrets = prev }()
		return offline.Run(func(ctx *pulumi.Context) error {
			p, err := New(ctx, Settings{StateDir: "/state"})
			if err != nil {
				return err
			}
			_, err = p.Machine(ctx, "riak", platform.MachineArgs{
				Role:    platform.ConstRole(role.Role{Name: "riak", Secrets: []role.SecretFile{{Name: "riak-cookie", Path: path, Mode: "0600"}}}),
				Secrets: map[string]pulumi.StringOutput{"riak-cookie": pulumi.String("c00kie").ToStringOutput()},
			})
			return err
		}, "cloudlabs", "dev", nil)
	}
	t.Run("hook fills the secret input", func(t *testing.T) {
		mocks, err := run(func(name string, l platform.Layout, args platform.MachineArgs) (pulumi.StringMapInput, error) {
			return pulumi.StringMap{path: args.Secrets["riak-cookie"]}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		h, ok := mocks.Named(HostType, "riak")
		if !ok {
			t.Fatalf("no %s registered", HostType)
		}
		v := h.Inputs["secrets"]
		if !v.ContainsSecrets() {
			t.Fatalf("secrets input %v is not a Pulumi secret", v)
		}
		if got := v.SecretValue().Element.ObjectValue()[path]; !got.IsString() || got.StringValue() != "c00kie" {
			t.Fatalf("secrets input %v, want %s -> the secret", v, path)
		}
	})
	t.Run("no hook fails", func(t *testing.T) {
		if _, err := run(nil); err == nil || !strings.Contains(err.Error(), "cannot deliver") {
			t.Fatalf("error %v, want one saying the secrets cannot be delivered", err)
		}
	})
}

func TestPublishPreviewWritesNothing(t *testing.T) {
	src := filepath.Join(t.TempDir(), "app")
	if err := os.WriteFile(src, []byte("binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	const sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		name    string
		dryRun  bool
		written bool
	}{
		{"preview", true, false},
		{"up", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := t.TempDir()
			var url string
			err := pulumi.RunErr(func(ctx *pulumi.Context) error {
				p, err := New(ctx, Settings{StateDir: state})
				if err != nil {
					return err
				}
				out, err := p.Publish(ctx, platform.Artifact{Name: "app", Path: src, SHA256: sha})
				if err != nil {
					return err
				}
				// Exports are awaited before RunErr returns.
				ctx.Export("url", out.ApplyT(func(s string) string { url = s; return s }))
				return nil
			}, pulumi.WithMocks("cloudlabs", "dev", &offline.Mocks{}), func(info *pulumi.RunInfo) { info.DryRun = tt.dryRun })
			if err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(state, "dev", "artifacts", "app-"+sha[:12])
			if url != "file://"+dst {
				t.Errorf("url %q, want file://%s", url, dst)
			}
			_, err = os.Stat(dst)
			if written := err == nil; written != tt.written {
				t.Fatalf("artifact written %v (%v), want %v", written, err, tt.written)
			}
			if !tt.written {
				if _, err := os.Stat(state + "/dev"); !os.IsNotExist(err) {
					t.Fatalf("preview made %s/dev: %v", state, err)
				}
			}
		})
	}
}
