package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

// start serves a floor with two loops on a loopback port.
func start(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := newServer(2)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.serve(ln) }()
	t.Cleanup(func() {
		ln.Close()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String()
}

func TestFloorStoresAndAnswersWhatAMemcachedClientSends(t *testing.T) {
	mc := memcache.New(start(t))
	mc.Timeout = 10 * time.Second
	const n = 100
	var keys []string
	for i := range n {
		key := fmt.Sprintf("key-%d", i)
		keys = append(keys, key)
		if err := mc.Set(&memcache.Item{Key: key, Value: []byte(strings.Repeat("v", i)), Flags: uint32(i)}); err != nil {
			t.Fatalf("set %s: %v", key, err)
		}
	}
	got, err := mc.GetMulti(append(keys, "never-set"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("multi-get of %d stored keys and one never set found %d", n, len(got))
	}
	for i, key := range keys {
		it := got[key]
		if it == nil || len(it.Value) != i || it.Flags != uint32(i) {
			t.Fatalf("%s: got %+v, want %d bytes and flags %d", key, it, i, i)
		}
	}
	if _, err := mc.Get("never-set"); !errors.Is(err, memcache.ErrCacheMiss) {
		t.Fatalf("get of a key never set: %v, want a miss", err)
	}
}

// A multi-get's reply far larger than the sockets' buffers (the client's
// holds 256 KB) waits for the client to read it, and arrives whole and in
// order, before the reply to the command sent after it.
func TestFloorSendsAReplyLargerThanTheSocketTakes(t *testing.T) {
	addr := start(t)
	mc := memcache.New(addr)
	mc.Timeout = 30 * time.Second
	const n, size = 300, 64 << 10 // about 20 MB of reply
	var keys []string
	for i := range n {
		key := fmt.Sprintf("big-%d", i)
		keys = append(keys, key)
		if err := mc.Set(&memcache.Item{Key: key, Value: bytes.Repeat([]byte{byte('a' + i%26)}, size)}); err != nil {
			t.Fatalf("set %s: %v", key, err)
		}
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.(*net.TCPConn).SetReadBuffer(256 << 10); err != nil {
		t.Fatal(err)
	}
	if err := c.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintf(c, "get %s\r\nversion\r\n", strings.Join(keys, " ")); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReaderSize(c, 4<<10)
	value := make([]byte, size+2)
	for i, key := range keys {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("item %d: %v", i, err)
		}
		if want := fmt.Sprintf("VALUE %s 0 %d\r\n", key, size); line != want {
			t.Fatalf("item %d: got %q, want %q", i, line, want)
		}
		if _, err := io.ReadFull(r, value); err != nil {
			t.Fatalf("item %d: %v", i, err)
		}
		if want := append(bytes.Repeat([]byte{byte('a' + i%26)}, size), "\r\n"...); !bytes.Equal(value, want) {
			t.Fatalf("%s: value differs from the one stored", key)
		}
	}
	for _, want := range []string{"END\r\n", "VERSION mcfloor\r\n"} {
		if line, err := r.ReadString('\n'); line != want || err != nil {
			t.Fatalf("got %q, %v; want %q", line, err, want)
		}
	}
}

func TestFloorAnswersCommandsCutAnywhereAndRejectsOthers(t *testing.T) {
	c, err := net.Dial("tcp", start(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	input := "set k 7 0 5\r\nhello\r\nget k\r\nbogus\r\nset k 0 0 2\r\nabcd\r\nset k 0 0 x\r\nversion\r\nset q 0 0 1 noreply\r\nz\r\nget q\r\n"
	// One byte per write: every command arrives cut at every place.
	for i := range len(input) {
		if _, err := c.Write([]byte{input[i]}); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"STORED", "VALUE k 7 5", "hello", "END", "ERROR",
		"CLIENT_ERROR bad data chunk",
		"ERROR", // the bad block's rest, a line of its own
		"ERROR", // a size that is no number
		"VERSION mcfloor",
		"VALUE q 0 1", "z", "END",
	}
	for _, w := range want {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the reply %q: %v", w, err)
		}
		if got := strings.TrimSuffix(line, "\r\n"); got != w {
			t.Fatalf("got %q, want %q", got, w)
		}
	}
	if _, err := c.Write([]byte("quit\r\n")); err != nil {
		t.Fatal(err)
	}
	if rest, err := io.ReadAll(r); err != nil || len(rest) > 0 {
		t.Fatalf("after quit: %q, %v; want the connection closed with nothing more", rest, err)
	}
}

func TestFloorRejectsBadFlags(t *testing.T) {
	tests := []struct {
		args  []string
		names string // what the error must name
	}{
		{[]string{"--threads", "-1"}, "--threads -1"},
		{[]string{"--listen", "not-an-address"}, "not-an-address"},
		{[]string{"--nosuch"}, "nosuch"},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		err := run(t.Context(), tt.args, &stderr, nil)
		if err == nil {
			t.Fatalf("%v: no error", tt.args)
		}
		if !strings.Contains(err.Error(), tt.names) {
			t.Errorf("%v: error %q does not name %q", tt.args, err, tt.names)
		}
	}
}
