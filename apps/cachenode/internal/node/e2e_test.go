package node

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/cloudlabs/cloudlabs/apps/cachenode/internal/cache"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

// TestGomemcache drives a real listener with an independent client library.
func TestGomemcache(t *testing.T) {
	addr, _ := startServer(t, cache.Config{})
	mc := memcache.New(addr)
	mc.Timeout = ioGuard

	steps := []struct {
		name string
		do   func() error
	}{
		{"set", func() error { return mc.Set(&memcache.Item{Key: "k", Value: []byte("v1"), Flags: 7}) }},
		{"get", func() error {
			it, err := mc.Get("k")
			if err != nil {
				return err
			}
			if string(it.Value) != "v1" || it.Flags != 7 {
				return fmt.Errorf("got %q flags %d, want v1 flags 7", it.Value, it.Flags)
			}
			return nil
		}},
		{"add existing", func() error {
			if err := mc.Add(&memcache.Item{Key: "k", Value: []byte("x")}); !errors.Is(err, memcache.ErrNotStored) {
				return fmt.Errorf("got %v, want ErrNotStored", err)
			}
			return nil
		}},
		{"compare and swap", func() error {
			it, err := mc.Get("k")
			if err != nil {
				return err
			}
			it.Value = []byte("v2")
			if err := mc.CompareAndSwap(it); err != nil {
				return err
			}
			if err := mc.CompareAndSwap(it); !errors.Is(err, memcache.ErrCASConflict) {
				return fmt.Errorf("second CAS: got %v, want ErrCASConflict", err)
			}
			return nil
		}},
		{"get multi", func() error {
			if err := mc.Set(&memcache.Item{Key: "k2", Value: []byte("two")}); err != nil {
				return err
			}
			m, err := mc.GetMulti([]string{"k", "k2", "absent"})
			if err != nil {
				return err
			}
			if len(m) != 2 || string(m["k"].Value) != "v2" || string(m["k2"].Value) != "two" {
				return fmt.Errorf("GetMulti = %v", m)
			}
			return nil
		}},
		{"increment decrement", func() error {
			if err := mc.Set(&memcache.Item{Key: "n", Value: []byte("10")}); err != nil {
				return err
			}
			if n, err := mc.Increment("n", 5); err != nil || n != 15 {
				return fmt.Errorf("Increment = %d, %v; want 15", n, err)
			}
			if n, err := mc.Decrement("n", 20); err != nil || n != 0 {
				return fmt.Errorf("Decrement = %d, %v; want 0", n, err)
			}
			return nil
		}},
		{"touch", func() error { return mc.Touch("k", 100) }},
		{"delete", func() error {
			if err := mc.Delete("k"); err != nil {
				return err
			}
			if _, err := mc.Get("k"); !errors.Is(err, memcache.ErrCacheMiss) {
				return fmt.Errorf("get after delete: got %v, want ErrCacheMiss", err)
			}
			return nil
		}},
		{"flush all", func() error {
			if err := mc.FlushAll(); err != nil {
				return err
			}
			if _, err := mc.Get("k2"); !errors.Is(err, memcache.ErrCacheMiss) {
				return fmt.Errorf("get after flush: got %v, want ErrCacheMiss", err)
			}
			return nil
		}},
		{"ping", func() error { return mc.Ping() }},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if err := s.do(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestCapacityUnderLoad writes far more than the capacity from several
// clients while a poller checks that bytes never exceed it.
func TestCapacityUnderLoad(t *testing.T) {
	for _, layer := range layers {
		t.Run(layer.name, func(t *testing.T) { testCapacityUnderLoad(t, layer.goroutines) })
	}
}

func testCapacityUnderLoad(t *testing.T, goroutines bool) {
	const capacity = 256 << 10
	addr, st := startServerLayer(t, cache.Config{Capacity: capacity}, goroutines)
	stop := make(chan struct{})
	var over []int64
	var pollDone sync.WaitGroup
	pollDone.Add(1)
	go func() {
		defer pollDone.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if b := st.Stats().Bytes; b > capacity {
				over = append(over, b)
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mc := memcache.New(addr)
			mc.Timeout = ioGuard
			for i := range 2000 {
				v := strings.Repeat("x", 100+(i*37)%900)
				if err := mc.Set(&memcache.Item{Key: fmt.Sprintf("w%d-%d", w, i), Value: []byte(v)}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	pollDone.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("set: %v", err)
	}
	if len(over) > 0 {
		t.Errorf("bytes exceeded capacity %d: %v", capacity, over[:min(len(over), 5)])
	}
	s := st.Stats()
	if s.Evictions == 0 {
		t.Errorf("no evictions after writing ~4 MB into %d bytes", capacity)
	}
	if s.TotalItems != 8000 {
		t.Errorf("total_items = %d, want 8000", s.TotalItems)
	}
	if s.Items+s.Evictions != 8000 {
		t.Errorf("items %d + evictions %d = %d, want 8000 (every key is new)", s.Items, s.Evictions, s.Items+s.Evictions)
	}
}

// TestLineTooLongCloses sends a megabyte without a newline: the server
// answers with a protocol error and closes instead of buffering it.
func TestLineTooLongCloses(t *testing.T) {
	for _, layer := range layers {
		t.Run(layer.name, func(t *testing.T) {
			addr, _ := startServerLayer(t, cache.Config{}, layer.goroutines)
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(ioGuard))
			go func() { _, _ = c.Write([]byte(strings.Repeat("x", 1<<20))) }()
			got, err := io.ReadAll(c)
			if err != nil && !isReset(err) {
				t.Fatalf("read: %v", err)
			}
			if string(got) != "CLIENT_ERROR line too long\r\n" {
				t.Errorf("got %q, want the line-too-long error then EOF", got)
			}
		})
	}
}

func isReset(err error) bool {
	return strings.Contains(err.Error(), "connection reset")
}

// TestMaxConns checks the connection limit answers like memcached does,
// and that a closed connection frees its place, on both layers.
func TestMaxConns(t *testing.T) {
	for _, layer := range layers {
		t.Run(layer.name, func(t *testing.T) { testMaxConns(t, layer.goroutines) })
	}
}

func testMaxConns(t *testing.T, goroutines bool) {
	st := cache.New(cache.Config{Capacity: 1 << 20})
	h := &Handler{Store: st}
	srv := &Server{Handler: h, MaxConns: 1, Goroutines: goroutines}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Shutdown(context.Background()) }()

	first, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	_ = first.SetDeadline(time.Now().Add(ioGuard))
	if _, err := first.Write([]byte("version\r\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(first).ReadString('\n'); err != nil || !strings.HasPrefix(line, "VERSION ") {
		t.Fatalf("first connection: %q, %v", line, err)
	}
	second, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	_ = second.SetDeadline(time.Now().Add(ioGuard))
	got, _ := io.ReadAll(second)
	if string(got) != tooManyConns {
		t.Errorf("second connection got %q, want %q", got, tooManyConns)
	}
	// Once the first one has gone, a new connection is served.
	first.Close()
	testkit.Eventually(t, "the closed connection's place freed", ioGuard, func() bool { return h.currConns.Load() == 0 })
	third, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	_ = third.SetDeadline(time.Now().Add(ioGuard))
	if _, err := third.Write([]byte("version\r\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(third).ReadString('\n'); err != nil || !strings.HasPrefix(line, "VERSION ") {
		t.Fatalf("connection after the first closed: %q, %v", line, err)
	}
	if n := h.rejectedConns.Load(); n != 1 {
		t.Errorf("rejected_connections = %d, want 1", n)
	}
}

// TestShutdownWaits checks Shutdown closes idle connections, and one in
// the middle of a command, and returns, on both layers.
func TestShutdownWaits(t *testing.T) {
	for _, layer := range layers {
		t.Run(layer.name, func(t *testing.T) { testShutdownWaits(t, layer.goroutines) })
	}
}

func testShutdownWaits(t *testing.T, goroutines bool) {
	st := cache.New(cache.Config{Capacity: 1 << 20})
	h := &Handler{Store: st}
	srv := &Server{Handler: h, Goroutines: goroutines}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(ioGuard))
	if _, err := c.Write([]byte("set a 0 0 1\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	if line, _ := bufio.NewReader(c).ReadString('\n'); line != "STORED\r\n" {
		t.Fatalf("got %q, want STORED", line)
	}
	// A second connection stops halfway through a set's value.
	partial, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer partial.Close()
	_ = partial.SetDeadline(time.Now().Add(ioGuard))
	if _, err := partial.Write([]byte("get a\r\n")); err != nil {
		t.Fatal(err)
	}
	pr := bufio.NewReader(partial)
	for _, want := range []string{"VALUE a 0 1\r\n", "x\r\n", "END\r\n"} {
		if line, _ := pr.ReadString('\n'); line != want {
			t.Fatalf("got %q, want %q", line, want)
		}
	}
	if _, err := partial.Write([]byte("set b 0 0 10\r\nabc")); err != nil {
		t.Fatal(err)
	}
	// Every byte sent so far has reached the server: the two sets, the get.
	sent := int64(len("set a 0 0 1\r\nx\r\n") + len("get a\r\n") + len("set b 0 0 10\r\nabc"))
	testkit.Eventually(t, "the half-sent set being read", ioGuard, func() bool {
		read, _ := h.conns.bytes()
		return read == sent
	})
	ctx, cancel := context.WithTimeout(context.Background(), ioGuard)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve = %v, want ErrServerClosed", err)
	}
	if _, err := io.ReadAll(c); err != nil && !isReset(err) {
		t.Errorf("connection not closed cleanly: %v", err)
	}
	if rest, err := io.ReadAll(pr); (err != nil && !isReset(err)) || len(rest) != 0 {
		t.Errorf("half-sent set: got %q, %v; want the connection closed without a reply", rest, err)
	}
	if n := h.currConns.Load(); n != 0 {
		t.Errorf("curr_connections = %d after Shutdown, want 0", n)
	}
	if _, ok := st.Get([]byte("b")); ok {
		t.Error("the half-sent set was stored")
	}
}
