package ring

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

// Keys written through memcache.NewFromSelector land on the node the ring
// names: each of two real memcached instances holds exactly its keys.
func TestSelectorRoutesToRingNode(t *testing.T) {
	for _, scheme := range Schemes() {
		t.Run(scheme, func(t *testing.T) {
			nodes := []string{testkit.Memcached(t).Addr, testkit.Memcached(t).Addr}
			r, err := New(scheme, nodes)
			if err != nil {
				t.Fatal(err)
			}
			sel, err := NewSelector(r)
			if err != nil {
				t.Fatal(err)
			}
			mc := memcache.NewFromSelector(sel)
			mc.Timeout = 2 * time.Second

			owned := map[string][]string{}
			for i := range 200 {
				key := fmt.Sprintf("gallery/img-%03d", i)
				if err := mc.Set(&memcache.Item{Key: key, Value: []byte(key)}); err != nil {
					t.Fatalf("Set(%q): %v", key, err)
				}
				owned[r.Node(key)] = append(owned[r.Node(key)], key)
			}

			for _, node := range nodes {
				want := len(owned[node])
				if want == 0 {
					t.Fatalf("ring gave %s none of 200 keys", node)
				}
				if got := currItems(t, node); got != want {
					t.Errorf("%s holds %d items, ring assigns it %d", node, got, want)
				}
				direct := memcache.New(node)
				for _, key := range owned[node] {
					it, err := direct.Get(key)
					if err != nil {
						t.Errorf("Get(%q) from %s: %v", key, node, err)
						continue
					}
					if string(it.Value) != key {
						t.Errorf("Get(%q) from %s = %q", key, node, it.Value)
					}
				}
			}

			// Each visits both nodes: FlushAll empties them.
			if err := mc.FlushAll(); err != nil {
				t.Fatal(err)
			}
			for _, node := range nodes {
				if _, err := memcache.New(node).Get(owned[node][0]); !errors.Is(err, memcache.ErrCacheMiss) {
					t.Errorf("after FlushAll, Get from %s: %v, want cache miss", node, err)
				}
			}
		})
	}
}

// Nodes are resolved by NewSelector; Each keeps ring order and stops at the
// first error, and PickServer agrees with the ring.
func TestSelectorAddresses(t *testing.T) {
	r, err := New(SchemeJump, []string{"127.0.0.1:11211", "127.0.0.1:11212", "/run/memcached.sock"})
	if err != nil {
		t.Fatal(err)
	}
	sel, err := NewSelector(r)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := sel.Each(func(a net.Addr) error { got = append(got, a.Network()+" "+a.String()); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []string{"tcp 127.0.0.1:11211", "tcp 127.0.0.1:11212", "unix /run/memcached.sock"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Each visited %q, want %q", got, want)
	}
	for _, k := range []string{"k1", "k2", "k3"} {
		a, err := sel.PickServer(k)
		if err != nil {
			t.Fatal(err)
		}
		i := map[string]int{"127.0.0.1:11211": 0, "127.0.0.1:11212": 1, "/run/memcached.sock": 2}[a.String()]
		if r.Node(k) != r.Nodes()[i] {
			t.Errorf("PickServer(%q) = %s, ring says %s", k, a, r.Node(k))
		}
	}
	stop := errors.New("stop")
	calls := 0
	if err := sel.Each(func(net.Addr) error { calls++; return stop }); err != stop || calls != 1 {
		t.Errorf("Each after an error: err %v after %d calls, want %v after 1", err, calls, stop)
	}
}

func TestSelectorRejectsUnresolvable(t *testing.T) {
	r, _ := New(SchemeLab, []string{"127.0.0.1:11211", "no-port"})
	if _, err := NewSelector(r); err == nil || !strings.Contains(err.Error(), `"no-port"`) {
		t.Errorf("NewSelector error = %v, want one naming \"no-port\"", err)
	}
}

// currItems reads curr_items from memcached's "stats" command.
func currItems(t *testing.T, addr string) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("stats\r\n")); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(c)
	items := -1
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "END" {
			break
		}
		if v, ok := strings.CutPrefix(line, "STAT curr_items "); ok {
			if items, err = strconv.Atoi(v); err != nil {
				t.Fatalf("stats from %s: %q", addr, line)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("stats from %s: %v", addr, err)
	}
	if items < 0 {
		t.Fatalf("stats from %s: no curr_items", addr)
	}
	return items
}
