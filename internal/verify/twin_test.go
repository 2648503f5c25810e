package verify

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/blang/semver"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/integration"
	presource "github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/cloudlabs/cloudlabs/components"
	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/machine/artifact"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
	"github.com/cloudlabs/cloudlabs/internal/twin/provider"
	"github.com/cloudlabs/cloudlabs/internal/twin/supervise"
)

// twinRig realizes twin hosts through the real provider (the
// cloudlabs:local:Host resource served in memory, as the engine drives
// it): real folders, real fibonacci and nginx processes on loopback.
type twinRig struct {
	t     *testing.T
	srv   integration.Server
	dir   string
	hosts []*twinHost
}

type twinHost struct {
	name, dir, bind string
	role            role.Role
	urn             presource.URN
	id              string
	state, inputs   property.Map
}

func newTwinRig(t *testing.T) *twinRig {
	t.Helper()
	prov, err := provider.New()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := integration.NewServer(t.Context(), provider.Name, semver.MustParse(provider.Version), integration.WithProvider(prov))
	if err != nil {
		t.Fatal(err)
	}
	return &twinRig{t: t, srv: srv, dir: t.TempDir()}
}

// bindSeq numbers the test process's loopback addresses.
var bindSeq atomic.Int32

// layout is a host's folder and a loopback address of this test process.
func (r *twinRig) layout(name string) platform.Layout {
	n := bindSeq.Add(1)
	l := platform.Layout{Root: filepath.Join(r.dir, name), Bind: fmt.Sprintf("127.97.%d.%d", os.Getpid()&255, n%254+1), Local: true}
	if os.Geteuid() != 0 {
		l.PortOffset = 8000
	}
	return l
}

func (r *twinRig) add(name string, l platform.Layout, ro role.Role) *twinHost {
	r.t.Helper()
	b, err := json.Marshal(ro)
	if err != nil {
		r.t.Fatal(err)
	}
	in := property.NewMap(map[string]property.Value{
		"name": property.New(name), "stateDir": property.New(l.Root), "bind": property.New(l.Bind), "role": property.New(string(b)),
	})
	urn := presource.NewURN("verify", "cloudlabs", "", tokens.Type(provider.Name+":local:Host"), name)
	chk, err := r.srv.Check(p.CheckRequest{Urn: urn, State: property.Map{}, Inputs: in})
	if err != nil || len(chk.Failures) > 0 {
		r.t.Fatalf("check host %s: %v %v", name, err, chk.Failures)
	}
	resp, err := r.srv.Create(p.CreateRequest{Urn: urn, Properties: chk.Inputs})
	h := &twinHost{name: name, dir: l.Root, bind: l.Bind, role: ro, urn: urn, id: resp.ID, state: resp.Properties, inputs: chk.Inputs}
	// Delete stops the processes even of a failed create (it finds them
	// by their pid files).
	r.t.Cleanup(func() {
		if err := r.srv.Delete(p.DeleteRequest{ID: name, Urn: urn, Properties: h.state}); err != nil {
			r.t.Errorf("delete host %s: %v", name, err)
		}
	})
	if err != nil {
		r.t.Fatalf("create host %s: %v", name, err)
	}
	r.hosts = append(r.hosts, h)
	return h
}

// up is `labctl up` for one host: the provider's update with unchanged
// inputs, which starts the services that died.
func (r *twinRig) up(h *twinHost) {
	r.t.Helper()
	resp, err := r.srv.Update(p.UpdateRequest{ID: h.id, Urn: h.urn, State: h.state, OldInputs: h.inputs, Inputs: h.inputs})
	if err != nil {
		r.t.Fatalf("update host %s: %v", h.name, err)
	}
	h.state = resp.Properties
}

// deployment is the hosts as a stack export records them.
func (r *twinRig) deployment() []byte {
	r.t.Helper()
	type res struct {
		URN     string         `json:"urn"`
		Type    string         `json:"type"`
		Outputs map[string]any `json:"outputs"`
	}
	var d struct {
		Resources []res `json:"resources"`
	}
	for _, h := range r.hosts {
		b, _ := json.Marshal(h.role)
		d.Resources = append(d.Resources, res{URN: string(h.urn), Type: HostType, Outputs: map[string]any{
			"name": h.name, "dir": h.dir, "address": h.bind, "stateDir": h.dir, "bind": h.bind, "role": string(b),
			"secrets": map[string]any{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "v1:abc"},
		}})
	}
	b, err := json.Marshal(d)
	if err != nil {
		r.t.Fatal(err)
	}
	return b
}

// fleet is a twin fibonacci fleet: two backends and the nginx LB in front.
type fleet struct {
	rig      *twinRig
	nodes    []*twinHost
	lb       *twinHost
	lbURL    string
	backends []string
}

func newFleet(t *testing.T) *fleet {
	t.Helper()
	testkit.Binary(t, "nginx", "nginx")
	bin := testkit.BuildApp(t, "apps/fibonacci")
	sum, err := artifact.FileSHA256(bin)
	if err != nil {
		t.Fatal(err)
	}
	r := newTwinRig(t)
	f := &fleet{rig: r}
	for i := 1; i <= 2; i++ {
		l := r.layout(fmt.Sprintf("fib-%d", i))
		f.nodes = append(f.nodes, r.add(fmt.Sprintf("fib-%d", i), l, components.FibonacciRole(l, bin, sum, 90)))
		f.backends = append(f.backends, net.JoinHostPort(l.Bind, strconv.Itoa(l.Port(components.FibonacciPort))))
	}
	l := r.layout("lb")
	lb, err := components.LBRole(l)
	if err != nil {
		t.Fatal(err)
	}
	up, err := components.UpstreamsFile(f.backends)
	if err != nil {
		t.Fatal(err)
	}
	lb.Files = append(lb.Files, role.File{Path: l.Path(components.UpstreamsPath), Content: up, Mode: "0644"})
	f.lb = r.add("lb", l, lb)
	f.lbURL = "http://" + net.JoinHostPort(l.Bind, strconv.Itoa(l.Port(components.HTTPPort)))
	return f
}

// checks are what verify runs on the fleet: each host's role checks, read
// from the stack's state, and the LB's cross check.
func (f *fleet) checks(t *testing.T) []Check {
	t.Helper()
	hosts, err := TwinHosts(f.rig.deployment())
	if err != nil {
		t.Fatal(err)
	}
	if len(hosts) != 3 {
		t.Fatalf("TwinHosts: %d hosts, want 3", len(hosts))
	}
	var cs []Check
	for _, h := range hosts {
		cs = append(cs, ChecksFor(h.Machine())...)
	}
	return append(cs, LBBackends("fibonacci", f.lbURL, f.backends))
}

// kill kills a node's fibonacci process by hand and waits until it ended.
func (f *fleet) kill(t *testing.T, h *twinHost) int {
	t.Helper()
	pid := supervise.Alive(supervise.PidFile(h.dir, "fibonacci"))
	if pid == 0 {
		t.Fatalf("%s: fibonacci is not running before the kill", h.name)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, fmt.Sprintf("pid %d ending", pid), 10*time.Second, func() bool { return testkit.ProcessGone(pid) })
	return pid
}

// wantChecks is every check the fleet derives: per backend its service,
// port, health and download; per LB its service, port, health, three
// rendered files and the nginx package; the LB's backends.
var wantChecks = []string{
	"fib-1/service:fibonacci", "fib-1/port:fibonacci", "fib-1/health:fibonacci", "fib-1/download:fibonacci",
	"fib-2/service:fibonacci", "fib-2/port:fibonacci", "fib-2/health:fibonacci", "fib-2/download:fibonacci",
	"lb/service:nginx", "lb/port:nginx", "lb/health:nginx",
	"lb/file:/etc/cloudlabs/nginx/nginx.conf", "lb/file:/var/lib/cloudlabs/nginx/.keep", "lb/file:/etc/cloudlabs/nginx/upstreams.conf",
	"lb/package:nginx", "fibonacci/lb-backends",
}

func TestTwinVerify(t *testing.T) {
	f := newFleet(t)
	run := Runner{Parallel: 4, Timeout: 20 * time.Second, Retries: 1, Backoff: 200 * time.Millisecond}
	failed := func(rs []Result) map[string]Result {
		m := map[string]Result{}
		for _, r := range rs {
			if r.Failed() {
				m[r.ID()] = r
			}
		}
		return m
	}

	t.Run("passes on every machine and lists every check", func(t *testing.T) {
		var progress int
		r := run
		r.Progress = func(done, total int, _ Result) { progress = done }
		rs := r.Run(t.Context(), f.checks(t))
		if len(rs) != len(wantChecks) {
			t.Fatalf("%d results, want %d: %+v", len(rs), len(wantChecks), rs)
		}
		for i, id := range wantChecks {
			if rs[i].ID() != id {
				t.Errorf("result %d is %s, want %s", i, rs[i].ID(), id)
			}
		}
		if fs := failed(rs); len(fs) != 0 {
			t.Errorf("failures on a healthy twin:\n%s", Failures(rs))
		}
		if progress != len(rs) {
			t.Errorf("progress reached %d of %d", progress, len(rs))
		}
		if pkg := find(t, rs, "lb", "package:nginx"); pkg.Skipped == "" {
			t.Errorf("package:nginx on the twin: %+v, want skipped with a reason", pkg)
		}
	})

	t.Run("hand-edited rendered file is drift with both hashes", func(t *testing.T) {
		conf := filepath.Join(f.lb.dir, "etc/cloudlabs/nginx/nginx.conf")
		orig, err := os.ReadFile(conf)
		if err != nil {
			t.Fatal(err)
		}
		edited := append(append([]byte(nil), orig...), "# tuned by hand\n"...)
		if err := os.WriteFile(conf, edited, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.WriteFile(conf, orig, 0o644) })
		rs := run.Run(t.Context(), f.checks(t))
		fs := failed(rs)
		if len(fs) != 1 {
			t.Fatalf("%d failures, want the edited file alone:\n%s", len(fs), Failures(rs))
		}
		d, ok := fs["lb/file:/etc/cloudlabs/nginx/nginx.conf"]
		if !ok {
			t.Fatalf("the drift is not reported on lb/file:/etc/cloudlabs/nginx/nginx.conf:\n%s", Failures(rs))
		}
		if d.Status != Critical || !strings.Contains(d.Expected, sha(string(orig))) || !strings.Contains(d.Found, sha(string(edited))) {
			t.Errorf("drift: %s expected %q found %q, want CRITICAL with the rendered hash %s and the found hash %s", d.Status, d.Expected, d.Found, sha(string(orig)), sha(string(edited)))
		}
	})

	t.Run("killed backend fails naming the machine and the check", func(t *testing.T) {
		victim := f.nodes[1]
		pid := f.kill(t, victim)
		t.Cleanup(func() { f.rig.up(victim) })
		rs := run.Run(t.Context(), f.checks(t))
		fs := failed(rs)
		want := []string{"fib-2/service:fibonacci", "fib-2/port:fibonacci", "fib-2/health:fibonacci", "fibonacci/lb-backends"}
		if len(fs) != len(want) {
			t.Errorf("%d failures, want %d (%v):\n%s", len(fs), len(want), want, Failures(rs))
		}
		for _, id := range want {
			if r, ok := fs[id]; !ok || r.Status != Critical {
				t.Errorf("%s: got %+v, want CRITICAL", id, r)
			}
		}
		if got := fs["fib-2/service:fibonacci"].Found; !strings.Contains(got, fmt.Sprintf("pid %d", pid)) {
			t.Errorf("service check found %q, want the dead pid %d named", got, pid)
		}
		if got := fs["fibonacci/lb-backends"].Found; !strings.Contains(got, "never answered: "+f.backends[1]) {
			t.Errorf("lb-backends found %q, want %s named as never answering", got, f.backends[1])
		}
		if msg := Failures(rs); !strings.Contains(msg, "CRITICAL fib-2 service:fibonacci: expected running, found") {
			t.Errorf("Failures does not name machine, check, expected and found:\n%s", msg)
		}
	})

	t.Run("parked service passes with its port closed, and fails if the port opens", func(t *testing.T) {
		victim := f.nodes[0]
		if err := supervise.Park(victim.dir, "fibonacci"); err != nil {
			t.Fatal(err)
		}
		f.kill(t, victim)
		t.Cleanup(func() { _ = supervise.Unpark(victim.dir, "fibonacci"); f.rig.up(victim) })
		testkit.WaitClosed(t, f.backends[0], 10*time.Second)
		own := func(rs []Result) []Result {
			var out []Result
			for _, r := range rs {
				if r.Machine == victim.name {
					out = append(out, r)
				}
			}
			return out
		}
		rs := own(run.Run(t.Context(), f.checks(t)))
		if len(rs) != 4 {
			t.Fatalf("%d checks of %s, want 4", len(rs), victim.name)
		}
		for _, r := range rs {
			if r.Failed() {
				t.Errorf("%s on a parked service: %s expected %q found %q", r.ID(), r.Status, r.Expected, r.Found)
			}
		}
		if got := find(t, rs, victim.name, "service:fibonacci").Found; !strings.Contains(got, "parked") {
			t.Errorf("service check found %q, want it to say parked", got)
		}
		// Something listening on a parked slot's port is a failure.
		ln, err := net.Listen("tcp", f.backends[0])
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		rs = own(Runner{Timeout: 5 * time.Second}.Run(t.Context(), f.checks(t)))
		if r := find(t, rs, victim.name, "port:fibonacci"); r.Status != Critical {
			t.Errorf("port check with a listener on a parked port: %+v, want CRITICAL", r)
		}
	})
}
