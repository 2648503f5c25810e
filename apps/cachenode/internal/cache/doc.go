// Package cache is cachenode's bounded in-memory item store: sharded maps
// with per-shard locks, a global byte budget enforced by eviction (LRU,
// random or sampled LFU), memcached expiry rules and counters for stats.
//
// Every shard keeps its items in a slice of slots linked into an intrusive
// doubly-linked LRU list by index, so the hot path allocates nothing and the
// eviction policy can change at run time without rebuilding anything. A
// hit does not relink its item, which would touch the memory of two more
// items on every read: it marks it, and eviction gives a marked item at
// the tail a second pass to the front (memcached's ACTIVE flag).
package cache
