// Package cache keeps recently read images in a pool of memcached nodes,
// in front of the bucket: cache-aside, with each key on the node the pool's
// ring (internal/pool/ring) names, and the ring swapped atomically when the
// membership changes.
//
// The guarantee: once an upload is acknowledged, a read that starts after
// it never returns the replaced image. Only readers put images in the
// cache, and only conditionally; an upload puts an invalidation marker on
// the key's node (the scheme apps/phonebook/internal/cache documents):
//
//	upload: row commit, then Invalidate (marker on the owner; if that
//	        fails, delete; plus a delete on every other node of the pool)
//	read:   Get -> hit: answer
//	            -> marker (CAS id) or miss: read row and object, then Fill
//	                 marker seen:  CAS the image over that very marker
//	                 nothing seen: Add the image (fails if anything is there)
//
// A reader's fill lands only where the cache is as it was before the
// reader's database read; an upload in between replaces that state with a
// new marker, so the stale fill fails. The delete on the other nodes
// covers a key whose owner changed under the lab's scheme (2 → 3 → 2 nodes
// moves partitions between nodes that stay), and a node that rejoins the
// pool is flushed, since it may hold images replaced while it was out.
// What is left — several galleries on different epochs for a moment, or a
// node unreachable for both the marker and the delete — is bounded by the
// entries' TTL.
package cache

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/cloudlabs/cloudlabs/internal/pool/ring"
	"github.com/prometheus/client_golang/prometheus"
)

// Invalidation markers: flag bit, lifetime (seconds), and how long after
// its lookup began a reader may still Add what it read from the store.
const (
	markerFlag = 1
	markerTTL  = 60
	fillWindow = 20 * time.Second
)

// itemOverhead is what memcached needs beside the value within its item
// size limit: the item header, the key (81 bytes here) and the suffix.
const itemOverhead = 256

// Options tune a Pool; zero values take the defaults.
type Options struct {
	// Scheme is the ring scheme: lab (default), jump or rendezvous.
	Scheme string
	// Timeout bounds each memcached call (default 100ms): a dead node costs
	// a read that much at most before the store answers.
	Timeout time.Duration
	// TTL is how long a cached image lives (default 10m, at least 1s).
	TTL time.Duration
	// MaxItem is the nodes' item size limit (memcached -I, default 1 MiB);
	// larger images are not cached.
	MaxItem int
	// Registerer receives the cache metrics (nil: not exported).
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Entry is a cached image.
type Entry struct {
	ContentType string
	Data        []byte
}

// Pool routes keys to memcached nodes. Safe for concurrent use. A Pool
// without nodes caches nothing: every Get misses and nothing is filled.
type Pool struct {
	opts  Options
	ttl   int32
	m     *metrics
	view  atomic.Pointer[View]
	epoch atomic.Int64
	mu    sync.Mutex // serializes SetNodes
	set   bool       // SetNodes ran before: joining nodes get flushed
}

// View is one membership: an epoch, its nodes, the ring over them and a
// client for it. Views are immutable; requests keep the view they started
// with, so a swap never disturbs a request in flight.
type View struct {
	Epoch  int64
	Nodes  []string
	ring   ring.Ring
	client *memcache.Client
	direct map[string]*memcache.Client // one client per node: broadcasts
}

// NoEpoch is the epoch of a static node list (--nodes): any epoch a
// manager announces differs from it.
const NoEpoch int64 = -1

// New returns a Pool with no nodes; SetNodes gives it some.
func New(opts Options) (*Pool, error) {
	if opts.Scheme == "" {
		opts.Scheme = ring.SchemeLab
	}
	if _, err := ring.New(opts.Scheme, []string{"probe"}); err != nil {
		return nil, err
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 100 * time.Millisecond
	}
	if opts.TTL == 0 {
		opts.TTL = 10 * time.Minute
	}
	if opts.TTL < time.Second {
		return nil, fmt.Errorf("cache TTL %v is below memcached's resolution of one second", opts.TTL)
	}
	if opts.MaxItem <= 0 {
		opts.MaxItem = 1 << 20
	}
	if opts.MaxItem <= itemOverhead {
		return nil, fmt.Errorf("cache item limit %d bytes leaves no room for an image", opts.MaxItem)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Pool{opts: opts, ttl: int32((opts.TTL + time.Second - 1) / time.Second), m: newMetrics(opts.Registerer)}
	p.m.scheme.WithLabelValues(opts.Scheme).Set(1)
	p.epoch.Store(NoEpoch)
	return p, nil
}

// Clear flushes every node of the current membership (after every image
// was deleted); a node that does not answer is logged, not an error: its
// items are of deleted images, which no row names any more.
func (p *Pool) Clear() {
	v := p.view.Load()
	if v == nil {
		return
	}
	for _, n := range v.Nodes {
		if err := v.direct[n].FlushAll(); err != nil {
			p.opts.Logger.Warn("flush cache node", "node", n, "err", err)
		}
	}
}

// Current returns the view in force (nil when the pool has no nodes).
func (p *Pool) Current() *View { return p.view.Load() }

// Epoch returns the epoch of the last SetNodes (NoEpoch before any).
func (p *Pool) Epoch() int64 { return p.epoch.Load() }

// SetNodes builds a view of nodes at epoch and swaps it in. No nodes means
// no cache. Nodes that were not in the previous view are flushed first:
// a node rejoining may hold images replaced while it was out.
func (p *Pool) SetNodes(epoch int64, nodes []string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.view.Load()
	first := !p.set
	p.set = true
	if len(nodes) == 0 {
		p.view.Store(nil)
		p.epoch.Store(epoch)
		p.m.epoch.Set(float64(epoch))
		p.opts.Logger.Info("cache pool empty: reads go to the store", "epoch", epoch)
		return nil
	}
	r, err := ring.New(p.opts.Scheme, nodes, ring.WithHash(routeHash))
	if err != nil {
		return err
	}
	sel, err := ring.NewSelector(r)
	if err != nil {
		return err
	}
	v := &View{Epoch: epoch, Nodes: r.Nodes(), ring: r, client: p.newClient(sel), direct: map[string]*memcache.Client{}}
	for _, n := range v.Nodes {
		one, err := ring.New(ring.SchemeLab, []string{n})
		if err != nil {
			return err
		}
		s, err := ring.NewSelector(one)
		if err != nil {
			return err
		}
		v.direct[n] = p.newClient(s)
	}
	if !first {
		for _, n := range v.Nodes {
			if old != nil && old.direct[n] != nil {
				continue // stayed
			}
			if err := v.direct[n].FlushAll(); err != nil {
				p.opts.Logger.Warn("flush joining cache node", "node", n, "err", err)
			}
		}
	}
	p.view.Store(v)
	p.epoch.Store(epoch)
	p.m.epoch.Set(float64(epoch))
	p.opts.Logger.Info("cache pool", "epoch", epoch, "nodes", v.Nodes, "scheme", p.opts.Scheme)
	return nil
}

func (p *Pool) newClient(sel memcache.ServerSelector) *memcache.Client {
	c := memcache.NewFromSelector(sel)
	c.Timeout = p.opts.Timeout
	c.MaxIdleConns = 64
	return c
}

// Key is the memcached key of an image key: 16 hex digits of the key's MD5
// (what the ring routes on, see routeHash), a colon, and the hex SHA-256 of
// the key (which identifies it: MD5 collisions are cheap to make). Image
// keys may be 250 bytes with spaces; memcached keys may not.
func Key(key string) string {
	sum := sha256.Sum256([]byte(key))
	return fmt.Sprintf("%016x:%s", ring.MD5([]byte(key)), hex.EncodeToString(sum[:]))
}

// routeHash recovers the image key's MD5 prefix from a memcached key, so
// the ring places Key(k) exactly where ring.New(scheme, nodes).Node(k)
// says, the node any other router (the lab's Python front-end) picks for k.
func routeHash(mkey []byte) uint64 {
	if len(mkey) >= 16 {
		if h, err := strconv.ParseUint(string(mkey[:16]), 16, 64); err == nil {
			return h
		}
	}
	return ring.MD5(mkey)
}

// Node names the node that owns key in v.
func (v *View) Node(key string) string { return v.ring.Node(Key(key)) }

// Fill is what a lookup learned, for the fill after the store read.
type Fill struct {
	view    *View
	mkey    string
	marker  *memcache.Item // the marker seen (CAS), or nil
	usable  bool           // false: the node failed, or no cache
	started time.Time
}

// Get looks key up on its node. ok reports a hit; otherwise the returned
// Fill goes to Fill once the store has answered. A node that fails counts
// as a miss (never an error): the store answers.
func (p *Pool) Get(key string) (e Entry, fill Fill, ok bool) {
	v := p.view.Load()
	if v == nil {
		return Entry{}, Fill{}, false
	}
	mkey := Key(key)
	node := v.ring.Node(mkey)
	fill = Fill{view: v, mkey: mkey, started: time.Now()}
	it, err := v.client.Get(mkey)
	switch {
	case errors.Is(err, memcache.ErrCacheMiss):
		p.m.result(node, "miss")
		fill.usable = true
		return Entry{}, fill, false
	case err != nil:
		p.m.result(node, "error")
		p.opts.Logger.Debug("cache get failed; using the store", "node", node, "err", err)
		return Entry{}, fill, false
	case it.Flags&markerFlag != 0:
		p.m.result(node, "miss")
		fill.usable, fill.marker = true, it
		return Entry{}, fill, false
	}
	e, gotKey, err := decode(it.Value)
	if err != nil || gotKey != key {
		// Not ours to trust: answer from the store and leave it to expire.
		p.m.result(node, "miss")
		return Entry{}, fill, false
	}
	p.m.result(node, "hit")
	return e, fill, true
}

// Fill caches e for key after a miss, if the lookup allows it.
func (p *Pool) Fill(key string, f Fill, e Entry) {
	if !f.usable {
		return
	}
	val := encode(key, e)
	if len(val)+itemOverhead > p.opts.MaxItem {
		p.m.oversize.Inc()
		return
	}
	it := &memcache.Item{Key: f.mkey, Value: val, Expiration: p.ttl}
	var err error
	if f.marker != nil {
		f.marker.Value, f.marker.Flags, f.marker.Expiration = val, 0, p.ttl
		err = f.view.client.CompareAndSwap(f.marker)
	} else {
		if time.Since(f.started) > fillWindow {
			return // a marker set since may have expired: do not risk it
		}
		err = f.view.client.Add(it)
	}
	if err != nil && !errors.Is(err, memcache.ErrNotStored) && !errors.Is(err, memcache.ErrCASConflict) && !errors.Is(err, memcache.ErrCacheMiss) {
		p.m.result(f.view.ring.Node(f.mkey), "error")
	}
}

// Invalidate makes the next read of key go to the store: a marker on the
// key's node (a delete if the marker cannot be set) and a delete on every
// other node. Failures are logged, not returned: the upload has committed.
func (p *Pool) Invalidate(key string) {
	v := p.view.Load()
	if v == nil {
		return
	}
	mkey := Key(key)
	owner := v.ring.Node(mkey)
	var wg sync.WaitGroup
	for _, n := range v.Nodes {
		if n == owner {
			continue
		}
		wg.Go(func() {
			if err := v.direct[n].Delete(mkey); err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
				p.m.result(n, "error")
			}
		})
	}
	err := v.client.Set(&memcache.Item{Key: mkey, Flags: markerFlag, Expiration: markerTTL})
	if err != nil {
		if err := v.client.Delete(mkey); err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
			p.m.result(owner, "error")
			p.opts.Logger.Warn("cache invalidation failed; the entry lives until its TTL", "node", owner, "err", err)
		}
	}
	wg.Wait()
}

// Value layout: version byte, key length (2 bytes), key, content type
// length (1 byte), content type, image bytes. The key is kept so a hit is
// checked against the key asked for.
const valueVersion = 1

func encode(key string, e Entry) []byte {
	b := make([]byte, 0, 4+len(key)+len(e.ContentType)+len(e.Data))
	b = append(b, valueVersion)
	b = binary.BigEndian.AppendUint16(b, uint16(len(key)))
	b = append(b, key...)
	b = append(b, byte(len(e.ContentType)))
	b = append(b, e.ContentType...)
	return append(b, e.Data...)
}

func decode(b []byte) (Entry, string, error) {
	bad := errors.New("malformed cache value")
	if len(b) < 3 || b[0] != valueVersion {
		return Entry{}, "", bad
	}
	n := int(binary.BigEndian.Uint16(b[1:3]))
	b = b[3:]
	if len(b) < n+1 {
		return Entry{}, "", bad
	}
	key := string(b[:n])
	b = b[n:]
	m := int(b[0])
	b = b[1:]
	if len(b) < m {
		return Entry{}, "", bad
	}
	return Entry{ContentType: string(b[:m]), Data: b[m:]}, key, nil
}
