package supervise

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
	"github.com/cloudlabs/cloudlabs/internal/twin/hostnet"
)

// TestStartInNamespace starts a real HTTP server in a host's namespace
// whose firewall admits nothing from outside: the health check must pass
// from inside, and the process must be a member of that namespace.
func TestStartInNamespace(t *testing.T) {
	python := "/usr/bin/python3" // Debian's, not a shim that depends on the caller's environment
	h := testkit.NetnsHost(t, "web", 9)
	if err := h.Firewall(nil); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(dir+"/run/cloudlabs", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(NetNSFile(dir), []byte(h.NamespacePath()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := HostSpec(dir, h.Addr.String(), roleService(python, h.Addr.String()), 10*time.Second)
	if s.NetNS != h.NamespacePath() || s.Health.NetNS != h.NamespacePath() {
		t.Fatalf("HostSpec NetNS %q, health %q: want both %q from %s", s.NetNS, s.Health.NetNS, h.NamespacePath(), NetNSFile(dir))
	}
	t.Cleanup(func() { _ = Stop(s.PidFile, time.Second) })
	id1, err := Start(context.Background(), s)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if m := hostnet.Members(h.NamespacePath()); !slices.Contains(m, id1.Pid) {
		t.Fatalf("pid %d not in namespace %s (members %v)", id1.Pid, h.Namespace(), m)
	}
	outside := Health{Addr: s.Health.Addr, Path: "/"}
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	if err := outside.Check(ctx); err == nil {
		t.Fatal("the health check passed from this machine through a firewall that admits nothing")
	}
	if err := Stop(s.PidFile, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if m := hostnet.Members(h.NamespacePath()); len(m) != 0 {
		t.Fatalf("namespace still has members %v after Stop", m)
	}
}

func roleService(python, bind string) role.Service {
	return role.Service{Name: "web", Exec: python, Args: []string{"-m", "http.server", "--bind", bind, "8080"}, Port: 8080, Health: "/"}
}
