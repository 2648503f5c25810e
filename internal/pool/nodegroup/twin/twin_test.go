package twin

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/pool/nodegroup"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
	"github.com/cloudlabs/cloudlabs/internal/twin/supervise"
)

// CachenodeSlot lays out one twin host folder running the real cachenode
// binary bin on free loopback ports.
func cachenodeSlot(t *testing.T, bin, name string) Slot {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	port, admin := testkit.FreePort(t), testkit.FreePort(t)
	tok := filepath.Join(dir, "etc/admin.token")
	if err := os.MkdirAll(filepath.Dir(tok), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tok, []byte("tok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return Slot{
		Slot: nodegroup.Slot{Name: name, Addr: fmt.Sprintf("127.0.0.1:%d", port), Admin: fmt.Sprintf("127.0.0.1:%d", admin)},
		Dir:  dir, Bind: "127.0.0.1",
		Service: role.Service{Name: "cachenode", Exec: bin, Port: port, Args: []string{
			"--listen", "127.0.0.1:" + strconv.Itoa(port), "--admin-listen", fmt.Sprintf("127.0.0.1:%d", admin),
			"--admin-token-file", tok, "--capacity", "8MB"}},
	}
}

func TestStartStopSupervisedCachenode(t *testing.T) {
	bin := testkit.BuildApp(t, "apps/cachenode")
	s := cachenodeSlot(t, bin, "pool-0")
	g, err := New([]Slot{s})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Stop(context.Background(), s.Slot) })
	ctx := context.Background()
	if g.MaxSize() != 1 || len(g.Slots()) != 1 || g.Slots()[0] != s.Slot {
		t.Fatalf("Slots = %+v, want [%+v]", g.Slots(), s.Slot)
	}
	if err := g.Ready(ctx, s.Slot); err == nil {
		t.Fatal("Ready before Start = nil, want an error (nothing listens)")
	}
	if err := g.Start(ctx, s.Slot); err != nil {
		t.Fatal(err)
	}
	pid := s.Running()
	if pid == 0 {
		t.Fatalf("no live process recorded in %s after Start", supervise.PidFile(s.Dir, "cachenode"))
	}
	if err := nodegroup.WaitReady(ctx, g, s.Slot, 10*time.Second, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := g.Start(ctx, s.Slot); err != nil {
		t.Fatalf("second Start: %v", err)
	}
	if again := s.Running(); again != pid {
		t.Errorf("second Start replaced the process: pid %d, was %d", again, pid)
	}
	if err := g.Stop(ctx, s.Slot); err != nil {
		t.Fatal(err)
	}
	if s.Running() != 0 || !testkit.ProcessGone(pid) {
		t.Errorf("pid %d still running after Stop", pid)
	}
	testkit.WaitClosed(t, s.Addr, 5*time.Second)
	if err := g.Stop(ctx, s.Slot); err != nil {
		t.Errorf("Stop of a parked slot = %v, want nil", err)
	}
	log, _ := os.ReadFile(supervise.LogFile(s.Dir, "cachenode"))
	if !strings.Contains(string(log), "supervise: start") {
		t.Errorf("log %s lacks the supervise start line:\n%s", supervise.LogFile(s.Dir, "cachenode"), log)
	}
}

func TestNewRefusesBadSlots(t *testing.T) {
	ok := Slot{Slot: nodegroup.Slot{Name: "a", Addr: "x:1", Admin: "x:2"}, Dir: "/h/a", Service: role.Service{Name: "cachenode", Exec: "/bin/true"}}
	rel := ok
	rel.Dir = "h/a"
	noExec := ok
	noExec.Service.Exec = ""
	for name, slots := range map[string][]Slot{
		"relative dir": {rel}, "no exec": {noExec}, "twice": {ok, ok},
	} {
		if _, err := New(slots); err == nil {
			t.Errorf("%s: New = nil error", name)
		}
	}
}
