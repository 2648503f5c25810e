package ring

import "testing"

// Published vectors for the paper's algorithm, shared by Guava's
// HashingTest (consistentHash) and the ports that check against it.
func TestJumpVectors(t *testing.T) {
	golden100 := []int{0, 55, 62, 8, 45, 59, 86, 97, 82, 59, 73, 37, 17, 56, 86, 21, 90, 37, 38, 83}
	for key, want := range golden100 {
		if got := jump(uint64(key), 100); got != want {
			t.Errorf("jump(%d, 100) = %d, want %d", key, got, want)
		}
	}
	tests := []struct {
		key     uint64
		buckets int
		want    int
	}{
		{10863919174838991, 11, 6},
		{2016238256797177309, 11, 3},
		{1673758223894951030, 11, 5},
		{2, 100001, 80343},
		{2201, 100001, 22152},
		{2202, 100001, 15018},
	}
	for _, tt := range tests {
		if got := jump(tt.key, tt.buckets); got != tt.want {
			t.Errorf("jump(%d, %d) = %d, want %d", tt.key, tt.buckets, got, tt.want)
		}
	}
}

// A key's bucket only ever changes to the newest bucket as buckets grow.
func TestJumpOnlyJumpsToNewBucket(t *testing.T) {
	for key := uint64(0); key < 2000; key++ {
		h := MD5([]byte{byte(key), byte(key >> 8)})
		prev := jump(h, 1)
		if prev != 0 {
			t.Fatalf("jump(%d, 1) = %d, want 0", h, prev)
		}
		for n := 2; n <= 64; n++ {
			b := jump(h, n)
			if b != prev && b != n-1 {
				t.Fatalf("jump(%d, %d) = %d: moved from %d to an old bucket", h, n, b, prev)
			}
			prev = b
		}
	}
}

func TestJumpRingUsesInjectedHash(t *testing.T) {
	nodes := nodeNames(100)
	r, err := New(SchemeJump, nodes, WithHash(func(key []byte) uint64 { return uint64(key[0] - '0') }))
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range []int{0, 55, 62, 8, 45} {
		if got := r.Node(string(rune('0' + key))); got != nodes[want] {
			t.Errorf("Node(%d) = %q, want %q", key, got, nodes[want])
		}
	}
}
