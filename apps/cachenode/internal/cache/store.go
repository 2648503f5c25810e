package cache

import (
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultShards is the shard count when Config.Shards is zero: enough that
// a few cores rarely meet on one lock, few enough that a scan is cheap.
const DefaultShards = 64

// Config configures a Store. The zero value is usable: no capacity (every
// store fails), LRU, DefaultShards shards and the wall clock.
type Config struct {
	Capacity int64        // byte budget, see ItemSize
	Policy   Policy       // eviction policy
	Shards   int          // number of independently locked shards
	Now      func() int64 // unix seconds; tests inject a fake clock
}

// Store is a sharded, byte-bounded item store. It is safe for concurrent use.
type Store struct {
	shards   []*shard
	seed     maphash.Seed
	now      func() int64
	capacity atomic.Int64
	bytes    atomic.Int64 // sum of ItemSize of stored items; never above capacity
	policy   atomic.Int32
	cas      atomic.Uint64
	flushes  atomic.Int64

	flushMu    sync.Mutex
	flushTimer *time.Timer
}

// MaxCapacity is the largest byte budget accepted: 1 TB, more memory than
// any machine the labs run on, and far enough below 2^63 that every sum
// and ratio derived from it (the Go memory limit) stays exact.
const MaxCapacity int64 = 1 << 40

// ErrCapacity is returned by SetCapacity for a capacity outside 0 to MaxCapacity.
var ErrCapacity = fmt.Errorf("capacity must be 0 to %d bytes (%s)", MaxCapacity, FormatSize(MaxCapacity))

// New makes a Store from cfg.
func New(cfg Config) *Store {
	n := cfg.Shards
	if n <= 0 {
		n = DefaultShards
	}
	s := &Store{seed: maphash.MakeSeed(), now: cfg.Now}
	if s.now == nil {
		s.now = func() int64 { return time.Now().Unix() }
	}
	for i := range n {
		s.shards = append(s.shards, newShard(uint64(i+1)*0x9E3779B97F4A7C15))
	}
	s.capacity.Store(cfg.Capacity)
	s.policy.Store(int32(cfg.Policy))
	return s
}

func (s *Store) shardFor(key []byte) *shard {
	return s.shards[s.shardIndex(key)]
}

func (s *Store) shardIndex(key []byte) int {
	return int(maphash.Bytes(s.seed, key) % uint64(len(s.shards)))
}

// Item is a read view of a stored item. Value must not be modified.
type Item struct {
	Value []byte
	Flags uint32
	Cas   uint64
}

// Get returns the item for key and counts a hit or a miss.
func (s *Store) Get(key []byte) (Item, bool) {
	return s.get(key, false, 0)
}

// GetAndTouch is Get that also sets the item's expiry (memcached's gat).
func (s *Store) GetAndTouch(key []byte, exptime int64) (Item, bool) {
	return s.get(key, true, exptime)
}

func (s *Store) get(key []byte, touch bool, exptime int64) (Item, bool) {
	sh := s.shardFor(key)
	sh.mu.Lock()
	sh.stats.cmdGet++
	if touch {
		sh.stats.cmdTouch++
	}
	i, ok, freed := sh.lookup(key, s.now)
	if !ok {
		sh.stats.getMisses++
		if touch {
			sh.stats.touchMisses++
		}
		if freed > 0 {
			sh.stats.getExpired++
		}
		sh.mu.Unlock()
		s.bytes.Add(-freed)
		return Item{}, false
	}
	e := &sh.slots[i]
	sh.stats.getHits++
	if touch {
		sh.stats.touchHits++
		e.deadline = Deadline(exptime, s.now())
	}
	if e.reads < ^uint32(0) {
		e.reads++
	}
	e.active = true
	it := Item{Value: e.value, Flags: e.flags, Cas: e.cas}
	sh.mu.Unlock()
	return it, true
}

// Delete removes key, reporting whether it was there.
func (s *Store) Delete(key []byte) bool {
	sh := s.shardFor(key)
	sh.mu.Lock()
	i, ok, freed := sh.lookup(key, s.now)
	if ok {
		freed += sh.remove(i)
		sh.stats.deleteHits++
	} else {
		sh.stats.deleteMisses++
	}
	sh.mu.Unlock()
	s.bytes.Add(-freed)
	return ok
}

// Touch sets key's expiry, reporting whether it was there.
func (s *Store) Touch(key []byte, exptime int64) bool {
	sh := s.shardFor(key)
	sh.mu.Lock()
	sh.stats.cmdTouch++
	i, ok, freed := sh.lookup(key, s.now)
	if ok {
		sh.slots[i].deadline = Deadline(exptime, s.now())
		sh.slots[i].active = true
		sh.stats.touchHits++
	} else {
		sh.stats.touchMisses++
	}
	sh.mu.Unlock()
	s.bytes.Add(-freed)
	return ok
}

// Clear drops every item at once (flush_all, POST /clear).
func (s *Store) Clear() {
	for _, sh := range s.shards {
		sh.mu.Lock()
		n := sh.clear()
		sh.mu.Unlock()
		s.bytes.Add(-n)
	}
}

// Flush is memcached's flush_all: every item is gone once exptime (memcached
// rules, 0 = now) has come; a later Flush replaces a pending one.
func (s *Store) Flush(exptime int64) {
	s.flushes.Add(1)
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	if s.flushTimer != nil {
		s.flushTimer.Stop()
		s.flushTimer = nil
	}
	now := s.now()
	d := Deadline(exptime, now)
	if d == 0 || d <= now {
		s.Clear()
		return
	}
	s.flushTimer = time.AfterFunc(time.Duration(d-now)*time.Second, s.Clear)
}

// Capacity is the current byte budget.
func (s *Store) Capacity() int64 { return s.capacity.Load() }

// Policy is the current eviction policy.
func (s *Store) Policy() Policy { return Policy(s.policy.Load()) }

// SetPolicy switches the eviction policy; it applies to the next eviction.
func (s *Store) SetPolicy(p Policy) { s.policy.Store(int32(p)) }

// SetCapacity changes the byte budget; shrinking evicts at once until the
// stored bytes fit.
func (s *Store) SetCapacity(n int64) error {
	if n < 0 || n > MaxCapacity {
		return ErrCapacity
	}
	s.capacity.Store(n)
	for k := 0; s.bytes.Load() > s.capacity.Load(); k++ {
		if !s.evictFrom(k%len(s.shards), len(s.shards)) {
			break
		}
	}
	return nil
}

// evictFrom evicts one item from the first non-empty shard among tries
// shards starting at start, holding one shard lock at a time.
func (s *Store) evictFrom(start, tries int) bool {
	p := s.Policy()
	for k := range tries {
		sh := s.shards[(start+k)%len(s.shards)]
		sh.mu.Lock()
		if v := sh.victim(p, nilSlot); v != nilSlot {
			n := sh.remove(v)
			sh.stats.evictions++
			sh.mu.Unlock()
			s.bytes.Add(-n)
			return true
		}
		sh.mu.Unlock()
	}
	return false
}
