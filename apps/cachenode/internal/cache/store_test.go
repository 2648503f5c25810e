package cache

import (
	"fmt"
	"strings"
	"testing"
)

// clock is a settable fake clock.
type clock struct{ now int64 }

func (c *clock) Now() int64 { return c.now }

func newTest(capacity int64, p Policy) (*Store, *clock) {
	c := &clock{now: 1_700_000_000}
	return New(Config{Capacity: capacity, Policy: p, Shards: 1, Now: c.Now}), c
}

func has(s *Store, key string) bool {
	_, ok := s.Get([]byte(key))
	return ok
}

func TestExpiry(t *testing.T) {
	tests := []struct {
		name    string
		exptime int64
		advance int64
		visible bool
	}{
		{"never", 0, 1 << 30, true},
		{"relative not yet", 10, 9, true},
		{"relative reached", 10, 10, false},
		{"negative is expired", -1, 0, false},
		{"30 days is relative", MaxRelativeExptime, MaxRelativeExptime - 1, true},
		{"absolute future", 1_700_000_100, 99, true},
		{"absolute reached", 1_700_000_100, 100, false},
		{"absolute past", MaxRelativeExptime + 1, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := newTest(1<<20, LRU)
			if r := s.Store(Set, []byte("k"), []byte("v"), 0, tt.exptime, 0); r != Stored {
				t.Fatalf("Store = %v", r)
			}
			c.now += tt.advance
			if got := has(s, "k"); got != tt.visible {
				t.Errorf("visible = %v, want %v", got, tt.visible)
			}
			if !tt.visible && s.Stats().Bytes != 0 {
				t.Errorf("expired item still charged: %d bytes", s.Stats().Bytes)
			}
		})
	}
}

func TestEvictionPolicies(t *testing.T) {
	item := ItemSize(2, 10)
	tests := []struct {
		name   string
		policy Policy
		// after storing k0..k3 in a 3-item store, reading k0, then storing k4
		check func(*Store) string
	}{
		{"lru evicts least recently used", LRU, func(s *Store) string {
			if !has(s, "k0") || has(s, "k1") {
				return "want k0 kept (read) and k1 evicted"
			}
			return ""
		}},
		{"random keeps within capacity", Random, func(s *Store) string {
			if n := s.Stats().Items; n != 3 {
				return fmt.Sprintf("items = %d, want 3", n)
			}
			return ""
		}},
		{"lfu keeps the read item", LFU, func(s *Store) string {
			if !has(s, "k0") {
				return "want k0 (read 5 times) kept"
			}
			return ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTest(3*item, tt.policy)
			for i := range 3 {
				s.Store(Set, []byte(fmt.Sprintf("k%d", i)), []byte("0123456789"), 0, 0, 0)
			}
			for range 5 {
				has(s, "k0")
			}
			s.Store(Set, []byte("k3"), []byte("0123456789"), 0, 0, 0)
			st := s.Stats()
			if st.Evictions != 1 || st.Bytes > st.Capacity {
				t.Errorf("evictions = %d, bytes = %d (capacity %d); want 1 eviction within capacity", st.Evictions, st.Bytes, st.Capacity)
			}
			if msg := tt.check(s); msg != "" {
				t.Error(msg)
			}
		})
	}
}

func TestSetCapacityShrinks(t *testing.T) {
	s := New(Config{Capacity: 1 << 20})
	for i := range 1000 {
		s.Store(Set, []byte(fmt.Sprintf("key-%d", i)), make([]byte, 100), 0, 0, 0)
	}
	if err := s.SetCapacity(10_000); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Bytes > 10_000 || st.Evictions == 0 {
		t.Errorf("after shrinking: bytes %d, evictions %d; want <= 10000 and > 0", st.Bytes, st.Evictions)
	}
	if err := s.SetCapacity(-1); err == nil {
		t.Error("negative capacity accepted")
	}
}

func TestOverwriteCountsDelta(t *testing.T) {
	s, _ := newTest(ItemSize(1, 10), LRU)
	for range 5 {
		if r := s.Store(Set, []byte("k"), []byte("0123456789"), 0, 0, 0); r != Stored {
			t.Fatalf("overwrite in a full store = %v, want Stored", r)
		}
	}
	if st := s.Stats(); st.Evictions != 0 || st.Items != 1 {
		t.Errorf("evictions %d items %d, want 0 and 1", st.Evictions, st.Items)
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"64MB", 64 << 20, true}, {"512KB", 512 << 10, true}, {"1GB", 1 << 30, true},
		{"1g", 1 << 30, true}, {"4096", 4096, true}, {"10B", 10, true},
		{"", 0, false}, {"-1MB", 0, false}, {"MB", 0, false}, {"1TB", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSize(tt.in)
			if got != tt.want || (err == nil) != tt.ok {
				t.Errorf("ParseSize(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestSetCapacityBounds(t *testing.T) {
	s := New(Config{Capacity: 1 << 20})
	for _, n := range []int64{-1, MaxCapacity + 1, 1<<63 - 1} {
		if err := s.SetCapacity(n); err == nil || !strings.Contains(err.Error(), "0 to 1099511627776 bytes (1024GB)") {
			t.Errorf("SetCapacity(%d) = %v, want an error naming the allowed range", n, err)
		}
		if got := s.Capacity(); got != 1<<20 {
			t.Errorf("after refused SetCapacity(%d), capacity %d, want unchanged 1MB", n, got)
		}
	}
	if err := s.SetCapacity(MaxCapacity); err != nil || s.Capacity() != MaxCapacity {
		t.Errorf("SetCapacity(MaxCapacity) = %v, capacity %d", err, s.Capacity())
	}
}

func TestLRUKeepsEveryReadItemOverUnreadOnes(t *testing.T) {
	item := ItemSize(1, 10)
	s, _ := newTest(4*item, LRU)
	for _, k := range []string{"a", "b", "c", "d"} {
		s.Store(Set, []byte(k), []byte("0123456789"), 0, 0, 0)
	}
	has(s, "a") // the oldest two of the four, read once each
	has(s, "c")
	for _, k := range []string{"e", "f"} {
		s.Store(Set, []byte(k), []byte("0123456789"), 0, 0, 0)
	}
	if st := s.Stats(); st.Evictions != 2 || st.Items != 4 {
		t.Fatalf("evictions = %d, items = %d; want 2 evictions, 4 items", st.Evictions, st.Items)
	}
	for k, want := range map[string]bool{"a": true, "b": false, "c": true, "d": false, "e": true, "f": true} {
		if got := has(s, k); got != want {
			t.Errorf("%s present = %v, want %v", k, got, want)
		}
	}
}
