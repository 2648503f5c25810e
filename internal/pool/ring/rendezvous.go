package ring

// rendezvousRing is immutable after construction: safe for concurrent use.
type rendezvousRing struct {
	nodes []string
	seeds []uint64 // hash of each node's name, computed once
	hash  func(string) uint64
}

func newRendezvous(nodes []string, hash func(string) uint64) *rendezvousRing {
	r := &rendezvousRing{nodes: nodes, seeds: make([]uint64, len(nodes)), hash: hash}
	for i, n := range nodes {
		r.seeds[i] = hash(n)
	}
	return r
}

// Node picks the node with the highest score for (key, node). A score
// depends only on the key and that node's name, never on the other nodes
// or the order, so removing any node moves only the keys it owned and
// adding one takes only the keys it now wins.
func (r *rendezvousRing) Node(key string) string {
	k := r.hash(key)
	best, bestScore := 0, score(k, r.seeds[0])
	for i := 1; i < len(r.nodes); i++ {
		s := score(k, r.seeds[i])
		// Equal scores are vanishingly rare; breaking them by name keeps
		// the answer independent of node order.
		if s > bestScore || (s == bestScore && r.nodes[i] < r.nodes[best]) {
			best, bestScore = i, s
		}
	}
	return r.nodes[best]
}

func (r *rendezvousRing) Nodes() []string { return append([]string(nil), r.nodes...) }

// score mixes the key and node hashes with the SplitMix64 finalizer, a
// bijection with full avalanche: one MD5 per lookup instead of one per node.
func score(key, node uint64) uint64 {
	z := key ^ node
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
