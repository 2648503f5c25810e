// Package managertest stands up the manager's real parts for tests: a
// private PostgreSQL, the real cachenode binary run as supervised twin
// slots on loopback (the twin node group itself), and a controller.
package managertest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/apps/manager/internal/control"
	"github.com/cloudlabs/cloudlabs/apps/manager/internal/store"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/pool/autoscale"
	"github.com/cloudlabs/cloudlabs/internal/pool/metrics"
	"github.com/cloudlabs/cloudlabs/internal/pool/nodegroup"
	"github.com/cloudlabs/cloudlabs/internal/pool/nodegroup/twin"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

// NodeToken is the cachenodes' admin token in tests.
const NodeToken = "node-admin-token"

// Rig is a manager's world: database, slots, controller.
type Rig struct {
	DBURL       string
	Slots       []twin.Slot
	Group       *twin.Group
	Store       *store.Store
	Control     *control.Controller
	TargetsFile string
}

var (
	buildOnce sync.Once
	binPath   string
)

// Cachenode builds apps/cachenode once per test binary.
func Cachenode(t testing.TB) string {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "managertest-bin-")
		if err != nil {
			t.Fatal(err)
		}
		binPath = filepath.Join(dir, "cachenode")
		src := testkit.BuildApp(t, "apps/cachenode")
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(binPath, b, 0o755); err != nil {
			t.Fatal(err)
		}
	})
	if binPath == "" {
		t.Fatal("cachenode build failed earlier")
	}
	return binPath
}

// New starts PostgreSQL, lays out slots twin hosts running cachenode (8 MB
// at start, as a stack would deploy them), seeds the pool with initial
// members and reconciles: the initial members run, the rest are parked.
func New(t *testing.T, slots, initial int) *Rig {
	t.Helper()
	bin := Cachenode(t)
	root := t.TempDir()
	tok := filepath.Join(root, "node.token")
	if err := os.WriteFile(tok, []byte(NodeToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := &Rig{DBURL: testkit.Postgres(t), TargetsFile: filepath.Join(root, "prometheus/targets.json")}
	for i := range slots {
		port, admin := testkit.FreePort(t), testkit.FreePort(t)
		name := fmt.Sprintf("cachepool-node-%d", i)
		r.Slots = append(r.Slots, twin.Slot{
			Slot: nodegroup.Slot{Name: name, Addr: "127.0.0.1:" + strconv.Itoa(port), Admin: "127.0.0.1:" + strconv.Itoa(admin)},
			Dir:  filepath.Join(root, name), Bind: "127.0.0.1",
			Service: role.Service{Name: "cachenode", Exec: bin, Port: port, Args: []string{
				"--listen", "127.0.0.1:" + strconv.Itoa(port), "--admin-listen", "127.0.0.1:" + strconv.Itoa(admin),
				"--admin-token-file", tok, "--capacity", "8MB", "--policy", "lru"}},
		})
	}
	g, err := twin.New(r.Slots)
	if err != nil {
		t.Fatal(err)
	}
	g.StopGrace = 2 * time.Second
	r.Group = g
	t.Cleanup(func() {
		for _, s := range r.Slots {
			_ = g.Stop(context.Background(), s.Slot)
		}
	})
	pol := autoscale.DefaultPolicy()
	pol.MaxNodes = slots
	st, seeded, err := store.Open(context.Background(), r.DBURL, store.Seed{Active: initial, CapacityBytes: 16 << 20, CachePolicy: "lru", Policy: pol})
	if err != nil {
		t.Fatal(err)
	}
	if !seeded {
		t.Fatal("a fresh database was not seeded")
	}
	t.Cleanup(st.Close)
	r.Store = st
	r.Control = &control.Controller{Store: st, Group: g, Nodes: &control.NodeClient{Token: NodeToken},
		TargetsFile: r.TargetsFile, JoinTimeout: 20 * time.Second, ReadyPoll: 20 * time.Millisecond}
	if err := r.Control.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r
}

// Stats reads a slot's GET /stats.
func (r *Rig) Stats(t testing.TB, i int) control.Stats {
	t.Helper()
	s, err := r.Control.Nodes.Stats(context.Background(), r.Slots[i].Admin)
	if err != nil {
		t.Fatalf("GET /stats of %s: %v", r.Slots[i].Name, err)
	}
	return s
}

// Memcache sends one memcached text command line (with an optional data
// block) to slot i and returns the reply up to its terminator.
func (r *Rig) Memcache(t testing.TB, i int, cmd string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", r.Slots[i].Addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", r.Slots[i].Addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(cmd)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var out strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("%s: read reply to %q: %v (so far %q)", r.Slots[i].Name, cmd, err, out.String())
		}
		out.WriteString(line)
		switch strings.TrimRight(line, "\r\n") {
		case "END", "STORED", "DELETED", "NOT_FOUND", "ERROR":
			return out.String()
		}
	}
}

// Metrics is a scripted metrics.Store: the window and the series the test
// set last. Safe for concurrent use.
type Metrics struct {
	mu     sync.Mutex
	window metrics.Window
	points []metrics.Point
	reads  int
}

// SetWindow scripts what Window answers next.
func (m *Metrics) SetWindow(w metrics.Window) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.window = w
}

// SetSeries scripts what PoolSeries answers.
func (m *Metrics) SetSeries(pts []metrics.Point) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.points = pts
}

// Reads counts Window calls.
func (m *Metrics) Reads() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reads
}

func (m *Metrics) Window(_ context.Context, end time.Time, d time.Duration) (metrics.Window, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	w := m.window
	w.From, w.To = end.Add(-d), end
	return w, nil
}

func (m *Metrics) PoolSeries(_ context.Context, from, to time.Time, step time.Duration) (metrics.Series, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return metrics.Series{From: from, To: to, Step: step, Points: append([]metrics.Point(nil), m.points...)}, nil
}

// Busy is a window of 1000 gets at missRate over nodes reporting nodes,
// with evictions and the pool half full of 8 MB nodes.
func Busy(nodes int, missRate float64) metrics.Window {
	return metrics.Window{Reporting: nodes, Requests: 1200, Hits: 1000 * (1 - missRate), Misses: 1000 * missRate,
		Evictions: 10, Items: 100, Bytes: float64(nodes) * float64(4<<20), CapacityPerNode: 8 << 20}
}
