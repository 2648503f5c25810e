package verify

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
	"github.com/cloudlabs/cloudlabs/internal/twin/hostnet"
	"github.com/cloudlabs/cloudlabs/internal/twin/supervise"
)

// TestLocalDialsFromTheHostsNamespace: a twin host in namespace mode
// whose firewall admits nothing from this machine still answers Local's
// Dial, which connects from inside the host, as SSH's does.
func TestLocalDialsFromTheHostsNamespace(t *testing.T) {
	h := testkit.NetnsHost(t, "backend", 5)
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
