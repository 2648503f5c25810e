package ring

import (
	"fmt"
	"strconv"
)

// SampleKeys is how many keys Moved hashes for the jump and rendezvous
// schemes, whose share has no closed form over a finite node list. At this
// size the sampling error is under 0.002 (one standard deviation).
const SampleKeys = 1 << 16

// Moved returns the share of the key space that changes node when a pool of
// scheme goes from n to m nodes. Node identities are stable: the first
// min(n, m) nodes are the same nodes before and after, the pool grows or
// shrinks at the end of the list (how the lab's manager adds and removes).
//
// For the lab scheme the share is exact: changed partitions out of 16. For
// jump and rendezvous it is measured over SampleKeys deterministic keys; the
// ideal they approach is [MinimalShare].
func Moved(scheme string, n, m int) (float64, error) {
	if n < 1 || m < 1 {
		return 0, fmt.Errorf("ring: moved from %d to %d nodes: both must be at least 1", n, m)
	}
	if scheme == SchemeLab {
		if n > Partitions || m > Partitions {
			return 0, fmt.Errorf("ring: moved from %d to %d nodes: lab scheme has %d partitions", n, m, Partitions)
		}
		return float64(MovedPartitions(n, m)) / Partitions, nil
	}
	before, err := New(scheme, nodeNames(n))
	if err != nil {
		return 0, err
	}
	after, err := New(scheme, nodeNames(m))
	if err != nil {
		return 0, err
	}
	moved := 0
	for _, k := range sampleKeys() {
		if before.Node(k) != after.Node(k) {
			moved++
		}
	}
	return float64(moved) / SampleKeys, nil
}

// MovedPartitions counts the lab partitions whose owner changes from n to m
// nodes: partition p moves unless p mod n == p mod m.
func MovedPartitions(n, m int) int {
	moved := 0
	for p := 0; p < Partitions; p++ {
		if PartitionOwner(p, n) != PartitionOwner(p, m) {
			moved++
		}
	}
	return moved
}

// MinimalShare is the least share any scheme must move from n to m nodes
// if load stays balanced: |m-n| / max(n, m), which is 1/(n+1) when growing
// by one node and 1/n when shrinking by one.
func MinimalShare(n, m int) float64 {
	lo, hi := min(n, m), max(n, m)
	return float64(hi-lo) / float64(hi)
}

func nodeNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = "node-" + strconv.Itoa(i)
	}
	return names
}

func sampleKeys() []string {
	keys := make([]string, SampleKeys)
	for i := range keys {
		keys[i] = "key-" + strconv.Itoa(i)
	}
	return keys
}
