// Package cache keeps recently read contacts in memcached, in front of the
// store, so popular names are answered without a database round trip.
//
// The guarantee: once a write is acknowledged, no read returns an older
// number. Only readers put replies in the cache, and only conditionally;
// a write puts an invalidation marker, never a reply:
//
//	write: store.Put, then Invalidate  (set marker; if that fails, delete)
//	read:  Get -> hit: answer
//	            -> marker (CAS id) or miss: store.Get, then Fill
//	                 marker seen: CAS the reply over that very marker
//	                 nothing seen: Add the reply (fails if anything is there)
//
// A reply can only land where the reader saw the cache in the state that
// preceded its store read; a write between the two replaces that state with
// a new marker (new CAS id), so the stale fill fails. Markers are all
// alike, so two writes' cache updates may reach memcached in any order:
// store A, store B, marker B, marker A leaves a marker, and the next read
// gets B from the store. Setting the reply on write (the old design) let
// that order cache A; deleting instead of setting lets a reader that read
// A from the store before the delete Add A afterwards. Versioned replies
// would need a version every writer agrees on, which neither Riak (without
// vclocks here) nor bbolt give us. The cost is one store read after each
// write of a name; the first reader after it refills the cache.
//
// Markers live markerTTL. A reader that found nothing gives up its Add
// past fillWindow, well inside markerTTL: a marker set after its lookup
// began has then certainly not expired, so the Add cannot resurrect a
// number older than that write.
//
// The residual window: if memcached is reachable for neither the marker nor
// the delete of a write (an outage) but comes back with its memory intact,
// the old entry can be served until its TTL ends.
package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

// ErrMiss means the name is not cached; any other error from Get means
// memcached could not be asked, and the caller should use the store.
var ErrMiss = memcache.ErrCacheMiss

// Invalidation markers: flag bit, lifetime, and how long after its lookup
// began a reader may still Add what it read from the store.
const (
	markerFlag = 1
	markerTTL  = 60 // seconds
	fillWindow = 20 * time.Second
)

// Cache stores the exact JSON reply for a name, so a hit is written to the
// client without decoding. Safe for concurrent use (gomemcache is).
type Cache struct {
	mc  *memcache.Client
	ttl int32

	queue    chan *getRequest // lookups waiting for a fetcher (batch.go)
	fetchers sync.WaitGroup
	closing  sync.Once
}

// Options tunes the client; zero values take the defaults.
type Options struct {
	// TTL is how long an entry lives (default 10s, at least 1s: memcached
	// counts in whole seconds).
	TTL time.Duration
	// Timeout bounds each memcached call (default 100ms), so an outage costs
	// a read that much at most before it falls back to the store.
	Timeout time.Duration
	// MaxIdleConns keeps connections warm under load (default 256).
	MaxIdleConns int
	// Fetchers is how many batched reads may be in flight at once
	// (default 2); see batch.go.
	Fetchers int
}

// New returns a cache on the memcached at addr (host:port). It does not
// dial: memcached may come and go, and the phone book must not care.
func New(addr string, opts Options) (*Cache, error) {
	if opts.TTL == 0 {
		opts.TTL = 10 * time.Second
	}
	if opts.TTL < time.Second {
		return nil, fmt.Errorf("cache TTL %v is below memcached's resolution of one second", opts.TTL)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 100 * time.Millisecond
	}
	if opts.MaxIdleConns <= 0 {
		opts.MaxIdleConns = 256
	}
	if opts.Fetchers <= 0 {
		opts.Fetchers = 2
	}
	var ss memcache.ServerList
	if err := ss.SetServers(addr); err != nil {
		return nil, fmt.Errorf("memcached address %q: %w", addr, err)
	}
	mc := memcache.NewFromSelector(&ss)
	mc.Timeout = opts.Timeout
	mc.MaxIdleConns = opts.MaxIdleConns
	c := &Cache{mc: mc, ttl: int32((opts.TTL + time.Second - 1) / time.Second), queue: make(chan *getRequest, 1024)}
	c.fetchers.Add(opts.Fetchers)
	for range opts.Fetchers {
		go c.fetch()
	}
	return c, nil
}

// Key maps any UTF-8 name to a memcached-safe key: memcached keys are at
// most 250 bytes without spaces or control characters, names are neither.
func Key(name string) string {
	sum := sha256.Sum256([]byte(name))
	return "pb:" + hex.EncodeToString(sum[:])
}

// Lease is what a lookup that found no reply lets its reader cache: the
// reply read from the store after that lookup, via Fill. The zero Lease
// (from a failed lookup) permits nothing.
type Lease struct {
	casID uint64    // of the marker found; 0: nothing was found
	start time.Time // when the lookup began
}

// Get returns the cached reply for name; or ErrMiss and the Lease to Fill
// with once the store answered; or a memcached error. Concurrent calls
// share round trips (batch.go).
func (c *Cache) Get(name string) ([]byte, Lease, error) {
	start := time.Now()
	it, err := c.batchGet(Key(name))
	switch {
	case errors.Is(err, ErrMiss):
		return nil, Lease{start: start}, ErrMiss
	case err != nil:
		return nil, Lease{}, err
	case it.flags&markerFlag != 0:
		return nil, Lease{casID: it.casID, start: start}, ErrMiss
	}
	return it.value, Lease{}, nil
}

// Fill caches a reply read from the store after a Get of name returned
// lease, unless a write invalidated name since: over the marker that Get
// saw (compare-and-swap) or, when it saw nothing, only if there is still
// nothing (add). Losing either race is not an error.
func (c *Cache) Fill(name string, lease Lease, reply []byte) error {
	it := &memcache.Item{Key: Key(name), Value: reply, Expiration: c.ttl}
	var err error
	switch {
	case lease.start.IsZero():
		return nil
	case lease.casID != 0:
		it.CasID = lease.casID
		err = c.mc.CompareAndSwap(it)
	case time.Since(lease.start) >= fillWindow:
		return nil // a marker set since may have expired: do not guess
	default:
		err = c.mc.Add(it)
	}
	if errors.Is(err, memcache.ErrNotStored) || errors.Is(err, memcache.ErrCASConflict) || errors.Is(err, memcache.ErrCacheMiss) {
		return nil
	}
	return err
}

// Invalidate is the cache's part of a write, after the store accepted it:
// it replaces whatever is cached for name with a marker, so the next read
// goes to the store and no reader that read before the write can cache
// what it read. If the marker cannot be set it deletes the entry instead.
func (c *Cache) Invalidate(name string) error {
	err := c.mc.Set(&memcache.Item{Key: Key(name), Value: []byte{}, Flags: markerFlag, Expiration: markerTTL})
	if err == nil {
		return nil
	}
	if derr := c.mc.Delete(Key(name)); derr != nil && !errors.Is(derr, memcache.ErrCacheMiss) {
		return fmt.Errorf("invalidate %s: %w; delete: %w", Key(name), err, derr)
	}
	return fmt.Errorf("invalidate %s: %w (entry deleted instead)", Key(name), err)
}

// Ping checks that memcached answers, for /readyz.
func (c *Cache) Ping() error { return c.mc.Ping() }

// Close stops the fetchers and drops idle connections; no call may follow.
func (c *Cache) Close() error {
	c.closing.Do(func() { close(c.queue) })
	c.fetchers.Wait()
	return c.mc.Close()
}
