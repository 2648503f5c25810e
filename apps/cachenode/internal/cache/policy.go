package cache

import (
	"fmt"
	"strings"
)

// Policy chooses which item to evict when the byte budget is exceeded.
type Policy int32

const (
	// LRU evicts the least recently used item of the shard being written,
	// reads counted as memcached counts them: a read marks its item, and a
	// marked item reaching the end of the list gets a second pass instead
	// of being evicted.
	LRU Policy = iota
	// Random evicts a uniformly random item of the shard being written.
	Random
	// LFU evicts the least frequently read of a few randomly sampled items
	// (the approximation Redis uses): exact LFU would need a heap per shard.
	LFU
)

// lfuSamples is how many items sampled LFU compares per eviction.
const lfuSamples = 5

var policyNames = [...]string{LRU: "lru", Random: "random", LFU: "lfu"}

// PolicyNames lists the accepted policy names, for flags and error messages.
func PolicyNames() []string { return policyNames[:] }

func (p Policy) String() string {
	if int(p) >= 0 && int(p) < len(policyNames) {
		return policyNames[p]
	}
	return fmt.Sprintf("policy(%d)", int32(p))
}

// ParsePolicy maps a name (case-insensitive) to its Policy.
func ParsePolicy(s string) (Policy, error) {
	for i, n := range policyNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return Policy(i), nil
		}
	}
	return 0, fmt.Errorf("policy %q: want one of %s", s, strings.Join(policyNames[:], ", "))
}
