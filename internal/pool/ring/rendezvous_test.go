package ring

import (
	"slices"
	"testing"
)

// A node's share does not depend on where it sits in the list.
func TestRendezvousIgnoresOrder(t *testing.T) {
	a, err := New(SchemeRendezvous, []string{"a", "b", "c", "d"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(SchemeRendezvous, []string{"c", "a", "d", "b"})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range sampleKeys()[:5000] {
		if x, y := a.Node(k), b.Node(k); x != y {
			t.Fatalf("Node(%q) = %q in one order, %q in another", k, x, y)
		}
	}
}

// Removing a node from the middle moves only the keys it owned, which
// neither lab nor jump can do.
func TestRendezvousRemoveMiddleNode(t *testing.T) {
	all := nodeNames(5)
	without := slices.Delete(slices.Clone(all), 2, 3)
	before, _ := New(SchemeRendezvous, all)
	after, _ := New(SchemeRendezvous, without)
	moved := 0
	for _, k := range sampleKeys() {
		b, a := before.Node(k), after.Node(k)
		if b != a {
			moved++
			if b != all[2] {
				t.Fatalf("key %q moved %s -> %s, but only %s was removed", k, b, a, all[2])
			}
		}
	}
	if share := float64(moved) / SampleKeys; share < 0.19 || share > 0.21 {
		t.Errorf("removing 1 of 5 nodes moved %.3f of keys, want about 0.2", share)
	}
}

// With a hash injected, scores are predictable: the ring picks the node
// whose seed maximises score(key, seed).
func TestRendezvousUsesInjectedHash(t *testing.T) {
	h := func(key []byte) uint64 {
		var v uint64
		for _, c := range key {
			v = v*31 + uint64(c)
		}
		return v
	}
	nodes := []string{"x", "y", "z"}
	r, err := New(SchemeRendezvous, nodes, WithHash(h))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		want := nodes[0]
		for _, n := range nodes[1:] {
			if score(h([]byte(k)), h([]byte(n))) > score(h([]byte(k)), h([]byte(want))) {
				want = n
			}
		}
		if got := r.Node(k); got != want {
			t.Errorf("Node(%q) = %q, want %q", k, got, want)
		}
	}
}
