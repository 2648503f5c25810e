package cache

import (
	"strconv"

	"github.com/cloudlabs/cloudlabs/apps/cachenode/internal/number"
)

// Mode is the storage command a Store call performs.
type Mode uint8

// The memcached storage commands.
const (
	Set Mode = iota
	Add
	Replace
	Append
	Prepend
	CompareAndSwap
)

// Result is the outcome of a storage, incr or decr call.
type Result uint8

// Outcomes, named after the memcached replies they become.
const (
	Stored      Result = iota
	NotStored          // add on a present key; replace/append/prepend on a missing one
	Exists             // cas with a stale unique
	NotFound           // cas, incr or decr on a missing key
	NonNumeric         // incr or decr on a value that is not a decimal number
	OutOfMemory        // the item alone is larger than the capacity
)

// mutation is one write, applied under its shard's lock by build.
type mutation struct {
	mode    Mode
	key     []byte
	value   []byte
	flags   uint32
	exptime int64
	cas     uint64
	isDelta bool
	incr    bool
	delta   uint64
	number  uint64 // result of incr/decr
}

// Store writes value under key as mode says and takes ownership of value.
// exptime follows memcached (see Deadline); cas matters for CompareAndSwap.
func (s *Store) Store(mode Mode, key, value []byte, flags uint32, exptime int64, cas uint64) Result {
	m := mutation{mode: mode, key: key, value: value, flags: flags, exptime: exptime, cas: cas}
	return s.apply(&m)
}

// Incr adds delta to the decimal number stored at key, wrapping at 2^64.
func (s *Store) Incr(key []byte, delta uint64) (uint64, Result) {
	m := mutation{key: key, isDelta: true, incr: true, delta: delta}
	r := s.apply(&m)
	return m.number, r
}

// Decr subtracts delta from the decimal number stored at key, stopping at 0.
func (s *Store) Decr(key []byte, delta uint64) (uint64, Result) {
	m := mutation{key: key, isDelta: true, delta: delta}
	r := s.apply(&m)
	return m.number, r
}

// build computes the slot that replaces old (nil when key is absent).
func (m *mutation) build(old *slot, now int64) (slot, Result) {
	if m.isDelta {
		return m.buildDelta(old)
	}
	switch m.mode {
	case Add:
		if old != nil {
			return slot{}, NotStored
		}
	case Replace, Append, Prepend:
		if old == nil {
			return slot{}, NotStored
		}
	case CompareAndSwap:
		if old == nil {
			return slot{}, NotFound
		}
		if old.cas != m.cas {
			return slot{}, Exists
		}
	}
	if m.mode == Append || m.mode == Prepend {
		// append and prepend keep the old flags and expiry, as memcached does.
		v := make([]byte, 0, len(old.value)+len(m.value))
		if m.mode == Append {
			v = append(append(v, old.value...), m.value...)
		} else {
			v = append(append(v, m.value...), old.value...)
		}
		return slot{key: old.key, value: v, flags: old.flags, deadline: old.deadline}, Stored
	}
	e := slot{value: m.value, flags: m.flags, deadline: Deadline(m.exptime, now)}
	if old != nil {
		e.key = old.key // reuse the key string: no allocation on overwrite
	} else {
		e.key = string(m.key)
	}
	return e, Stored
}

func (m *mutation) buildDelta(old *slot) (slot, Result) {
	if old == nil {
		return slot{}, NotFound
	}
	n, ok := number.ParseUint64(old.value)
	if !ok {
		return slot{}, NonNumeric
	}
	switch {
	case m.incr:
		n += m.delta // wraps at 2^64, as protocol.txt specifies
	case m.delta > n:
		n = 0
	default:
		n -= m.delta
	}
	m.number = n
	var buf [20]byte
	digits := strconv.AppendUint(buf[:0], n, 10)
	// A shorter result is padded with spaces to the old length, exactly
	// as memcached rewrites the number in place.
	width := max(len(digits), len(old.value))
	v := make([]byte, width)
	copy(v, digits)
	for i := len(digits); i < width; i++ {
		v[i] = ' '
	}
	return slot{key: old.key, value: v, flags: old.flags, deadline: old.deadline}, Stored
}

// apply runs m under its shard's lock, making room by evicting first from
// that shard and, if it has nothing left to give, from the others.
func (s *Store) apply(m *mutation) Result {
	idx := s.shardIndex(m.key)
	sh := s.shards[idx]
	for attempt := 0; ; attempt++ {
		sh.mu.Lock()
		if attempt == 0 {
			s.countCommand(sh, m)
		}
		i, ok, freed := sh.lookup(m.key, s.now)
		s.bytes.Add(-freed)
		var old *slot
		var oldSize int64
		if ok {
			old = &sh.slots[i]
			oldSize = old.size()
		}
		next, res := m.build(old, s.now())
		if res != Stored {
			s.countResult(sh, m, res)
			sh.mu.Unlock()
			return res
		}
		size := next.size()
		if size > s.capacity.Load() {
			// Like memcached, a failed set does not leave the stale value behind.
			if ok && m.mode == Set && !m.isDelta {
				s.bytes.Add(-sh.remove(i))
			}
			sh.mu.Unlock()
			return OutOfMemory
		}
		if !s.reserve(sh, size-oldSize, i) {
			sh.mu.Unlock()
			if !s.evictFrom(idx+1, len(s.shards)-1) && attempt > 0 {
				return OutOfMemory
			}
			continue
		}
		next.cas = s.cas.Add(1)
		if ok {
			next.prev, next.next, next.live, next.reads = old.prev, old.next, true, old.reads
			*old = next
			sh.bytes += size - oldSize
			sh.bump(i)
		} else {
			sh.insert(next)
		}
		s.countResult(sh, m, Stored)
		sh.mu.Unlock()
		return Stored
	}
}

// reserve charges delta bytes to the budget, evicting from sh (never the
// protected slot) until it fits. The caller holds sh.mu.
func (s *Store) reserve(sh *shard, delta int64, protect int32) bool {
	for {
		cur := s.bytes.Load()
		if cur+delta <= s.capacity.Load() {
			if s.bytes.CompareAndSwap(cur, cur+delta) {
				return true
			}
			continue
		}
		v := sh.victim(s.Policy(), protect)
		if v == nilSlot {
			return false
		}
		s.bytes.Add(-sh.remove(v))
		sh.stats.evictions++
	}
}

func (s *Store) countCommand(sh *shard, m *mutation) {
	if !m.isDelta {
		sh.stats.cmdSet++
	}
}

func (s *Store) countResult(sh *shard, m *mutation, r Result) {
	switch {
	case m.isDelta && m.incr && r == NotFound:
		sh.stats.incrMisses++
	case m.isDelta && m.incr:
		sh.stats.incrHits++
	case m.isDelta && r == NotFound:
		sh.stats.decrMisses++
	case m.isDelta:
		sh.stats.decrHits++
	case m.mode == CompareAndSwap && r == NotFound:
		sh.stats.casMisses++
	case m.mode == CompareAndSwap && r == Exists:
		sh.stats.casBadval++
	case m.mode == CompareAndSwap:
		sh.stats.casHits++
	}
	if r == Stored && !m.isDelta {
		sh.stats.totalItems++
	}
}
