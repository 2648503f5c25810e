package cache

import (
	"sync"
)

// Reads are batched: a request does not get a memcached connection of its
// own but joins the queue, and a few fetcher goroutines each take
// everything queued and ask for it with one multi-get ("get k1 k2 ...").
// Under load that turns many round trips, and their syscalls, into one;
// idle, a lone request is sent at once. Every batch is sent after its
// requests arrived, so a read that starts after a write finished still sees
// the write: batching never answers from an older reply.

// maxBatch bounds one multi-get: 24 keys of 67 bytes keep the command line
// well inside memcached's 2048-byte limit for one text-protocol line.
const maxBatch = 24

type getRequest struct {
	key  string
	item entry
	err  error
	done chan struct{}
}

// entry is what a lookup found: a reply, or a marker (flags) with its CAS id.
type entry struct {
	value []byte
	flags uint32
	casID uint64
}

var requestPool = sync.Pool{New: func() any { return &getRequest{done: make(chan struct{}, 1)} }}

// fetch runs one fetcher until the queue is closed.
func (c *Cache) fetch() {
	defer c.fetchers.Done()
	batch := make([]*getRequest, 0, maxBatch)
	keys := make([]string, 0, maxBatch)
	seen := make(map[string]bool, maxBatch)
	for first := range c.queue {
		batch = append(batch[:0], first)
	drain:
		for len(batch) < maxBatch {
			select {
			case r, ok := <-c.queue:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		keys = keys[:0]
		clear(seen)
		for _, r := range batch {
			if !seen[r.key] {
				seen[r.key] = true
				keys = append(keys, r.key)
			}
		}
		items, err := c.mc.GetMulti(keys)
		for _, r := range batch {
			switch it, ok := items[r.key]; {
			case ok:
				r.item, r.err = entry{it.Value, it.Flags, it.CasID}, nil
			case err != nil:
				r.item, r.err = entry{}, err
			default:
				r.item, r.err = entry{}, ErrMiss
			}
			r.done <- struct{}{}
		}
	}
}

// batchGet queues one lookup and waits for its batch.
func (c *Cache) batchGet(key string) (entry, error) {
	r := requestPool.Get().(*getRequest)
	r.key = key
	c.queue <- r
	<-r.done
	it, err := r.item, r.err
	r.item, r.err = entry{}, nil
	requestPool.Put(r)
	return it, err
}
