package local

import (
	"encoding/json"
	"net"
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
			ip := net.ParseIP(a).To4()
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
