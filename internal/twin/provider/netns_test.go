package provider

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
	"github.com/cloudlabs/cloudlabs/internal/twin/hostnet"
	"github.com/cloudlabs/cloudlabs/internal/twin/supervise"
)

// probe bounds every connection attempt of the namespace tests: a
// filtered port answers nothing, so its probe ends here.
const probe = 700 * time.Millisecond

func dialFrom(ns, addr string) error { return hostnet.Probe(ns, addr, probe) }

func filtered(err error) bool { return hostnet.Filtered(err) }

// netStack is a stack network of one test: its id, subnet and registry.
type netStack struct {
	id, dir string
	subnet  netip.Prefix
}

func newNetStack(t *testing.T) netStack {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("namespace mode needs root: run this test as root (CI does)")
	}
	dir := filepath.Join(t.TempDir(), "stack")
	id := hostnet.StackID(dir)
	t.Cleanup(func() { _, _ = hostnet.Sweep(id) })
	// Claimed (bridge up) now, so a test running at once elsewhere cannot
	// choose the same /24 before the Network resource makes it.
	n, err := hostnet.Claim(netip.MustParsePrefix(hostnet.DefaultRange), id)
	if err != nil {
		t.Fatal(err)
	}
	return netStack{id: id, dir: dir, subnet: n.Subnet}
}

func (s netStack) addr(last byte) string {
	a := s.subnet.Addr().As4()
	a[3] = last
	return netip.AddrFrom4(a).String()
}

func (s netStack) networkArgs() property.Map {
	return property.NewMap(map[string]property.Value{
		"name": property.New("e2e"), "stackId": property.New(s.id),
		"subnet": property.New(s.subnet.String()), "dir": property.New(filepath.Join(s.dir, "network")),
	})
}

func (s netStack) ruleArgs(to, from string, cidrs []string, port int) property.Map {
	m := map[string]property.Value{
		"network": property.New(filepath.Join(s.dir, "network")),
		"to":      property.New(to),
		"ports": property.New([]property.Value{property.New(property.NewMap(map[string]property.Value{
			"from": property.New(float64(port)), "to": property.New(float64(port)),
		}))}),
	}
	if from != "" {
		m["from"] = property.New(from)
	}
	if len(cidrs) > 0 {
		var vs []property.Value
		for _, c := range cidrs {
			vs = append(vs, property.New(c))
		}
		m["cidrs"] = property.New(vs)
	}
	return property.NewMap(m)
}

// hostIn is a Host's inputs on the network, in group.
func (s netStack) hostIn(t *testing.T, name, bind, group string, r role.Role) property.Map {
	in := hostArgs(t, filepath.Join(s.dir, name), bind, r, nil, "").Set("name", property.New(name))
	return in.Set("net", property.New(property.NewMap(map[string]property.Value{
		"network": property.New(filepath.Join(s.dir, "network")),
		"group":   property.New(group),
	})))
}

// webRole serves HTTP on port 80, no offset in namespace mode (as root:
// a namespace keeps the kernel's rule that only root binds below 1024).
func webRole(bind string) role.Role {
	return role.Role{Name: "web", Services: []role.Service{{Name: "web", Exec: "/usr/bin/python3",
		Args: []string{"-m", "http.server", "--bind", bind, "80"}, Port: 80, Health: "/"}}}
}

// memcachedRole listens on port.
func memcachedRole(mc, bind string, port int) role.Role {
	return role.Role{Name: "mc", Services: []role.Service{{Name: "memcached", Exec: mc,
		Args: []string{"-l", bind, "-p", strconv.Itoa(port), "-U", "0", "-m", "8", "-u", "nobody"}, Port: port}}}
}

// TestNamespaceHostsEnforceTheRules stands up a network, a public host
// and a backend, and the two rules a load balancer and its backend have:
// the public port open to everyone, the backend's only to the front's
// group. Then it deletes them as destroy does and counts what is left.
func TestNamespaceHostsEnforceTheRules(t *testing.T) {
	s := newNetStack(t)
	mc := testkit.Binary(t, "memcached", "memcached")
	nss, _ := hostnet.Namespaces(s.id)
	links, _ := hostnet.Links(s.id)
	if len(nss) != 0 || len(links) != 1 {
		t.Fatalf("before: %d namespaces, %d links of a fresh stack; want none but the claimed bridge", len(nss), len(links))
	}
	rg := newRig(t)
	network, err := rg.create("cloudlabs:local:Network", "e2e-net", s.networkArgs())
	if err != nil {
		t.Fatalf("Create network: %v", err)
	}
	frontIP, backIP := s.addr(17), s.addr(42)
	front, err := rg.create("cloudlabs:local:Host", "front", s.hostIn(t, "front", frontIP, "lb", webRole(frontIP)))
	if err != nil {
		t.Fatalf("Create front: %v", err)
	}
	back, err := rg.create("cloudlabs:local:Host", "back", s.hostIn(t, "back", backIP, "app", memcachedRole(mc, backIP, 11211)))
	if err != nil {
		t.Fatalf("Create back: %v", err)
	}
	web, err := rg.create("cloudlabs:local:Rule", "lb-http", s.ruleArgs("lb", "", []string{"0.0.0.0/0"}, 80))
	if err != nil {
		t.Fatalf("Create rule: %v", err)
	}
	app, err := rg.create("cloudlabs:local:Rule", "app-from-lb", s.ruleArgs("app", "lb", nil, 11211))
	if err != nil {
		t.Fatalf("Create rule: %v", err)
	}
	frontNS := hostnet.Namespace(s.id, "front")
	if got := supervise.HostNetNS(filepath.Join(s.dir, "front")); got != "/run/netns/"+frontNS {
		t.Fatalf("front's recorded namespace %q, want /run/netns/%s", got, frontNS)
	}

	t.Run("public port from this machine", func(t *testing.T) {
		if err := dialFrom("", net.JoinHostPort(frontIP, "80")); err != nil {
			t.Fatalf("front:80 from this machine: %v", err)
		}
	})
	t.Run("backend port filtered from this machine", func(t *testing.T) {
		if err := dialFrom("", net.JoinHostPort(backIP, "11211")); !filtered(err) {
			t.Fatalf("back:11211 from this machine: %v, want filtered", err)
		}
	})
	t.Run("backend port open from the allowed group", func(t *testing.T) {
		if err := dialFrom("/run/netns/"+frontNS, net.JoinHostPort(backIP, "11211")); err != nil {
			t.Fatalf("back:11211 from front's namespace: %v", err)
		}
	})
	t.Run("a rule's group follows its members", func(t *testing.T) {
		// front leaves group lb: the backend no longer admits it.
		in := s.hostIn(t, "front", frontIP, "web", webRole(frontIP))
		if err := front.update(in); err != nil {
			t.Fatal(err)
		}
		if err := dialFrom("/run/netns/"+frontNS, net.JoinHostPort(backIP, "11211")); !filtered(err) {
			t.Fatalf("back:11211 from a front outside group lb: %v, want filtered", err)
		}
		if err := front.update(s.hostIn(t, "front", frontIP, "lb", webRole(frontIP))); err != nil {
			t.Fatal(err)
		}
		if err := dialFrom("/run/netns/"+frontNS, net.JoinHostPort(backIP, "11211")); err != nil {
			t.Fatalf("back:11211 from front back in group lb: %v", err)
		}
	})

	nss, _ = hostnet.Namespaces(s.id)
	links, _ = hostnet.Links(s.id)
	if len(nss) != 2 || len(links) != 3 {
		t.Fatalf("while up: namespaces %v and %d links, want 2 and 3 (bridge + 2 veths)", nss, len(links))
	}
	pids := []int{}
	for _, h := range []*res{front, back} {
		for _, v := range h.state.Get("services").AsMap().All {
			pids = append(pids, int(v.AsNumber()))
		}
	}
	if len(pids) != 2 {
		t.Fatalf("services %v, want one per host", pids)
	}
	// Destroy's order: rules and hosts, then the network they name.
	for _, x := range []*res{web, app, front, back, network} {
		if err := x.delete(); err != nil {
			t.Fatalf("Delete %s: %v", x.urn.Name(), err)
		}
	}
	for _, pid := range pids {
		if !testkit.ProcessGone(pid) {
			t.Errorf("service %d still running after destroy", pid)
		}
	}
	nss, _ = hostnet.Namespaces(s.id)
	links, _ = hostnet.Links(s.id)
	if len(nss) != 0 || len(links) != 0 {
		t.Fatalf("after destroy: namespaces %v, %d links", nss, len(links))
	}
	if _, err := os.Stat(filepath.Join(s.dir, "network")); !os.IsNotExist(err) {
		t.Fatalf("registry left after destroy: %v", err)
	}
}

// TestNetworkDeleteSweepsACrashedRun: a run killed mid-up leaves a host
// the state never recorded; the network's delete (destroy's last step)
// still removes its namespace and stops its process, and a later up over
// the leftover works.
func TestNetworkDeleteSweepsACrashedRun(t *testing.T) {
	s := newNetStack(t)
	mc := testkit.Binary(t, "memcached", "memcached")
	rg := newRig(t)
	network, err := rg.create("cloudlabs:local:Network", "e2e-net", s.networkArgs())
	if err != nil {
		t.Fatal(err)
	}
	ip := s.addr(9)
	lost, err := rg.create("cloudlabs:local:Host", "lost", s.hostIn(t, "lost", ip, "app", memcachedRole(mc, ip, 11211)))
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	for _, v := range lost.state.Get("services").AsMap().All {
		pid = int(v.AsNumber())
	}
	// The engine forgets "lost"; a later up creates it again over what
	// is left: the same namespace name, a pid file of a live process.
	again, err := rg.create("cloudlabs:local:Host", "lost", s.hostIn(t, "lost", ip, "app", memcachedRole(mc, ip, 11211)))
	if err != nil {
		t.Fatalf("Create over a leftover: %v", err)
	}
	if !testkit.ProcessGone(pid) {
		t.Fatalf("the leftover memcached %d still runs beside the new host", pid)
	}
	var pid2 int
	for _, v := range again.state.Get("services").AsMap().All {
		pid2 = int(v.AsNumber())
	}
	if pid2 == 0 || pid2 == pid {
		t.Fatalf("new host's memcached pid %d (leftover %d)", pid2, pid)
	}
	// And the engine forgets it again: only the network's delete is left.
	if err := network.delete(); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, fmt.Sprintf("memcached %d gone after the sweep", pid2), 10*time.Second, func() bool { return testkit.ProcessGone(pid2) })
	nss, _ := hostnet.Namespaces(s.id)
	links, _ := hostnet.Links(s.id)
	if len(nss) != 0 || len(links) != 0 {
		t.Fatalf("after the network's delete: namespaces %v, %d links", nss, len(links))
	}
}

// TestHostLinkShaped: a host's rateKbit puts tbf on both ends of its veth;
// an update to 0 takes it off again, and the host keeps its process.
func TestHostLinkShaped(t *testing.T) {
	s := newNetStack(t)
	mc := testkit.Binary(t, "memcached", "memcached")
	rg := newRig(t)
	network, err := rg.create("cloudlabs:local:Network", "e2e-net", s.networkArgs())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = network.delete() })
	ip := s.addr(7)
	in := func(rate int) property.Map {
		m := s.hostIn(t, "slow", ip, "app", memcachedRole(mc, ip, 11211))
		n := m.Get("net").AsMap().Set("rateKbit", property.New(float64(rate)))
		return m.Set("net", property.New(n))
	}
	h, err := rg.create("cloudlabs:local:Host", "slow", in(8000))
	if err != nil {
		t.Fatal(err)
	}
	nh := hostnet.Host{Net: hostnet.Network{ID: s.id, Subnet: s.subnet}, Machine: "slow", Addr: netip.MustParseAddr(ip)}
	if inner, outer, err := nh.Qdiscs(); err != nil || inner != "tbf" || outer != "tbf" {
		t.Fatalf("qdiscs %q/%q (%v), want tbf on both ends at 8000 kbit/s", inner, outer, err)
	}
	pid := h.state.Get("services").AsMap().Get("memcached").AsNumber()
	if d := h.diff(in(0)); !d.HasChanges || d.DetailedDiff["net"].Kind != p.Update {
		t.Fatalf("diff %+v, want an in-place update of net", d.DetailedDiff)
	}
	if err := h.update(in(0)); err != nil {
		t.Fatal(err)
	}
	if inner, outer, _ := nh.Qdiscs(); inner == "tbf" || outer == "tbf" {
		t.Fatalf("qdiscs %q/%q after rateKbit 0, want tbf gone", inner, outer)
	}
	if got := h.state.Get("services").AsMap().Get("memcached").AsNumber(); got != pid {
		t.Fatalf("memcached pid %v after reshaping, want unchanged %v", got, pid)
	}
	if err := h.delete(); err != nil {
		t.Fatal(err)
	}
}
