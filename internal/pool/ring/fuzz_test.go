package ring

import (
	"slices"
	"testing"
)

// Node never panics and always names one of the ring's nodes, for any key
// and 1..8 nodes of any name.
func FuzzNode(f *testing.F) {
	f.Add("k1", uint8(1), "node-")
	f.Add("", uint8(8), "10.0.0.1:11211")
	f.Add("\xff\x00gallery/img-001", uint8(3), "ü")
	f.Fuzz(func(t *testing.T, key string, n uint8, prefix string) {
		nodes := make([]string, int(n)%8+1)
		for i := range nodes {
			nodes[i] = prefix + string(rune('a'+i))
		}
		for _, scheme := range Schemes() {
			r, err := New(scheme, nodes)
			if err != nil {
				t.Fatalf("New(%s, %q): %v", scheme, nodes, err)
			}
			if got := r.Node(key); !slices.Contains(nodes, got) {
				t.Fatalf("%s: Node(%q) = %q, not one of %q", scheme, key, got, nodes)
			}
		}
	})
}
