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

func TestCache(t *testing.T) {
	mc := testkit.Memcached(t)
	c, err := New(mc.Addr, Options{TTL: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	steps := []struct {
		name string
		do   func() error
		want string // cached reply after the step; "" means a miss
	}{
		{"miss at first", func() error { return nil }, ""},
		{"fill stores", func() error { return c.Fill("Ann", []byte("old")) }, "old"},
		{"update overwrites", func() error { return c.Update("Ann", []byte("new")) }, "new"},
		{"late fill does not overwrite a write", func() error { return c.Fill("Ann", []byte("stale")) }, "new"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if err := s.do(); err != nil {
				t.Fatal(err)
			}
			got, err := c.Get("Ann")
			switch {
			case s.want == "" && !errors.Is(err, ErrMiss):
				t.Fatalf("Get = %q, %v; want ErrMiss", got, err)
			case s.want != "" && (err != nil || string(got) != s.want):
				t.Fatalf("Get = %q, %v; want %q", got, err, s.want)
			}
		})
	}

	t.Run("outage is an error, not a miss", func(t *testing.T) {
		mc.Stop()
		if _, err := c.Get("Ann"); err == nil || errors.Is(err, ErrMiss) {
			t.Fatalf("Get with memcached stopped = %v, want a connection error", err)
		}
		if err := c.Update("Ann", []byte("x")); err == nil {
			t.Fatal("Update with memcached stopped succeeded")
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
	mc := testkit.Memcached(t)
	c, err := New(mc.Addr, Options{Fetchers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 40
	for i := range n {
		if i%4 != 0 { // every fourth name stays uncached
			if err := c.Update(fmt.Sprint("name-", i), []byte(fmt.Sprint("reply-", i))); err != nil {
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
				got, err := c.Get(fmt.Sprint("name-", i))
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
