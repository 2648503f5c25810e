package verify

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/twin/hostnet"
	"github.com/cloudlabs/cloudlabs/internal/twin/supervise"
)

// TestLocalDialsFromTheHostsNamespace: a twin host in namespace mode
// whose firewall admits nothing from this machine still answers Local's
// Dial, which connects from inside the host, as SSH's does.
func TestLocalDialsFromTheHostsNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("network namespaces need root: run this test as root (CI does)")
	}
	id := hostnet.StackID(fmt.Sprintf("verify test %d", os.Getpid()))
	t.Cleanup(func() { _, _ = hostnet.Sweep(id) })
	sub, err := hostnet.ChooseSubnet(netip.MustParsePrefix(hostnet.DefaultRange), id)
	if err != nil {
		t.Fatal(err)
	}
	n := hostnet.Network{ID: id, Subnet: sub}
	if err := n.Ensure(); err != nil {
		t.Fatal(err)
	}
	a := sub.Addr().As4()
	a[3] = 5
	h := hostnet.Host{Net: n, Machine: "backend", Addr: netip.AddrFrom4(a)}
	if err := h.Ensure(); err != nil {
		t.Fatal(err)
	}
	if err := h.Firewall(nil); err != nil {
		t.Fatal(err)
	}
	var ln net.Listener
	if err := hostnet.In(h.NamespacePath(), func() (err error) { ln, err = net.Listen("tcp", h.Addr.String()+":8080"); return err }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	dir := t.TempDir()
	local := Local{Dir: dir, Bind: h.Addr.String()}
	dial := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
		defer cancel()
		c, err := local.Dial(ctx, 8080)
		if err != nil {
			return err
		}
		return c.Close()
	}
	if err := dial(); err == nil {
		t.Fatal("Dial without a recorded namespace connected through a firewall that admits nothing from this machine")
	}
	if err := os.MkdirAll(filepath.Dir(supervise.NetNSFile(dir)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(supervise.NetNSFile(dir), []byte(h.NamespacePath()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := dial(); err != nil {
		t.Fatalf("Dial from the host's namespace: %v", err)
	}
}
