package ring

import (
	"math"
	"testing"
)

// Growing the lab's pool from n to n+1 nodes, n = 1..7: partition p stays
// only if p mod n == p mod (n+1), i.e. p mod n(n+1) < n.
func TestLabMovedPartitions(t *testing.T) {
	want := []int{8, 10, 10, 12, 11, 10, 9}
	for i, w := range want {
		n := i + 1
		if got := MovedPartitions(n, n+1); got != w {
			t.Errorf("MovedPartitions(%d, %d) = %d, want %d", n, n+1, got, w)
		}
		share, err := Moved(SchemeLab, n, n+1)
		if err != nil {
			t.Fatal(err)
		}
		if share != float64(w)/16 {
			t.Errorf("Moved(lab, %d, %d) = %v, want %d/16", n, n+1, share, w)
		}
		// Shrinking back moves the same partitions.
		if back := MovedPartitions(n+1, n); back != w {
			t.Errorf("MovedPartitions(%d, %d) = %d, want %d", n+1, n, back, w)
		}
	}
}

// Moved's lab figure agrees with real keys on real rings.
func TestLabMovedMatchesKeys(t *testing.T) {
	for n := 1; n <= 7; n++ {
		before, _ := New(SchemeLab, nodeNames(n))
		after, _ := New(SchemeLab, nodeNames(n+1))
		moved := 0
		for _, k := range sampleKeys() {
			if before.Node(k) != after.Node(k) {
				moved++
			}
		}
		want, _ := Moved(SchemeLab, n, n+1)
		if got := float64(moved) / SampleKeys; math.Abs(got-want) > 0.01 {
			t.Errorf("lab %d->%d: %.3f of sample keys moved, Moved says %.3f", n, n+1, got, want)
		}
	}
}

// Jump and rendezvous move the minimum share for every step n -> n+1 and
// n -> n-1, n = 1..8.
func TestMovedIsMinimal(t *testing.T) {
	const tolerance = 0.01 // five standard deviations at SampleKeys
	for _, scheme := range []string{SchemeJump, SchemeRendezvous} {
		for n := 1; n <= 8; n++ {
			for _, m := range []int{n + 1, n - 1} {
				if m < 1 {
					continue
				}
				got, err := Moved(scheme, n, m)
				if err != nil {
					t.Fatal(err)
				}
				want := MinimalShare(n, m)
				if math.Abs(got-want) > tolerance {
					t.Errorf("Moved(%s, %d, %d) = %.4f, want %.4f ± %.2f", scheme, n, m, got, want, tolerance)
				}
			}
		}
	}
}

func TestMinimalShare(t *testing.T) {
	tests := []struct {
		n, m int
		want float64
	}{{1, 2, 1.0 / 2}, {4, 5, 1.0 / 5}, {5, 4, 1.0 / 5}, {2, 1, 1.0 / 2}, {3, 3, 0}, {2, 8, 6.0 / 8}}
	for _, tt := range tests {
		if got := MinimalShare(tt.n, tt.m); got != tt.want {
			t.Errorf("MinimalShare(%d, %d) = %v, want %v", tt.n, tt.m, got, tt.want)
		}
	}
}

// When the pool grows, a key that moves goes to the new node; when it
// shrinks, only the removed node's keys move. The lab scheme has neither
// property, which the last case pins down.
func TestKeysMoveOnlyToOrFromTheChangedNode(t *testing.T) {
	for _, scheme := range Schemes() {
		t.Run(scheme, func(t *testing.T) {
			violations := 0
			for n := 1; n <= 8; n++ {
				small, _ := New(scheme, nodeNames(n))
				big, _ := New(scheme, nodeNames(n+1))
				added := big.Nodes()[n]
				for _, k := range sampleKeys()[:8192] {
					if s, b := small.Node(k), big.Node(k); s != b && b != added {
						violations++
						if scheme != SchemeLab {
							t.Fatalf("%d->%d nodes: key %q moved %s -> %s, not to the new %s", n, n+1, k, s, b, added)
						}
					}
				}
			}
			if scheme == SchemeLab && violations == 0 {
				t.Errorf("lab scheme moved keys only to the new node; expected reshuffling between old nodes")
			}
		})
	}
}

func TestMovedRejects(t *testing.T) {
	tests := []struct {
		scheme string
		n, m   int
	}{{SchemeJump, 0, 2}, {SchemeLab, 2, 17}, {"modulo", 2, 3}}
	for _, tt := range tests {
		if _, err := Moved(tt.scheme, tt.n, tt.m); err == nil {
			t.Errorf("Moved(%q, %d, %d) succeeded, want an error", tt.scheme, tt.n, tt.m)
		}
	}
}

// TestMovementTable prints the README's table: go test -run MovementTable -v.
func TestMovementTable(t *testing.T) {
	t.Log("| n -> n+1 | lab (of 16) | lab | jump | rendezvous | minimum 1/(n+1) |")
	for n := 1; n <= 7; n++ {
		lab, _ := Moved(SchemeLab, n, n+1)
		j, _ := Moved(SchemeJump, n, n+1)
		r, _ := Moved(SchemeRendezvous, n, n+1)
		t.Logf("| %d -> %d | %d | %.3f | %.3f | %.3f | %.3f |", n, n+1, MovedPartitions(n, n+1), lab, j, r, MinimalShare(n, n+1))
	}
}
