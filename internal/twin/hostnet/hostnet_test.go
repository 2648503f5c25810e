package hostnet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// probeTimeout bounds every connection attempt a test makes: a filtered
// port answers nothing, so a probe of one ends here.
const probeTimeout = 700 * time.Millisecond

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("network namespaces, veths and nftables need root: run this package's tests as root (CI does)")
	}
}

// testNetwork brings up a network of this test alone and sweeps it when
// the test ends; it returns the network and what of it exists, counted
// before anything was made.
func testNetwork(t *testing.T) Network {
	t.Helper()
	needRoot(t)
	id := StackID(fmt.Sprintf("test %s %d", t.Name(), os.Getpid()))
	if ns, _ := Namespaces(id); len(ns) != 0 {
		t.Fatalf("namespaces of a fresh id before the test: %v", ns)
	}
	t.Cleanup(func() { _, _ = Sweep(id) })
	n, err := Claim(netip.MustParsePrefix(DefaultRange), id)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func hostAt(n Network, machine string, last byte) Host {
	a := n.Subnet.Addr().As4()
	a[3] = last
	return Host{Net: n, Machine: machine, Addr: netip.AddrFrom4(a)}
}

// listen opens a TCP listener inside h's namespace that accepts and
// closes connections until the test ends.
func listen(t *testing.T, h Host, port int) {
	t.Helper()
	var ln net.Listener
	err := In(h.NamespacePath(), func() (err error) {
		ln, err = net.Listen("tcp", net.JoinHostPort(h.Addr.String(), strconv.Itoa(port)))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

// dial probes once, bounded, from this machine (ns "") or from inside
// the namespace at ns.
func dial(ns, addr string) error { return Probe(ns, addr, probeTimeout) }

func TestFirewallAdmitsExactlyTheRules(t *testing.T) {
	n := testNetwork(t)
	lb, backend, other := hostAt(n, "lb", 10), hostAt(n, "backend", 11), hostAt(n, "other", 12)
	for _, h := range []Host{lb, backend, other} {
		if err := h.Ensure(); err != nil {
			t.Fatal(err)
		}
	}
	const public, private, unlisted = 8080, 9090, 7070
	rules := []Inbound{
		{From: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}, Ports: []PortRange{{public, public}}},
		{From: []netip.Prefix{netip.PrefixFrom(lb.Addr, 32)}, Ports: []PortRange{{private - 1, private + 1}}},
	}
	if err := backend.Firewall(rules); err != nil {
		t.Fatal(err)
	}
	for _, p := range []int{public, private, unlisted} {
		listen(t, backend, p)
	}
	addr := func(p int) string { return net.JoinHostPort(backend.Addr.String(), strconv.Itoa(p)) }
	tests := []struct {
		name string
		from string // namespace path; "" is this machine
		port int
		open bool
	}{
		{"public port from this machine", "", public, true},
		{"backend port from this machine", "", private, false},
		{"backend port from the allowed host", lb.NamespacePath(), private, true},
		{"backend port from another host of the network", other.NamespacePath(), private, false},
		{"public port from another host", other.NamespacePath(), public, true},
		{"unlisted port from the allowed host", lb.NamespacePath(), unlisted, false},
		{"the host to itself", backend.NamespacePath(), unlisted, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := dial(tt.from, addr(tt.port))
			if tt.open && err != nil {
				t.Fatalf("dial %s: %v, want open", addr(tt.port), err)
			}
			if !tt.open {
				if err == nil {
					t.Fatalf("dial %s connected, want filtered", addr(tt.port))
				}
				// Filtered means dropped: the probe times out, no RST.
				if !Filtered(err) {
					t.Fatalf("dial %s: %v, want a timeout (dropped), not a refusal", addr(tt.port), err)
				}
			}
		})
	}
	t.Run("rules replaced in place", func(t *testing.T) {
		if err := backend.Firewall(nil); err != nil {
			t.Fatal(err)
		}
		if err := dial("", addr(public)); err == nil {
			t.Fatal("the public port is still open after the rules were emptied")
		}
		tabs, err := backend.Tables()
		if err != nil {
			t.Fatal(err)
		}
		if len(tabs) != 1 {
			t.Fatalf("tables %v, want exactly the one cloudlabs table", tabs)
		}
	})
}

func TestSweepLeavesNothing(t *testing.T) {
	n := testNetwork(t)
	hosts := []Host{hostAt(n, "a", 2), hostAt(n, "b", 3), hostAt(n, "c", 4)}
	for _, h := range hosts {
		if err := h.Ensure(); err != nil {
			t.Fatal(err)
		}
	}
	// A process left inside a namespace, as a killed run leaves one.
	var cmd *exec.Cmd
	if err := In(hosts[0].NamespacePath(), func() error {
		cmd = exec.Command("sleep", "300")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		return cmd.Start()
	}); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait() }()
	if got := Members(hosts[0].NamespacePath()); len(got) != 1 || got[0] != cmd.Process.Pid {
		t.Fatalf("members of %s: %v, want [%d]", hosts[0].Namespace(), got, cmd.Process.Pid)
	}
	nss, err := Namespaces(n.ID)
	if err != nil {
		t.Fatal(err)
	}
	links, err := Links(n.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(nss) != 3 || len(links) != 4 {
		t.Fatalf("before the sweep: %d namespaces, %d links; want 3 and 4 (bridge + 3 veths)", len(nss), len(links))
	}
	sw, err := Sweep(n.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sw.Namespaces != 3 || sw.Processes != 1 || sw.Links != 4 {
		t.Fatalf("swept %+v, want 3 namespaces, 1 process, 4 links", sw)
	}
	nss, _ = Namespaces(n.ID)
	links, _ = Links(n.ID)
	if len(nss) != 0 || len(links) != 0 {
		t.Fatalf("after the sweep: namespaces %v, %d links", nss, len(links))
	}
	if again, err := Sweep(n.ID); err != nil || again != (Swept{}) {
		t.Fatalf("second sweep %+v, %v: want nothing left to sweep", again, err)
	}
}

func TestEnsureReplacesALeftover(t *testing.T) {
	n := testNetwork(t)
	h := hostAt(n, "slot", 20)
	// A namespace of the host's name with no veth: what a run killed
	// between the two steps leaves.
	ns, err := newNamed(h.Namespace())
	if err != nil {
		t.Fatal(err)
	}
	ns.Close()
	if err := h.Ensure(); err != nil {
		t.Fatalf("Ensure over a leftover: %v", err)
	}
	listen(t, h, 8080)
	if err := h.Firewall([]Inbound{{From: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}, Ports: []PortRange{{8080, 8080}}}}); err != nil {
		t.Fatal(err)
	}
	if err := dial("", net.JoinHostPort(h.Addr.String(), "8080")); err != nil {
		t.Fatalf("host not reachable after Ensure over a leftover: %v", err)
	}
	moved := hostAt(n, "slot", 21)
	if err := moved.Ensure(); err != nil {
		t.Fatal(err)
	}
	if !moved.wired(mustBridge(t, n)) {
		t.Fatal("Ensure with a new address left the old wiring")
	}
	if err := moved.Ensure(); err != nil {
		t.Fatalf("Ensure of a host already wired: %v", err)
	}
}

func mustBridge(t *testing.T, n Network) netlink.Link {
	t.Helper()
	br, err := netlink.LinkByName(BridgeName(n.ID))
	if err != nil {
		t.Fatal(err)
	}
	return br
}

func TestShapeRateAndNetem(t *testing.T) {
	n := testNetwork(t)
	h := hostAt(n, "slow", 30)
	if err := h.Ensure(); err != nil {
		t.Fatal(err)
	}
	if err := h.Shape(Shape{RateKbit: 8000}); err != nil {
		t.Fatalf("Shape(rate): %v", err)
	}
	if in, out, err := h.Qdiscs(); err != nil || in != "tbf" || out != "tbf" {
		t.Fatalf("root qdiscs %q/%q (%v), want tbf on both ends", in, out, err)
	}
	err := h.Shape(Shape{RateKbit: 8000, DelayMs: 50})
	in, out, qerr := h.Qdiscs()
	if qerr != nil {
		t.Fatal(qerr)
	}
	switch {
	case err == nil && in == "netem":
		t.Logf("netem available: %s/%s", in, out)
	case errors.Is(err, ErrNoNetem) && in == "tbf":
		t.Logf("netem not on this kernel, rate kept: %v", err)
	default:
		t.Fatalf("Shape(delay): %v, qdisc %q: want netem, or ErrNoNetem with tbf kept", err, in)
	}
	if out != "tbf" {
		t.Fatalf("bridge end %q, want tbf", out)
	}
	if err := h.Shape(Shape{}); err != nil {
		t.Fatal(err)
	}
	if in, out, _ := h.Qdiscs(); in == "tbf" || in == "netem" || out == "tbf" {
		t.Fatalf("after Shape{}: %q/%q, want the defaults back", in, out)
	}
}

func TestChooseSubnet(t *testing.T) {
	pool := netip.MustParsePrefix("10.213.0.0/16")
	first, err := chooseSubnet(pool, "abc", nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		pool netip.Prefix
		used []netip.Prefix
		want string // "" means an error
	}{
		{"free: the id's own candidate", pool, nil, first.String()},
		{"taken by an address: the next /24", pool, []netip.Prefix{netip.PrefixFrom(first.Addr().Next(), 32)}, next24(first).String()},
		{"two taken: the one after", pool, []netip.Prefix{first, next24(first)}, next24(next24(first)).String()},
		{"a /24 pool that is in use", netip.MustParsePrefix("192.0.2.0/24"), []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, ""},
		{"a pool smaller than /24", netip.MustParsePrefix("10.1.1.0/25"), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := chooseSubnet(tt.pool, "abc", tt.used)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("got %s, want an error", got)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Fatalf("got %s (%v), want %s", got, err, tt.want)
			}
		})
	}
}

func next24(p netip.Prefix) netip.Prefix {
	a := p.Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8
	v += 256
	if v>>16 != uint32(a[0])<<8|uint32(a[1]) {
		v -= 1 << 16 // wrapped past the /16: back to its first /24
	}
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), 0}), 24)
}

// TestEnsureRefusesATakenSubnet: two stacks that chose the same /24 (at
// once, before either bridge existed) never share it: the second is
// refused, naming the overlap.
func TestEnsureRefusesATakenSubnet(t *testing.T) {
	n := testNetwork(t)
	other := Network{ID: StackID(fmt.Sprintf("other %s %d", t.Name(), os.Getpid())), Subnet: n.Subnet}
	t.Cleanup(func() { _, _ = Sweep(other.ID) })
	err := other.Ensure()
	if err == nil || !strings.Contains(err.Error(), "overlaps") {
		t.Fatalf("Ensure of a second network on %s: %v, want a refusal naming the overlap", n.Subnet, err)
	}
	if other.Up() {
		t.Fatal("the refused network's bridge exists")
	}
	if err := n.Ensure(); err != nil {
		t.Fatalf("Ensure of the network that holds the subnet: %v", err)
	}
}
