package cache

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

func TestKey(t *testing.T) {
	names := []string{"John Doe", "Jöhn 山田 🙂", "a/b?c", strings.Repeat("x", 256), "tab\tin it"}
	seen := map[string]string{}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			k := Key(name)
			if len(k) > 250 {
				t.Fatalf("Key(%q) is %d bytes, memcached allows 250", name, len(k))
			}
			for _, r := range k {
				if r <= ' ' || r > '~' {
					t.Fatalf("Key(%q) = %q contains %q", name, k, r)
				}
			}
			if other, dup := seen[k]; dup {
				t.Fatalf("Key(%q) == Key(%q)", name, other)
			}
			seen[k] = name
		})
	}
}

// newTestCache is a cache on a memcached of its own.
func newTestCache(t *testing.T, opts Options) (*Cache, *testkit.Process) {
	t.Helper()
	mc := testkit.Memcached(t)
	c, err := New(mc.Addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, mc
}

// lookup is one Get: the reply, or "" and the lease of a miss.
func lookup(t *testing.T, c *Cache, name string) (string, Lease) {
	t.Helper()
	got, lease, err := c.Get(name)
	switch {
	case errors.Is(err, ErrMiss):
		return "", lease
	case err != nil:
		t.Fatalf("Get(%q): %v", name, err)
	}
	return string(got), Lease{}
}

func TestCache(t *testing.T) {
	c, mc := newTestCache(t, Options{TTL: 10 * time.Second})

	// Each step gets the lease of a lookup made just before it.
	steps := []struct {
		name string
		do   func(before Lease) error
		want string // cached reply after the step; "" means a miss
	}{
		{"miss at first", func(Lease) error { return nil }, ""},
		{"fill after a miss stores", func(l Lease) error { return c.Fill("Ann", l, []byte("old")) }, "old"},
		{"invalidate hides the reply", func(Lease) error { return c.Invalidate("Ann") }, ""},
		{"fill over the marker it saw stores", func(l Lease) error { return c.Fill("Ann", l, []byte("new")) }, "new"},
		{"fill without a lease does nothing", func(Lease) error { return c.Fill("Ann", Lease{}, []byte("stale")) }, "new"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			_, before := lookup(t, c, "Ann")
			if err := s.do(before); err != nil {
				t.Fatal(err)
			}
			if got, _ := lookup(t, c, "Ann"); got != s.want {
				t.Fatalf("cached %q, want %q", got, s.want)
			}
		})
	}

	t.Run("outage is an error, not a miss", func(t *testing.T) {
		mc.Stop()
		if _, _, err := c.Get("Ann"); err == nil || errors.Is(err, ErrMiss) {
			t.Fatalf("Get with memcached stopped = %v, want a connection error", err)
		}
		if err := c.Invalidate("Ann"); err == nil {
			t.Fatal("Invalidate with memcached stopped succeeded")
		}
	})
}

// TestStaleFillAfterWriteIsRefused plays a reader that looked the name up,
// read the old number from the store, and fills the cache only after a
// write invalidated the name: the old number must not be cached.
func TestStaleFillAfterWriteIsRefused(t *testing.T) {
	c, _ := newTestCache(t, Options{TTL: 10 * time.Second})
	tests := []struct {
		name  string
		setup func(name string) // the cache before the slow reader's lookup
	}{
		{"reader found nothing (add)", func(string) {}},
		{"reader found a marker (compare-and-swap)", func(name string) {
			if err := c.Invalidate(name); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "Slow " + tt.name
			tt.setup(name)
			got, lease := lookup(t, c, name)
			if got != "" {
				t.Fatalf("lookup before the write hit %q, want a miss", got)
			}
			if err := c.Invalidate(name); err != nil { // the write
				t.Fatal(err)
			}
			if err := c.Fill(name, lease, []byte("old")); err != nil {
				t.Fatal(err)
			}
			if got, _ := lookup(t, c, name); got != "" {
				t.Fatalf("after a write, the slow reader cached %q; want a miss", got)
			}
		})
	}
	t.Run("a fill past the window does not add", func(t *testing.T) {
		// Past fillWindow a marker set after the lookup might have expired,
		// so an Add could no longer be told apart from a stale one.
		late := Lease{start: time.Now().Add(-fillWindow)}
		if err := c.Fill("Late", late, []byte("old")); err != nil {
			t.Fatal(err)
		}
		if got, _ := lookup(t, c, "Late"); got != "" {
			t.Fatalf("late fill cached %q, want a miss", got)
		}
	})
}

func TestNewRejectsSubSecondTTL(t *testing.T) {
	if _, err := New("127.0.0.1:11211", Options{TTL: 500 * time.Millisecond}); err == nil {
		t.Fatal("New with TTL 500ms succeeded")
	}
}

// TestConcurrentGetsBatch checks batched reads hand each caller its own
// key's reply, including misses mixed into the same batch.
func TestConcurrentGetsBatch(t *testing.T) {
	c, _ := newTestCache(t, Options{Fetchers: 1})
	const n = 40
	for i := range n {
		if i%4 != 0 { // every fourth name stays uncached
			name := fmt.Sprint("name-", i)
			_, l := lookup(t, c, name)
			if err := c.Fill(name, l, []byte(fmt.Sprint("reply-", i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	errs := make(chan error, n*5)
	var wg sync.WaitGroup
	for round := range 5 {
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, _, err := c.Get(fmt.Sprint("name-", i))
				switch {
				case i%4 == 0 && !errors.Is(err, ErrMiss):
					errs <- fmt.Errorf("round %d name-%d: got %q, %v; want a miss", round, i, got, err)
				case i%4 != 0 && (err != nil || string(got) != fmt.Sprint("reply-", i)):
					errs <- fmt.Errorf("round %d name-%d: got %q, %v; want reply-%d", round, i, got, err, i)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
