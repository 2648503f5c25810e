package provider

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/blang/semver"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/integration"
	presource "github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

// fixture is a host with a real memcached and a real nginx, driven through
// the provider's RPC surface as the engine would.
type fixture struct {
	t      *testing.T
	srv    integration.Server
	urn    presource.URN
	dir    string
	bind   string
	nginx  string
	mc     string
	src    string // a file published for the host to download
	id     string
	state  property.Map
	inputs property.Map
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	prov, err := New()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := integration.NewServer(t.Context(), "cloudlabs", semver.MustParse(Version), integration.WithProvider(prov))
	if err != nil {
		t.Fatal(err)
	}
	pid := os.Getpid()
	src := filepath.Join(t.TempDir(), "tool.sh")
	if err := os.WriteFile(src, []byte("#!/bin/sh\necho tool\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return &fixture{
		t: t, srv: srv, src: src,
		urn:   presource.NewURN("test", "cloudlabs", "", "cloudlabs:local:Host", "lb"),
		dir:   filepath.Join(t.TempDir(), "lb"),
		bind:  fmt.Sprintf("127.99.%d.%d", pid>>8&255, pid&255|1),
		nginx: testkit.Binary(t, "nginx", "nginx"),
		mc:    testkit.Binary(t, "memcached", "memcached"),
	}
}

// role is the host's role: memcached, and nginx serving the body of a
// reloadable file on :8081. memcachedMB changes memcached's flags only.
func (f *fixture) role(memcachedMB int, body string) role.Role {
	d := f.dir
	conf := fmt.Sprintf(`pid %[1]s/run/nginx.pid;
error_log %[1]s/var/log/nginx-error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path %[1]s/tmp/body;
  proxy_temp_path %[1]s/tmp/proxy;
  fastcgi_temp_path %[1]s/tmp/fastcgi;
  uwsgi_temp_path %[1]s/tmp/uwsgi;
  scgi_temp_path %[1]s/tmp/scgi;
  server { listen %[2]s:8080; location /healthz { return 200 "ok"; } }
  include %[1]s/etc/nginx/dynamic.conf;
}
`, d, f.bind)
	mcArgs := []string{"-l", f.bind, "-p", "11211", "-U", "0", "-m", strconv.Itoa(memcachedMB)}
	if os.Geteuid() == 0 {
		mcArgs = append(mcArgs, "-u", "nobody")
	}
	return role.Role{
		Name: "lb",
		Files: []role.File{
			{Path: d + "/etc/nginx/nginx.conf", Content: conf, Mode: "0644"},
			{Path: d + "/etc/nginx/dynamic.conf", Content: fmt.Sprintf("server { listen %s:8081; location / { return 200 %q; } }\n", f.bind, body), Mode: "0644"},
			{Path: d + "/tmp/.keep", Mode: "0644"},
		},
		Downloads: []role.Download{{Name: "tool", URL: "file://" + f.src, SHA256: toolSHA, Path: d + "/opt/cloudlabs/bin/tool", Mode: "0755"}},
		Services: []role.Service{
			{Name: "memcached", Exec: f.mc, Args: mcArgs, Port: 11211, LimitNOFILE: 4096},
			{Name: "nginx", Exec: f.nginx, Args: []string{"-c", d + "/etc/nginx/nginx.conf", "-p", d, "-g", "daemon off;"}, Port: 8080, Health: "/healthz"},
		},
	}
}

// toolSHA is the SHA-256 of the file fixture.src holds.
const toolSHA = "bf664cf84f00f6ed76164c8457fdeaf8e4dee547226e9ffcf8274e2d2246fed9"

func (f *fixture) args(r role.Role) property.Map {
	b, err := json.Marshal(r)
	if err != nil {
		f.t.Fatal(err)
	}
	return property.NewMap(map[string]property.Value{
		"name":     property.New("lb"),
		"stateDir": property.New(f.dir),
		"bind":     property.New(f.bind),
		"role":     property.New(string(b)),
		"reloads":  property.New(property.NewMap(map[string]property.Value{f.dir + "/etc/nginx/dynamic.conf": property.New("nginx")})),
	})
}

func (f *fixture) check(in property.Map) property.Map {
	f.t.Helper()
	resp, err := f.srv.Check(p.CheckRequest{Urn: f.urn, State: f.inputs, Inputs: in})
	if err != nil || len(resp.Failures) > 0 {
		f.t.Fatalf("Check: %v %v", err, resp.Failures)
	}
	return resp.Inputs
}

func (f *fixture) create(r role.Role) error {
	f.t.Helper()
	in := f.check(f.args(r))
	resp, err := f.srv.Create(p.CreateRequest{Urn: f.urn, Properties: in})
	if err == nil {
		f.id, f.state, f.inputs = resp.ID, resp.Properties, in
	}
	return err
}

func (f *fixture) diff(in property.Map) p.DiffResponse {
	f.t.Helper()
	resp, err := f.srv.Diff(p.DiffRequest{ID: f.id, Urn: f.urn, State: f.state, OldInputs: f.inputs, Inputs: in})
	if err != nil {
		f.t.Fatalf("Diff: %v", err)
	}
	return resp
}

// up is what `pulumi up` does for an existing host: check, diff, update.
func (f *fixture) up(r role.Role) p.DiffResponse {
	f.t.Helper()
	in := f.check(f.args(r))
	d := f.diff(in)
	if !d.HasChanges {
		return d
	}
	resp, err := f.srv.Update(p.UpdateRequest{ID: f.id, Urn: f.urn, State: f.state, OldInputs: f.inputs, Inputs: in})
	if err != nil {
		f.t.Fatalf("Update: %v", err)
	}
	f.state, f.inputs = resp.Properties, in
	return d
}

func (f *fixture) pids() map[string]int {
	m := map[string]int{}
	for k, v := range f.state.Get("services").AsMap().All {
		m[k] = int(v.AsNumber())
	}
	return m
}

func (f *fixture) get(port int) string {
	resp, err := http.Get(fmt.Sprintf("http://%s:%d/", f.bind, port))
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestHostLifecycle(t *testing.T) {
	f := newFixture(t)
	t.Cleanup(func() { _ = host{name: "lb", dir: f.dir, bind: f.bind, logf: t.Logf}.remove() })

	if err := f.create(f.role(32, "v1")); err != nil {
		t.Fatalf("Create: %v", err)
	}
	first := f.pids()
	if len(first) != 2 || !f.state.Get("healthy").AsBool() {
		t.Fatalf("after create: services %v healthy %v", first, f.state.Get("healthy"))
	}
	if got := f.state.Get("address").AsString(); got != f.bind {
		t.Fatalf("address %q, want %q", got, f.bind)
	}
	if st, err := os.Stat(f.dir + "/opt/cloudlabs/bin/tool"); err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("download not in place with mode 0755: %v", err)
	}
	if got := f.get(8081); got != "v1" {
		t.Fatalf("GET :8081 = %q, want v1", got)
	}

	t.Run("unchanged role is no diff", func(t *testing.T) {
		if d := f.diff(f.check(f.args(f.role(32, "v1")))); d.HasChanges {
			t.Fatalf("diff %+v, want none", d)
		}
	})
	t.Run("dynamic file reloads without restarting anything", func(t *testing.T) {
		d := f.up(f.role(32, "v2"))
		if d.DetailedDiff["role"].Kind != p.Update {
			t.Fatalf("diff %+v, want an in-place update of role", d.DetailedDiff)
		}
		if got := f.pids(); got["nginx"] != first["nginx"] || got["memcached"] != first["memcached"] {
			t.Fatalf("pids %v, want unchanged %v", got, first)
		}
		testkit.Eventually(t, "nginx serving v2", 15*time.Second, func() bool { return f.get(8081) == "v2" })
	})
	t.Run("changed service restarts only itself", func(t *testing.T) {
		f.up(f.role(64, "v2"))
		got := f.pids()
		// Update's Stop returns once the old process has ended (a zombie
		// has ended: testkit.ProcessGone knows it).
		if got["memcached"] == first["memcached"] || !testkit.ProcessGone(first["memcached"]) {
			t.Fatalf("memcached pid %d, want a new process (old %d)", got["memcached"], first["memcached"])
		}
		if got["nginx"] != first["nginx"] {
			t.Fatalf("nginx pid %d, want unchanged %d", got["nginx"], first["nginx"])
		}
	})
	t.Run("dead service shows as a diff and comes back", func(t *testing.T) {
		mc := f.pids()["memcached"]
		if err := syscall.Kill(mc, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		// SIGKILL is asynchronous: the port may close while the process is
		// still exiting. Read must only be asked once it has ended.
		testkit.Eventually(t, fmt.Sprintf("killed memcached %d gone", mc), 15*time.Second, func() bool { return testkit.ProcessGone(mc) })
		testkit.WaitClosed(t, f.bind+":11211", 15*time.Second)
		read, err := f.srv.Read(p.ReadRequest{ID: f.id, Urn: f.urn, Properties: f.state, Inputs: f.inputs})
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if read.Properties.Get("healthy").AsBool() || func() bool { _, ok := read.Properties.Get("services").AsMap().GetOk("memcached"); return ok }() {
			t.Fatalf("Read after kill: %v", read.Properties.Get("services"))
		}
		f.state = read.Properties
		if d := f.up(f.role(64, "v2")); !d.HasChanges {
			t.Fatal("no diff for a dead service")
		}
		if got := f.pids(); got["memcached"] == 0 || got["nginx"] != first["nginx"] {
			t.Fatalf("pids %v: want memcached back and nginx %d kept", got, first["nginx"])
		}
		if !testkit.Listening(f.bind + ":11211") {
			t.Fatal("memcached not listening after up")
		}
	})
	t.Run("new address replaces", func(t *testing.T) {
		in := f.args(f.role(64, "v2"))
		in = in.Set("bind", property.New("127.99.0.9"))
		d := f.diff(f.check(in))
		if d.DetailedDiff["bind"].Kind != p.UpdateReplace || !d.DeleteBeforeReplace {
			t.Fatalf("diff %+v, want delete-before-replace on bind", d)
		}
	})
	t.Run("delete leaves nothing", func(t *testing.T) {
		last := f.pids()
		if err := f.srv.Delete(p.DeleteRequest{ID: f.id, Urn: f.urn, Properties: f.state}); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if len(last) != 2 {
			t.Fatalf("services before delete %v, want memcached and nginx", last)
		}
		for name, pid := range last {
			// Delete's Stop returns once they ended.
			if !testkit.ProcessGone(pid) {
				t.Errorf("%s (pid %d) still running", name, pid)
			}
		}
		// The kernel frees a listening socket as its process exits, which a
		// dial right after may still race: wait, bounded.
		for _, port := range []string{"11211", "8080", "8081"} {
			testkit.WaitClosed(t, f.bind+":"+port, 10*time.Second)
		}
		if _, err := os.Stat(f.dir); !os.IsNotExist(err) {
			t.Errorf("host folder left: %v", err)
		}
	})
}

func TestHostCreateFailures(t *testing.T) {
	tests := []struct {
		name string
		edit func(f *fixture, r *role.Role)
		want []string
	}{
		{"missing package", func(f *fixture, r *role.Role) {
			r.Packages = []string{"riak"}
			r.Services[0].Exec = "/usr/sbin/riak-not-installed"
		}, []string{"not found: install it with apt-get install -y riak"}},
		{"service never healthy", func(f *fixture, r *role.Role) {
			r.Services[1].Health = "/missing" // nginx answers 404
		}, []string{"start nginx", "status 40", "last lines of"}},
		{"download with another checksum", func(f *fixture, r *role.Role) {
			r.Downloads[0].SHA256 = strings.Repeat("0", 64)
		}, []string{"download tool", "want 0000"}},
		{"file outside the host folder", func(f *fixture, r *role.Role) {
			r.Files = append(r.Files, role.File{Path: "/etc/cloudlabs-should-not-exist", Content: "x"})
		}, []string{"outside the host folder"}},
	}
	healthTimeout = 2 * time.Second
	t.Cleanup(func() { healthTimeout = 20 * time.Second })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			r := f.role(32, "v1")
			tt.edit(f, &r)
			err := f.create(r)
			if err == nil {
				t.Fatal("Create succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			// A failed create stops what it started; wait (bounded) for the
			// kernel to free the sockets of the processes that ended.
			for _, port := range []string{"11211", "8080"} {
				testkit.WaitClosed(t, f.bind+":"+port, 10*time.Second)
			}
		})
	}
}
