package cache

import "sync"

// nilSlot marks the end of the LRU list and a missing slot.
const nilSlot = -1

// slot is one item. Slots live in shard.slots and link into the shard's
// LRU list by index, so neither lookups nor list moves allocate.
type slot struct {
	key      string
	value    []byte // never mutated after store: readers keep it past the lock
	cas      uint64
	deadline int64 // unix second the item expires at, 0 = never
	flags    uint32
	reads    uint32 // saturating read count for LFU
	prev     int32
	next     int32
	live     bool
	active   bool // read since it last moved in the LRU list (second chance)
}

func (e *slot) size() int64 { return ItemSize(len(e.key), len(e.value)) }

// counters are the per-shard statistics, updated under the shard lock so
// the hot path never contends on a shared cache line.
type counters struct {
	cmdGet, getHits, getMisses, getExpired     int64
	cmdSet, totalItems, evictions              int64
	cmdTouch, touchHits, touchMisses           int64
	deleteHits, deleteMisses                   int64
	incrHits, incrMisses, decrHits, decrMisses int64
	casHits, casMisses, casBadval              int64
}

// shard is an independently locked part of the key space.
type shard struct {
	mu    sync.Mutex
	index map[string]int32
	slots []slot
	free  []int32
	head  int32 // most recently used
	tail  int32 // least recently used
	bytes int64
	rng   uint64
	stats counters
	_     [64]byte // keeps neighbouring shards' locks off this cache line
}

func newShard(seed uint64) *shard {
	return &shard{index: map[string]int32{}, head: nilSlot, tail: nilSlot, rng: seed | 1}
}

// unlink removes i from the LRU list.
func (sh *shard) unlink(i int32) {
	e := &sh.slots[i]
	if e.prev != nilSlot {
		sh.slots[e.prev].next = e.next
	} else {
		sh.head = e.next
	}
	if e.next != nilSlot {
		sh.slots[e.next].prev = e.prev
	} else {
		sh.tail = e.prev
	}
	e.prev, e.next = nilSlot, nilSlot
}

// pushFront makes i the most recently used item.
func (sh *shard) pushFront(i int32) {
	e := &sh.slots[i]
	e.prev, e.next = nilSlot, sh.head
	if sh.head != nilSlot {
		sh.slots[sh.head].prev = i
	}
	sh.head = i
	if sh.tail == nilSlot {
		sh.tail = i
	}
}

func (sh *shard) bump(i int32) {
	if sh.head != i {
		sh.unlink(i)
		sh.pushFront(i)
	}
}

// insert stores e in a free slot at the front of the list.
func (sh *shard) insert(e slot) int32 {
	var i int32
	if n := len(sh.free); n > 0 {
		i = sh.free[n-1]
		sh.free = sh.free[:n-1]
	} else {
		sh.slots = append(sh.slots, slot{})
		i = int32(len(sh.slots) - 1)
	}
	e.live = true
	sh.slots[i] = e
	sh.index[e.key] = i
	sh.pushFront(i)
	sh.bytes += e.size()
	return i
}

// remove frees slot i and returns the bytes it was charged.
func (sh *shard) remove(i int32) int64 {
	e := &sh.slots[i]
	n := e.size()
	sh.unlink(i)
	delete(sh.index, e.key)
	*e = slot{prev: nilSlot, next: nilSlot}
	sh.free = append(sh.free, i)
	sh.bytes -= n
	return n
}

// lookup finds the live, unexpired slot for key, dropping it if it expired.
// The returned freed count is what the caller must release from the budget.
func (sh *shard) lookup(key []byte, now func() int64) (i int32, ok bool, freed int64) {
	i, ok = sh.index[string(key)]
	if !ok {
		return nilSlot, false, 0
	}
	if d := sh.slots[i].deadline; d != 0 && expired(d, now()) {
		return nilSlot, false, sh.remove(i)
	}
	return i, true, 0
}

func (sh *shard) random() uint64 {
	// xorshift64: the policy needs cheap unpredictability, not quality.
	x := sh.rng
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	sh.rng = x
	return x
}

// randomLive returns a random live slot other than protect, or nilSlot.
func (sh *shard) randomLive(protect int32) int32 {
	n := len(sh.slots)
	if n == 0 {
		return nilSlot
	}
	start := int(sh.random() % uint64(n))
	for k := 0; k < n; k++ {
		i := int32((start + k) % n)
		if sh.slots[i].live && i != protect {
			return i
		}
	}
	return nilSlot
}

// victim picks the slot to evict under policy, never protect.
func (sh *shard) victim(p Policy, protect int32) int32 {
	switch p {
	case Random:
		return sh.randomLive(protect)
	case LFU:
		best := int32(nilSlot)
		if len(sh.index) <= lfuSamples {
			// Few enough to compare them all: exact LFU, no sampling luck.
			for i := range sh.slots {
				if e := &sh.slots[i]; e.live && int32(i) != protect && (best == nilSlot || e.reads < sh.slots[best].reads) {
					best = int32(i)
				}
			}
			return best
		}
		for k := 0; k < lfuSamples; k++ {
			i := sh.randomLive(protect)
			if i == nilSlot {
				break
			}
			if best == nilSlot || sh.slots[i].reads < sh.slots[best].reads {
				best = i
			}
		}
		return best
	default:
		return sh.lruVictim(protect)
	}
}

// lruVictim is the least recently used slot other than protect, with
// memcached's second chance: a read only marks its item active (moving it
// to the front would touch two more items' memory on every hit), and an
// active item found at the tail goes to the front, unmarked, instead of
// being evicted. Each pass unmarks one item, so the loop ends.
func (sh *shard) lruVictim(protect int32) int32 {
	for {
		i := sh.tail
		if i == protect && i != nilSlot {
			i = sh.slots[i].prev
		}
		if i == nilSlot || !sh.slots[i].active {
			return i
		}
		sh.slots[i].active = false
		sh.bump(i)
	}
}

// clear drops every item and returns the bytes freed.
func (sh *shard) clear() int64 {
	n := sh.bytes
	sh.index = map[string]int32{}
	sh.slots, sh.free = nil, nil
	sh.head, sh.tail, sh.bytes = nilSlot, nilSlot, 0
	return n
}
