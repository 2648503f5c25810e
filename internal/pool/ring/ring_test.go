package ring

import (
	"math"
	"strings"
	"sync"
	"testing"
)

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name   string
		scheme string
		nodes  []string
		want   string
	}{
		{"unknown scheme", "modulo", []string{"a"}, `unknown scheme "modulo" (allowed: lab, jump, rendezvous)`},
		{"no nodes", SchemeJump, nil, "no nodes"},
		{"empty name", SchemeRendezvous, []string{"a", ""}, "node 1 is an empty name"},
		{"duplicate", SchemeLab, []string{"a", "b", "a"}, `node "a" listed twice (positions 0 and 2)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.scheme, tt.nodes)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New(%q, %q) error = %v, want it to contain %q", tt.scheme, tt.nodes, err, tt.want)
			}
		})
	}
}

// The ring keeps its own copy: changing the caller's slice or the one
// Nodes returns changes nothing.
func TestNodesIsACopy(t *testing.T) {
	for _, scheme := range Schemes() {
		t.Run(scheme, func(t *testing.T) {
			in := []string{"a", "b", "c"}
			r, err := New(scheme, in)
			if err != nil {
				t.Fatal(err)
			}
			before := r.Node("k1")
			in[0], in[1], in[2] = "x", "y", "z"
			r.Nodes()[0] = "w"
			if got := strings.Join(r.Nodes(), ","); got != "a,b,c" {
				t.Errorf("Nodes() = %s, want a,b,c", got)
			}
			if got := r.Node("k1"); got != before {
				t.Errorf("Node(k1) = %q after caller's change, want %q", got, before)
			}
		})
	}
}

// Each node gets about 1/n of the keys.
func TestBalance(t *testing.T) {
	keys := sampleKeys()
	for _, scheme := range Schemes() {
		for _, n := range []int{2, 3, 5, 8} {
			r, err := New(scheme, nodeNames(n))
			if err != nil {
				t.Fatal(err)
			}
			count := map[string]int{}
			for _, k := range keys {
				count[r.Node(k)]++
			}
			// The lab scheme with n not dividing 16 is unbalanced by design:
			// nodes own ceil(16/n) or floor(16/n) partitions.
			for i, node := range r.Nodes() {
				want := 1 / float64(n)
				if scheme == SchemeLab {
					want = float64(labPartitionsOf(i, n)) / Partitions
				}
				if got := float64(count[node]) / float64(len(keys)); math.Abs(got-want) > 0.01 {
					t.Errorf("%s, %d nodes: %s owns %.3f of keys, want %.3f", scheme, n, node, got, want)
				}
			}
		}
	}
}

func labPartitionsOf(node, n int) int {
	c := 0
	for p := 0; p < Partitions; p++ {
		if PartitionOwner(p, n) == node {
			c++
		}
	}
	return c
}

// Run with -race: rings are read-only after New.
func TestConcurrentUse(t *testing.T) {
	for _, scheme := range Schemes() {
		r, err := New(scheme, nodeNames(4))
		if err != nil {
			t.Fatal(err)
		}
		want := r.Node("k1")
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for _, k := range sampleKeys()[:2000] {
					r.Node(k)
				}
				if got := r.Node("k1"); got != want {
					t.Errorf("%s: Node(k1) = %q concurrently, want %q", scheme, got, want)
				}
			})
		}
		wg.Wait()
	}
}
