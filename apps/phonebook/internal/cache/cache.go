// Package cache keeps recently read contacts in memcached, in front of the
// store, so popular names are answered without a database round trip.
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

// Get returns the cached reply for name, ErrMiss, or a memcached error.
// Concurrent calls share round trips (batch.go).
func (c *Cache) Get(name string) ([]byte, error) {
	return c.batchGet(Key(name))
}

// Fill caches a reply read from the store, unless an entry already exists.
// Add, not Set: a write that raced this read has already Set the newer
// number, and Fill must not overwrite it with the older one.
func (c *Cache) Fill(name string, reply []byte) error {
	err := c.mc.Add(&memcache.Item{Key: Key(name), Value: reply, Expiration: c.ttl})
	if errors.Is(err, memcache.ErrNotStored) {
		return nil
	}
	return err
}

// Update is the write-through step after a successful store write: it sets
// the new reply, and if that fails deletes the old entry so it cannot be
// served for the rest of its TTL.
func (c *Cache) Update(name string, reply []byte) error {
	err := c.mc.Set(&memcache.Item{Key: Key(name), Value: reply, Expiration: c.ttl})
	if err == nil {
		return nil
	}
	if derr := c.mc.Delete(Key(name)); derr != nil && !errors.Is(derr, memcache.ErrCacheMiss) {
		return fmt.Errorf("set %s: %w; delete: %w", Key(name), err, derr)
	}
	return fmt.Errorf("set %s: %w (old entry deleted)", Key(name), err)
}

// Ping checks that memcached answers, for /readyz.
func (c *Cache) Ping() error { return c.mc.Ping() }

// Close stops the fetchers and drops idle connections; no call may follow.
func (c *Cache) Close() error {
	c.closing.Do(func() { close(c.queue) })
	c.fetchers.Wait()
	return c.mc.Close()
}
