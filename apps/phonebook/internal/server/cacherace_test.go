package server

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/apps/phonebook/internal/cache"
	"github.com/cloudlabs/cloudlabs/apps/phonebook/internal/contact"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

// TestOverlappingWritesNeverLeaveAnOlderNumber makes two writes to one name
// overlap the way a slow cache link does: A reaches the store first, but
// its cache write reaches memcached only after B's whole write was
// acknowledged (store A, store B, cache B, cache A). A read after both must
// answer B's number, from the cache as well as from the store.
func TestOverlappingWritesNeverLeaveAnOlderNumber(t *testing.T) {
	mc := testkit.Memcached(t)
	const name = "Raced Rita"
	proxy := newHoldingProxy(t, mc.Addr, cache.Key(name))
	// A long per-call timeout: the held command must not time out, or the
	// client would give up on it and the order under test would change.
	c, err := cache.New(proxy.addr, cache.Options{TTL: 10 * time.Second, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	p := serve(t, newServer(t, nil, c))

	aDone := make(chan reply, 1)
	go func() { aDone <- p.add(name, "111") }()
	select {
	case <-proxy.held:
	case r := <-aDone:
		t.Fatalf("write A finished (%d %s) without writing to memcached", r.status, r.body)
	case <-time.After(30 * time.Second):
		t.Fatal("write A's cache update never reached memcached")
	}
	want := contact.Contact{Name: name, Number: "222"}
	wantContact(t, p.add(name, want.Number), http.StatusCreated, want)
	close(proxy.release)
	select {
	case r := <-aDone:
		wantContact(t, r, http.StatusCreated, contact.Contact{Name: name, Number: "111"})
	case <-time.After(30 * time.Second):
		t.Fatal("write A did not finish after its cache update was released")
	}
	// A was acknowledged last, but B reached the store last: B's number is
	// the contact's number now, and both writes were acknowledged.
	for i := range 3 { // a miss (fill), then hits
		r := p.get(name)
		if r.status != http.StatusOK || !strings.Contains(r.body, `"222"`) {
			t.Fatalf("read %d after both writes: %d %s; want number 222, the store's", i, r.status, r.body)
		}
	}
}

// holdingProxy forwards memcached connections and holds the first "set" of
// one key until release is closed; held is closed once it arrived.
type holdingProxy struct {
	addr    string
	key     string
	held    chan struct{}
	release chan struct{}
	taken   atomic.Bool
}

func newHoldingProxy(t *testing.T, upstream, key string) *holdingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &holdingProxy{addr: ln.Addr().String(), key: key, held: make(chan struct{}), release: make(chan struct{})}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		select {
		case <-p.release:
		default:
			close(p.release)
		}
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", upstream)
			if err != nil {
				client.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, client, server)
			mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); _, _ = io.Copy(client, server); client.Close() }()
			go func() { defer wg.Done(); p.forward(server, client); server.Close() }()
		}
	}()
	return p
}

// forward copies memcached text-protocol commands from client to server,
// one whole command (line and data block) at a time.
func (p *holdingProxy) forward(server io.Writer, client io.Reader) {
	r := bufio.NewReader(client)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := line
		f := strings.Fields(line)
		if len(f) >= 5 && (f[0] == "set" || f[0] == "add" || f[0] == "cas" || f[0] == "replace") {
			n, err := strconv.Atoi(f[4])
			if err != nil {
				return
			}
			data := make([]byte, n+2)
			if _, err := io.ReadFull(r, data); err != nil {
				return
			}
			cmd += string(data)
			if f[0] == "set" && f[1] == p.key && p.taken.CompareAndSwap(false, true) {
				close(p.held)
				<-p.release
			}
		}
		if _, err := io.WriteString(server, cmd); err != nil && !errors.Is(err, net.ErrClosed) {
			return
		}
	}
}
