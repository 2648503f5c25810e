package ring

import "fmt"

// Partitions is the number of equal key-space regions in the lab scheme.
const Partitions = 16

// Partition returns the lab partition of key, 0 to 15: the first hex digit
// of the key's MD5. The lab's table numbers partitions from 1 ("Partition 1"
// is 0… to 0F…, "Partition 12" is B… to BF…), so its label is Partition+1.
func Partition(key string) int { return partitionOf(md5String(key)) }

func partitionOf(h uint64) int { return int(h >> 60) }

// PartitionOwner returns the index of the node owning partition p among n
// nodes: the lab's alternating pattern A,B,…,A,B,….
func PartitionOwner(p, n int) int { return p % n }

// labRing is immutable after construction: safe for concurrent use.
type labRing struct {
	nodes []string
	owner [Partitions]string
	hash  func(string) uint64
}

func newLab(nodes []string, hash func(string) uint64) (*labRing, error) {
	if len(nodes) > Partitions {
		return nil, fmt.Errorf("ring: lab scheme has %d partitions; %d nodes would leave %d without any", Partitions, len(nodes), len(nodes)-Partitions)
	}
	r := &labRing{nodes: nodes, hash: hash}
	for p := range r.owner {
		r.owner[p] = nodes[PartitionOwner(p, len(nodes))]
	}
	return r, nil
}

func (r *labRing) Node(key string) string { return r.owner[partitionOf(r.hash(key))] }
func (r *labRing) Nodes() []string        { return append([]string(nil), r.nodes...) }
