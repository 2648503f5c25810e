package node

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/apps/cachenode/internal/cache"
)

// layers are the two network layers; tests of the connection handling run
// on both.
var layers = []struct {
	name       string
	goroutines bool
}{{"eventloop", false}, {"goroutine", true}}

// startServer serves a fresh store on a loopback listener, on the default
// (event loop) layer, until the test ends.
func startServer(t testing.TB, cfg cache.Config) (string, *cache.Store) {
	t.Helper()
	return startServerLayer(t, cfg, false)
}

// startServerLayer is startServer on the layer asked for.
func startServerLayer(t testing.TB, cfg cache.Config, goroutines bool) (string, *cache.Store) {
	t.Helper()
	if cfg.Capacity == 0 {
		cfg.Capacity = 64 << 20
	}
	st := cache.New(cfg)
	srv := &Server{Handler: &Handler{Store: st, Started: time.Now()}, Goroutines: goroutines}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return ln.Addr().String(), st
}

// ioGuard bounds how long a test waits on a socket: a hang fails the test
// instead of blocking it; it is not a performance assertion.
const ioGuard = 20 * time.Second

// syncTail is appended to every scripted session: once its reply arrives,
// every earlier reply has too.
const (
	syncCmd   = "set __sync__ 0 0 4\r\nsync\r\nget __sync__\r\n"
	syncReply = "STORED\r\nVALUE __sync__ 0 4\r\nsync\r\nEND\r\n"
)

// session sends script on a new connection and returns everything the
// server answered before the sync tail (or before closing the connection).
func session(t testing.TB, addr string, script []byte) []byte {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, ioGuard)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(ioGuard))
	go func() {
		// Write concurrently: a large script must not deadlock against
		// replies the server cannot deliver while we are not reading.
		_, _ = c.Write(append(append([]byte{}, script...), syncCmd...))
	}()
	var got []byte
	r := bufio.NewReader(c)
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		got = append(got, buf[:n]...)
		if bytes.HasSuffix(got, []byte(syncReply)) {
			return got[:len(got)-len(syncReply)]
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("no complete reply from %s within %v; got so far %q", addr, ioGuard, truncate(got))
			}
			return append(got, "<closed>"...)
		}
	}
}

func truncate(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "..."
	}
	return string(b)
}
