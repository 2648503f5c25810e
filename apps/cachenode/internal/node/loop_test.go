package node

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/panjf2000/gnet/v2"

	"github.com/cloudlabs/cloudlabs/apps/cachenode/internal/cache"
)

// fakeConn stands in for gnet's connection so a test decides exactly how
// the input is cut into reads and how much reply is still unsent. Methods
// the handler does not use are left to the nil embedded interface.
type fakeConn struct {
	gnet.Conn
	ctx      any
	in       []byte
	out      bytes.Buffer
	outbound int  // what OutboundBuffered reports
	queue    bool // writes stay unsent: they add to outbound
	wakes    int
}

func (f *fakeConn) Context() any                    { return f.ctx }
func (f *fakeConn) SetContext(c any)                { f.ctx = c }
func (f *fakeConn) EventLoop() gnet.EventLoop       { return nil }
func (f *fakeConn) OutboundBuffered() int           { return f.outbound }
func (f *fakeConn) Wake(_ gnet.AsyncCallback) error { f.wakes++; return nil }
func (f *fakeConn) Next(int) ([]byte, error) {
	b := f.in
	f.in = nil
	return b, nil
}

func (f *fakeConn) Write(b []byte) (int, error) {
	f.out.Write(b)
	if f.queue {
		f.outbound += len(b)
	}
	return len(b), nil
}

// loopFixture is one connection opened on the event-loop handler, fed by
// hand.
type loopFixture struct {
	h  *loopHandler
	fc *fakeConn
	lc *loopConn
}

func newLoopFixture(t *testing.T, h *Handler) *loopFixture {
	t.Helper()
	s := &Server{Handler: h, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	lh := &loopHandler{s: s}
	lc := newLoopConn(s, &conn{id: 1, addr: "tcp:test"})
	fc := &fakeConn{ctx: lc}
	if _, action := lh.OnOpen(fc); action != gnet.None {
		t.Fatalf("OnOpen = %v, want None", action)
	}
	return &loopFixture{h: lh, fc: fc, lc: lc}
}

// feed delivers b as one read and reports whether the handler closed.
func (f *loopFixture) feed(b []byte) (closed bool) {
	f.fc.in = b
	return f.h.OnTraffic(f.fc) == gnet.Close
}

// feedChunks delivers script cut into reads of n bytes and returns every
// reply, with "<closed>" appended if the handler closed the connection
// (as session does for a real one).
func feedChunks(t *testing.T, script []byte, n int) []byte {
	t.Helper()
	f := newLoopFixture(t, &Handler{Store: cache.New(cache.Config{Capacity: 64 << 20})})
	for len(script) > 0 {
		k := min(n, len(script))
		if f.feed(script[:k]) {
			return append(f.fc.out.Bytes(), "<closed>"...)
		}
		script = script[k:]
	}
	return f.fc.out.Bytes()
}

// cutScripts are the conformance scripts plus inputs that end a
// connection without a newline: a line that is too long, binary requests.
func cutScripts() []struct{ name, script string } {
	binaryGet := "\x80\x00\x00\x01" + strings.Repeat("\x00", 20) + "k"
	return append(conformance[:len(conformance):len(conformance)], []struct{ name, script string }{
		{"line too long", strings.Repeat("x", 10000)},
		{"multi-get line too long", "get " + strings.Repeat("k ", 600<<10)},
		{"binary after text", "set a 0 0 1\r\nx\r\n" + binaryGet},
		// Nothing follows the value to nudge a late reply out.
		{"ends with a value", "get a\r\nset a 0 0 10\r\n0123456789\r\n"},
	}...)
}

// TestLoopAnyCutOfTheInput feeds scripts to the event loop handler cut
// into reads of many sizes, one byte included, and (the short ones) cut
// into two reads at every position. The replies must equal the goroutine
// layer's over a real socket, where the parser blocks for missing bytes
// instead of starting the command over, and every complete command must
// be answered as soon as its last byte is fed (the fake is synchronous,
// so no sync tail is sent to it).
func TestLoopAnyCutOfTheInput(t *testing.T) {
	sizes := []int{1, 2, 3, 7, 100, 4095, 4097, 65536, 1 << 30}
	for _, tc := range cutScripts() {
		t.Run(tc.name, func(t *testing.T) {
			script := []byte(tc.script)
			addr, _ := startServerLayer(t, cache.Config{}, true)
			want := session(t, addr, script)
			for _, n := range sizes {
				if len(script) > 1<<20 && n < 100 {
					continue // a million reads prove nothing more than a thousand
				}
				if got := feedChunks(t, script, n); !bytes.Equal(got, want) {
					t.Fatalf("reads of %d bytes: replies differ\ngot:  %q\nwant: %q", n, truncate(got), truncate(want))
				}
			}
			if len(script) > 2048 {
				return
			}
			for i := 1; i < len(script); i++ {
				f := newLoopFixture(t, &Handler{Store: cache.New(cache.Config{Capacity: 64 << 20})})
				got := f.fc.out.Bytes()
				if f.feed(script[:i]) || f.feed(script[i:]) {
					got = append(f.fc.out.Bytes(), "<closed>"...)
				} else {
					got = f.fc.out.Bytes()
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("cut at %d: replies differ\ngot:  %q\nwant: %q", i, truncate(got), truncate(want))
				}
			}
		})
	}
}

// TestLoopDropsTooLargeValueAsItArrives sends a value far over the item
// size limit in small reads: it is refused at once and dropped as it
// arrives instead of being held until it is complete, and the commands
// after it are served.
func TestLoopDropsTooLargeValueAsItArrives(t *testing.T) {
	const size, chunk = 50 << 20, 16 << 10
	f := newLoopFixture(t, &Handler{Store: cache.New(cache.Config{Capacity: 1 << 20}), MaxItemSize: 1024})
	if f.feed([]byte("set k 0 0 1\r\nx\r\nset k 0 0 52428800\r\nvvv")) {
		t.Fatal("closed on the large set's line")
	}
	if got, want := f.fc.out.String(), "STORED\r\nSERVER_ERROR object too large for cache\r\n"; got != want {
		t.Fatalf("after the large set's line: %q, want %q (refused before its value arrives)", got, want)
	}
	value := bytes.Repeat([]byte("v"), chunk)
	maxHeld, reads := 0, 0
	for sent := 3; sent < size; sent += chunk {
		if f.feed(value[:min(chunk, size-sent)]) {
			t.Fatalf("closed after %d value bytes", sent)
		}
		maxHeld = max(maxHeld, cap(f.lc.pending))
		reads++
	}
	if f.feed([]byte("\r\nget k\r\nset j 0 0 1\r\ny\r\nget j\r\n")) {
		t.Fatal("closed after the value")
	}
	if maxHeld > 2*chunk {
		t.Errorf("held up to %d bytes of a value being dropped, want at most %d", maxHeld, 2*chunk)
	}
	want := "STORED\r\nSERVER_ERROR object too large for cache\r\nEND\r\nSTORED\r\nVALUE j 0 1\r\ny\r\nEND\r\n"
	if got := f.fc.out.String(); got != want {
		t.Errorf("after %d reads: replies %q, want %q (the failed set removed k, as memcached does)", reads, got, want)
	}
}

// TestLoopStallsWhileRepliesQueue checks the back-pressure that stands in
// for TCP's on the event loop: commands wait while too much reply is
// unsent, resume when it drains (the ticker wakes the connection), and a
// client that keeps sending without reading is disconnected.
func TestLoopStallsWhileRepliesQueue(t *testing.T) {
	f := newLoopFixture(t, &Handler{Store: cache.New(cache.Config{Capacity: 1 << 20})})
	if f.feed([]byte("set k 0 0 1\r\nx\r\n")) || f.fc.out.String() != "STORED\r\n" {
		t.Fatalf("set: %q", f.fc.out.String())
	}
	f.fc.out.Reset()
	f.fc.outbound = maxOutbound + 1
	if f.feed([]byte("get k\r\nget k\r\n")) {
		t.Fatal("closed while stalled")
	}
	if f.fc.out.Len() != 0 || !f.lc.stalled {
		t.Fatalf("with %d bytes unsent: replied %q, stalled %v; want no reply, stalled", f.fc.outbound, f.fc.out.String(), f.lc.stalled)
	}
	if _, ok := f.h.s.stalled[f.lc]; !ok {
		t.Fatal("a stalled connection is not listed for the ticker")
	}
	if d, _ := f.h.OnTick(); f.fc.wakes != 1 || d != stallPoll {
		t.Fatalf("tick: %d wakes, next tick in %v; want 1 wake, %v", f.fc.wakes, d, stallPoll)
	}
	// A wake with the reply still unsent changes nothing.
	if f.feed(nil) || f.fc.out.Len() != 0 {
		t.Fatalf("woken while still full: replied %q", f.fc.out.String())
	}
	f.fc.outbound = 0
	if f.feed(nil) {
		t.Fatal("closed on wake")
	}
	if got, want := f.fc.out.String(), strings.Repeat("VALUE k 0 1\r\nx\r\nEND\r\n", 2); got != want || f.lc.stalled {
		t.Fatalf("after draining: %q, stalled %v; want %q, not stalled", got, f.lc.stalled, want)
	}
	if _, ok := f.h.s.stalled[f.lc]; ok {
		t.Error("a resumed connection is still listed as stalled")
	}
	if d, _ := f.h.OnTick(); d != tick {
		t.Errorf("next tick in %v with nothing stalled, want %v", d, tick)
	}

	f.fc.outbound = maxOutbound + 1
	if f.feed([]byte("get k\r\n")) {
		t.Fatal("closed on the first stalled command")
	}
	flood := bytes.Repeat([]byte("get k\r\n"), 1<<16)
	for sent := 0; ; sent += len(flood) {
		if f.feed(flood) {
			if sent < f.lc.maxInput-len(flood) {
				t.Errorf("closed after %d bytes, want at least %d queued first", sent, f.lc.maxInput-len(flood))
			}
			break
		}
		if sent > 2*f.lc.maxInput {
			t.Fatalf("still open with %d bytes queued while stalled (limit %d)", len(f.lc.pending), f.lc.maxInput)
		}
	}
}

// TestLoopPausesLongMultiGet asks for a megabyte value eight times in one
// get while the client reads nothing: the reply stops near maxOutbound,
// the rest of the keys wait, and once the reply drains the get finishes
// and the command after it runs, in order.
func TestLoopPausesLongMultiGet(t *testing.T) {
	const size = 1 << 20
	f := newLoopFixture(t, &Handler{Store: cache.New(cache.Config{Capacity: 64 << 20})})
	value := bytes.Repeat([]byte("v"), size)
	if f.feed(append(append([]byte("set k 0 0 1048576\r\n"), value...), "\r\n"...)) || f.fc.out.String() != "STORED\r\n" {
		t.Fatalf("set: %q", truncate(f.fc.out.Bytes()))
	}
	f.fc.out.Reset()
	f.fc.queue = true
	if f.feed([]byte("get k k k k k k k k\r\nget k\r\n")) {
		t.Fatal("closed")
	}
	block := "VALUE k 0 1048576\r\n" + string(value) + "\r\n"
	sent := strings.Count(f.fc.out.String(), "VALUE k")
	if sent == 0 || sent >= 8 || strings.Contains(f.fc.out.String(), "END") || f.lc.rest == nil || len(f.lc.rest.keys) != 8-sent {
		t.Fatalf("paused get: %d values sent, END sent %v, %v keys kept; want fewer than 8 values, no END, the other keys kept",
			sent, strings.Contains(f.fc.out.String(), "END"), f.lc.rest)
	}
	if f.fc.outbound > maxOutbound+size+loopBufferSize {
		t.Errorf("%d bytes of reply queued, want at most %d", f.fc.outbound, maxOutbound+size+loopBufferSize)
	}
	f.fc.queue, f.fc.outbound = false, 0
	if f.feed(nil) {
		t.Fatal("closed on resume")
	}
	if want := strings.Repeat(block, 8) + "END\r\n" + block + "END\r\n"; f.fc.out.String() != want {
		t.Errorf("whole reply differs: got %d bytes with %d values and %d ENDs, want 9 values, 2 ENDs",
			f.fc.out.Len(), strings.Count(f.fc.out.String(), "VALUE"), strings.Count(f.fc.out.String(), "END"))
	}
	if f.lc.stalled || f.lc.rest != nil {
		t.Errorf("after resuming: stalled %v, keys kept %v", f.lc.stalled, f.lc.rest)
	}
}

// TestLoopShutdownFinishesPausedMultiGet shuts down while a multi-get is
// paused: the get is answered in full, then the connection closes without
// running the command queued after it; an idle connection closes at once.
func TestLoopShutdownFinishesPausedMultiGet(t *testing.T) {
	f := newLoopFixture(t, &Handler{Store: cache.New(cache.Config{Capacity: 64 << 20})})
	value := bytes.Repeat([]byte("v"), 1<<20)
	if f.feed(append(append([]byte("set k 0 0 1048576\r\n"), value...), "\r\n"...)) {
		t.Fatal("closed on set")
	}
	f.fc.out.Reset()
	f.fc.queue = true
	if f.feed([]byte("get k k k k k k k k\r\nget k\r\n")) || f.lc.rest == nil {
		t.Fatalf("the get did not pause: %d values sent", strings.Count(f.fc.out.String(), "VALUE"))
	}
	f.h.s.closing.Store(true)
	if f.feed(nil) {
		t.Fatal("closed while the paused get's reply was still unsent")
	}
	f.fc.queue, f.fc.outbound = false, 0
	if !f.feed(nil) {
		t.Fatal("still open after the paused get was answered")
	}
	if n, ends := strings.Count(f.fc.out.String(), "VALUE"), strings.Count(f.fc.out.String(), "END\r\n"); n != 8 || ends != 1 {
		t.Errorf("got %d values and %d ENDs, want the paused get's 8 and 1 (not the queued get's)", n, ends)
	}

	idle := newLoopFixture(t, &Handler{Store: cache.New(cache.Config{Capacity: 1 << 20})})
	idle.h.s.closing.Store(true)
	if !idle.feed([]byte("get k\r\n")) || idle.fc.out.Len() != 0 {
		t.Errorf("idle connection at shutdown: replied %q, want closed without a reply", idle.fc.out.String())
	}
}

// TestLoopPanicClosesOnlyThatConnection makes a command panic (a handler
// without a store): the connection closes and the panic is logged.
func TestLoopPanicClosesOnlyThatConnection(t *testing.T) {
	var logs bytes.Buffer
	f := newLoopFixture(t, &Handler{})
	f.h.s.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	if !f.feed([]byte("get k\r\n")) {
		t.Fatal("the connection whose command panicked stayed open")
	}
	if !strings.Contains(logs.String(), "connection panicked") {
		t.Errorf("log %q lacks the panic", logs.String())
	}
}
