package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/cloudlabs/cloudlabs/apps/gallery/internal/cache"
	"github.com/cloudlabs/cloudlabs/internal/pool/ring"
)

// onNode reports whether the node at addr holds key's image (not an
// upload's invalidation marker, which has flag bit 1).
func onNode(t testing.TB, addr, key string) bool {
	t.Helper()
	it, err := memcache.New(addr).Get(cache.Key(key))
	if err != nil && err != memcache.ErrCacheMiss {
		t.Fatalf("ask %s for %q: %v", addr, key, err)
	}
	return err == nil && it.Flags&1 == 0
}

// TestRingPlacement: after retrieving N keys through a pool of 3 nodes,
// each node holds exactly the keys the ring (plain ring.New, MD5 of the
// key, as any other router computes it) assigns to it.
func TestRingPlacement(t *testing.T) {
	st := newStack(t, 3)
	for _, scheme := range ring.Schemes() {
		t.Run(scheme, func(t *testing.T) {
			for _, n := range st.nodes {
				if err := memcache.New(n.Addr).FlushAll(); err != nil {
					t.Fatal(err)
				}
			}
			g := st.start(t, galleryOpts{scheme: scheme})
			r, err := ring.New(scheme, st.nodeAddrs())
			if err != nil {
				t.Fatal(err)
			}
			const n = 24
			want := map[string][]string{}
			img := pngImage(t, 3, 4)
			for i := range n {
				k := fmt.Sprintf("%s-key-%d", scheme, i)
				g.upload(t, k, img)
				want[r.Node(k)] = append(want[r.Node(k)], k)
			}
			for i := range n {
				g.retrieve(t, fmt.Sprintf("%s-key-%d", scheme, i))
			}
			total := 0
			for _, node := range st.nodeAddrs() {
				got := memcachedItems(t, node)
				total += got
				if got != len(want[node]) {
					t.Errorf("node %s holds %d items, want %d (the ring's share)", node, got, len(want[node]))
				}
			}
			if total != n {
				t.Fatalf("the pool holds %d items, want %d", total, n)
			}
			for node, keys := range want {
				for _, k := range keys {
					if !onNode(t, node, k) {
						t.Errorf("%q is not on %s, the node the ring assigns it", k, node)
					}
				}
			}
		})
	}
}

// TestNodeKilled: a dead node degrades to the store: every key still
// answers 200 with its bytes, and the node's failures are counted.
func TestNodeKilled(t *testing.T) {
	st := newStack(t, 2)
	g := st.start(t, galleryOpts{})
	r, _ := ring.New(ring.SchemeLab, st.nodeAddrs())
	keys := map[string][]byte{}
	onDead := 0
	for i := range 12 {
		k := fmt.Sprintf("k%d", i)
		keys[k] = pngImage(t, uint64(100+i), 4)
		g.upload(t, k, keys[k])
		g.retrieve(t, k) // warm
		if r.Node(k) == st.nodes[1].Addr {
			onDead++
		}
	}
	if onDead == 0 {
		t.Fatal("no key lives on the node to be killed: the test would prove nothing")
	}
	dead := st.nodes[1].Addr
	st.nodes[1].Stop()
	for k, v := range keys {
		if got := g.retrieve(t, k); !bytes.Equal(got, v) {
			t.Errorf("%q: other bytes with a node down", k)
		}
	}
	if m := scrape(t, g); !strings.Contains(m, fmt.Sprintf(`gallery_cache_results_total{node="%s",result="error"} %d`, dead, onDead)) {
		t.Errorf("metrics do not count the dead node's %d failed reads:\n%s", onDead, grep(m, "cache_results"))
	}
	// Uploads also survive: the invalidation to the dead node fails quietly.
	g.upload(t, "k0", keys["k1"])
	if got := g.retrieve(t, "k0"); !bytes.Equal(got, keys["k1"]) {
		t.Error("upload with a node down: the old image came back")
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// fakeManager stands for the manager app (not written yet): GET /api/pool
// with a bearer token, an ETag per epoch, 304 on If-None-Match.
type fakeManager struct {
	mu    sync.Mutex
	epoch int64
	nodes []string
	polls int
	not   int // 304s answered
}

func (m *fakeManager) set(epoch int64, nodes ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.epoch, m.nodes = epoch, nodes
}

func (m *fakeManager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.URL.Path != "/api/pool" || r.Header.Get("Authorization") != "Bearer s3cret" {
		http.Error(w, "no", http.StatusUnauthorized)
		return
	}
	m.polls++
	etag := fmt.Sprintf(`"%d"`, m.epoch)
	if r.Header.Get("If-None-Match") == etag {
		m.not++
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etag)
	json.NewEncoder(w).Encode(map[string]any{"epoch": m.epoch, "nodes": m.nodes, "mode": "manual"})
}

// TestMembershipSwap: a new epoch from the manager swaps the ring; keys
// then fill the node the new ring assigns them.
func TestMembershipSwap(t *testing.T) {
	st := newStack(t, 2)
	a, b := st.nodes[0].Addr, st.nodes[1].Addr
	g := st.start(t, galleryOpts{noNodes: true})
	mgr := &fakeManager{}
	mgr.set(1, a)
	ms := httptest.NewServer(mgr)
	defer ms.Close()
	tok := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tok, []byte("s3cret\n"), 0o600)
	w := &cache.Watcher{Pool: g.pool, Manager: ms.URL, TokenFile: tok}
	ctx := context.Background()

	if err := w.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if g.pool.Epoch() != 1 {
		t.Fatalf("epoch %d after the first poll, want 1", g.pool.Epoch())
	}
	img := pngImage(t, 7, 4)
	const n = 16
	for i := range n {
		g.upload(t, fmt.Sprintf("m%d", i), img)
		g.retrieve(t, fmt.Sprintf("m%d", i))
	}
	if got := memcachedItems(t, a); got != n {
		t.Fatalf("epoch 1 (one node): %s holds %d items, want %d", a, got, n)
	}
	if got := memcachedItems(t, b); got != 0 {
		t.Fatalf("epoch 1: %s (not a member) holds %d items, want 0", b, got)
	}

	// Same epoch: 304, no swap.
	view := g.pool.Current()
	if err := w.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if g.pool.Current() != view || mgr.not != 1 {
		t.Fatalf("an unchanged epoch swapped the view (or was not asked with If-None-Match: %d 304s)", mgr.not)
	}

	mgr.set(2, a, b)
	if err := w.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if g.pool.Epoch() != 2 || len(g.pool.Current().Nodes) != 2 {
		t.Fatalf("after epoch 2: epoch %d nodes %v", g.pool.Epoch(), g.pool.Current().Nodes)
	}
	r, _ := ring.New(ring.SchemeLab, []string{a, b})
	toB := 0
	for i := range n {
		k := fmt.Sprintf("m%d", i)
		g.retrieve(t, k)
		if r.Node(k) == b {
			toB++
			if !onNode(t, b, k) {
				t.Errorf("%q: the new ring assigns it to %s, which does not hold it", k, b)
			}
		}
	}
	if toB == 0 {
		t.Fatal("no key moved to the new node: the test would prove nothing")
	}
	if got := memcachedItems(t, b); got != toB {
		t.Fatalf("%s holds %d items after the swap, want %d", b, got, toB)
	}
}

// TestOversizeNotCached: an image above the nodes' item limit is served
// from the store every time, never cached, and counted.
func TestOversizeNotCached(t *testing.T) {
	st := newStack(t, 1)
	g := st.start(t, galleryOpts{maxItem: 4 << 10})
	big, small := pngImage(t, 5, 64), pngImage(t, 6, 4) // ~12 KiB and < 1 KiB
	if len(big) < 8<<10 {
		t.Fatalf("test image is %d bytes, want well above the 4 KiB limit", len(big))
	}
	g.upload(t, "big", big)
	g.upload(t, "small", small)
	for range 2 {
		if !bytes.Equal(g.retrieve(t, "big"), big) || !bytes.Equal(g.retrieve(t, "small"), small) {
			t.Fatal("other bytes back")
		}
	}
	if onNode(t, st.nodes[0].Addr, "big") || !onNode(t, st.nodes[0].Addr, "small") {
		t.Fatal("want small cached and big not")
	}
	if m := scrape(t, g); !strings.Contains(m, "gallery_cache_oversize_total 2") {
		t.Fatalf("oversize not counted twice:\n%s", grep(m, "oversize"))
	}
}
