package testkit

import (
	"fmt"
	"net/netip"
	"os"
	"testing"

	"github.com/cloudlabs/cloudlabs/internal/twin/hostnet"
)

// NetnsHost makes a stack network of this test alone with one host in
// it (address .last of the network's /24), swept when the test ends. It
// fails, never skips, without root.
func NetnsHost(t testing.TB, machine string, last byte) hostnet.Host {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("network namespaces, veths and nftables need root: run this test as root (CI does)")
	}
	id := hostnet.StackID(fmt.Sprintf("%s %d", t.Name(), os.Getpid()))
	t.Cleanup(func() { _, _ = hostnet.Sweep(id) })
	n, err := hostnet.Claim(netip.MustParsePrefix(hostnet.DefaultRange), id)
	if err != nil {
		t.Fatal(err)
	}
	a := n.Subnet.Addr().As4()
	a[3] = last
	h := hostnet.Host{Net: n, Machine: machine, Addr: netip.AddrFrom4(a)}
	if err := h.Ensure(); err != nil {
		t.Fatal(err)
	}
	return h
}
