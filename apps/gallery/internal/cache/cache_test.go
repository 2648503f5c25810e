package cache

import (
	"bytes"
	"testing"

	"github.com/cloudlabs/cloudlabs/internal/pool/ring"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

func newPool(t *testing.T, nodes ...string) *Pool {
	t.Helper()
	p, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetNodes(NoEpoch, nodes); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestStaleFillLoses: a reader that missed, then read the old image from
// the store while an upload committed and invalidated, must not put the
// old image in the cache — for both lookups (nothing there, a marker there).
func TestStaleFillLoses(t *testing.T) {
	mc := testkit.Memcached(t)
	p := newPool(t, mc.Addr)
	old := Entry{ContentType: "image/png", Data: []byte("old")}

	// Nothing cached: the reader's Add must fail after the marker.
	_, fill, ok := p.Get("k")
	if ok {
		t.Fatal("hit on an empty cache")
	}
	p.Invalidate("k") // the upload commits between the reader's store read and its fill
	p.Fill("k", fill, old)
	if e, _, ok := p.Get("k"); ok {
		t.Fatalf("stale fill landed: %q", e.Data)
	}

	// A marker cached: the reader's CAS must fail after a newer marker.
	_, fill, _ = p.Get("k")
	p.Invalidate("k")
	p.Fill("k", fill, old)
	if e, _, ok := p.Get("k"); ok {
		t.Fatalf("stale CAS landed: %q", e.Data)
	}

	// No upload in between: the fill lands.
	fresh := Entry{ContentType: "image/png", Data: []byte("new")}
	_, fill, _ = p.Get("k")
	p.Fill("k", fill, fresh)
	e, _, ok := p.Get("k")
	if !ok || !bytes.Equal(e.Data, fresh.Data) || e.ContentType != "image/png" {
		t.Fatalf("fill after a marker: ok=%v %+v", ok, e)
	}
}

// TestKeyRoutesLikeTheLab: the memcached key routes to the node plain
// ring.New picks for the image key (MD5 of the key), for every scheme.
func TestKeyRoutesLikeTheLab(t *testing.T) {
	nodes := []string{"10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211"}
	for _, scheme := range ring.Schemes() {
		plain, _ := ring.New(scheme, nodes)
		routed, _ := ring.New(scheme, nodes, ring.WithHash(routeHash))
		for _, k := range []string{"k1", "k2", "猫", "a b/c", ""} {
			if got, want := routed.Node(Key(k)), plain.Node(k); got != want {
				t.Errorf("%s: %q routes to %s, want %s", scheme, k, got, want)
			}
		}
	}
	if len(Key(string(make([]byte, 250)))) > 250 {
		t.Fatal("memcached keys must stay within 250 bytes")
	}
}

func TestValueRoundTrip(t *testing.T) {
	e := Entry{ContentType: "image/webp", Data: []byte{0, 1, 2}}
	got, key, err := decode(encode("ключ", e))
	if err != nil || key != "ключ" || got.ContentType != e.ContentType || !bytes.Equal(got.Data, e.Data) {
		t.Fatalf("round trip: %+v %q %v", got, key, err)
	}
	if _, _, err := decode([]byte{valueVersion, 0, 9}); err == nil {
		t.Fatal("truncated value decoded")
	}
}
