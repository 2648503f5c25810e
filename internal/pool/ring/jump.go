package ring

// jumpRing is immutable after construction: safe for concurrent use.
type jumpRing struct {
	nodes []string
	hash  func(string) uint64
}

func (r *jumpRing) Node(key string) string { return r.nodes[jump(r.hash(key), len(r.nodes))] }
func (r *jumpRing) Nodes() []string        { return append([]string(nil), r.nodes...) }

// jump is JumpConsistentHash from Lamping & Veach, "A Fast, Minimal Memory,
// Consistent Hash Algorithm" (2014), kept line for line with the paper's C++
// so the published test vectors (also Guava's consistentHash) apply. It
// returns a bucket in [0, buckets); buckets must be at least 1.
//
// The key jumps forward through bucket counts: a pseudo-random sequence
// seeded by the key decides at which counts it changes bucket, and it only
// ever changes to the newest bucket, which is why growth moves the minimum.
func jump(key uint64, buckets int) int {
	var b, j int64 = -1, 0
	for j < int64(buckets) {
		b = j
		key = key*2862933555777941757 + 1
		j = int64(float64(b+1) * (float64(int64(1)<<31) / float64((key>>33)+1)))
	}
	return int(b)
}
