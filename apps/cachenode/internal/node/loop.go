package node

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/cloudlabs/cloudlabs/apps/cachenode/internal/number"
	"github.com/cloudlabs/cloudlabs/apps/cachenode/internal/protocol"
)

// The event-loop network layer: connections accepted by Serve are handed
// (file descriptor and all) to gnet's epoll loops, one per thread, which
// read whatever arrived on every ready connection, run each complete
// command through the same Parser and Handler as the goroutine layer and
// answer a batch with one write. That is memcached's own design: no
// speculative read and no goroutine park and wake per request.
//
// The parser reads from a bufio.Reader and expects to block for missing
// bytes; here it is run over the bytes that have arrived, and a command
// cut short by the end of those bytes (io.EOF) is not executed: its bytes
// are kept and the command is parsed again, from its start, once enough
// has arrived. So a command runs exactly when the blocking parser would
// have run it, on exactly the same bytes.

// Bounds of what one connection may hold in memory on the event loop,
// where the kernel's flow control no longer stops a client that sends
// without reading its replies.
const (
	// maxOutbound is how much unsent reply may queue before the connection
	// stops executing further commands until the client has read it.
	maxOutbound = 4 << 20
	// keepPending is the largest incomplete-command buffer kept between
	// commands; larger ones (a megabyte value, a long multi-get) are
	// dropped once used, so an idle connection holds a few kilobytes.
	keepPending = 64 << 10
	// loopBufferSize is each event loop's reply buffer, shared by its
	// connections (a batch is flushed before the next connection's turn):
	// large enough that a batch, or a reply with a few-kilobyte value, is
	// one write(2).
	loopBufferSize = 64 << 10
	// stallPoll is how often stalled connections look at their queue
	// again; tick is the clock's resolution (it is read in whole seconds)
	// and how soon a new stall is first looked at.
	stallPoll = 5 * time.Millisecond
	tick      = 100 * time.Millisecond
)

// loopBuffers are one event loop's input and reply buffers and its
// parser, reset onto each connection in turn: a connection's commands run
// to completion (or are set aside whole, to be parsed again from their
// start) within one callback, so nothing in them outlives it. Shared, they
// stay in the processor's cache however many connections the loop serves.
type loopBuffers struct {
	src bytes.Reader
	br  *bufio.Reader
	bw  *bufio.Writer
	p   *protocol.Parser
}

// loopConn is one connection's state on an event loop; only its loop's
// goroutine touches it.
type loopConn struct {
	s  *Server
	ci *conn
	gc gnet.Conn
	*loopBuffers
	out loopWriter

	pending  []byte     // bytes of commands not yet complete (or not run: stalled)
	need     int        // run again once pending holds this many bytes (0: on a newline)
	retryAt  int        // without a newline, run again once pending is this long
	skip     int64      // bytes of a value too large to keep, still to drop
	stalled  bool       // waiting for the client to read queued replies
	maxInput int        // pending bytes allowed while stalled
	rest     *retrieval // the unanswered keys of a paused multi-get
}

// retrieval is what is left of a multi-get paused because its reply
// filled the outbound buffer; its keys are copies (the command's pointed
// into buffers that are reused).
type retrieval struct {
	op      protocol.Op
	exptime int64
	keys    [][]byte
}

// loopWriter sends replies through the event loop's connection.
type loopWriter struct {
	gc     gnet.Conn
	ci     *conn
	broken bool
}

func (w *loopWriter) Write(b []byte) (int, error) {
	n, err := w.gc.Write(b)
	w.ci.written.Add(int64(n))
	if err != nil {
		w.broken = true
	}
	return n, err
}

// loopHandler receives the event loops' callbacks.
type loopHandler struct {
	gnet.BuiltinEventEngine
	s *Server
}

// startLoops starts the event loops once, on the first Serve.
func (s *Server) startLoops() (*gnet.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() || s.loopsDone {
		return nil, ErrServerClosed
	}
	if s.loops != nil {
		return s.loops, nil
	}
	threads := s.Loops
	if threads <= 0 {
		threads = max(runtime.GOMAXPROCS(0)-1, 1)
	}
	cli, err := gnet.NewClient(&loopHandler{s: s},
		gnet.WithNumEventLoop(threads),
		gnet.WithTicker(true),
		gnet.WithLogger(gnetLogger{s.logger()}),
		// Replies are written whole by the handler's flush; a larger read
		// buffer only helps pipelining clients sending long batches.
		gnet.WithReadBufferCap(64<<10))
	if err != nil {
		return nil, fmt.Errorf("event loops: %w", err)
	}
	if err := cli.Start(); err != nil {
		return nil, fmt.Errorf("start event loops: %w", err)
	}
	s.now.Store(time.Now().Unix())
	s.loops = cli
	return cli, nil
}

// enroll moves an accepted connection onto an event loop. The listener
// side (limit, tracking) is done; it undoes it when enrolling fails.
func (s *Server) enroll(loops *gnet.Client, c net.Conn) {
	h := s.Handler
	ci := h.conns.add(c, time.Now())
	ci.waiting.Store(true) // until its first bytes arrive
	lc := newLoopConn(s, ci)
	_, err := loops.EnrollContext(c, lc) // closes c: the loop owns a duplicate
	s.trackConn(c, false)
	if err != nil || lc.gc == nil {
		s.logger().Warn("cannot hand connection to event loop", "remote", ci.addr, "err", err)
		h.conns.remove(ci)
		h.currConns.Add(-1)
		s.wg.Done()
	}
}

func newLoopConn(s *Server, ci *conn) *loopConn {
	// While stalled, a client may still send a few of the largest commands.
	maxInput := 2*max(s.Handler.MaxItemSize, protocol.DefaultMaxItemSize) + 2*protocol.MaxMultiGetLine
	return &loopConn{s: s, ci: ci, maxInput: maxInput}
}

func (h *loopHandler) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	lc := gc.Context().(*loopConn)
	lc.gc = gc
	lc.out = loopWriter{gc: gc, ci: lc.ci}
	s := h.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buffers == nil {
		s.buffers = map[gnet.EventLoop]*loopBuffers{}
	}
	b := s.buffers[gc.EventLoop()]
	if b == nil {
		b = &loopBuffers{}
		b.br = bufio.NewReaderSize(&b.src, bufferSize)
		b.bw = bufio.NewWriterSize(io.Discard, loopBufferSize)
		b.p = protocol.NewParser(b.br, s.Handler.MaxItemSize)
		s.buffers[gc.EventLoop()] = b
	}
	lc.loopBuffers = b
	if s.loopConns == nil {
		s.loopConns = map[*loopConn]struct{}{}
	}
	s.loopConns[lc] = struct{}{}
	if s.closing.Load() {
		return nil, gnet.Close
	}
	return nil, gnet.None
}

func (h *loopHandler) OnClose(gc gnet.Conn, _ error) gnet.Action {
	lc := gc.Context().(*loopConn)
	s := h.s
	s.mu.Lock()
	delete(s.loopConns, lc)
	delete(s.stalled, lc)
	s.mu.Unlock()
	s.Handler.conns.remove(lc.ci)
	s.Handler.currConns.Add(-1)
	s.wg.Done()
	return gnet.None
}

// OnTick advances the loops' clock and wakes stalled connections to look
// at their queue again.
func (h *loopHandler) OnTick() (time.Duration, gnet.Action) {
	s := h.s
	s.now.Store(time.Now().Unix())
	s.mu.Lock()
	defer s.mu.Unlock()
	for lc := range s.stalled {
		_ = lc.gc.Wake(nil)
	}
	if len(s.stalled) > 0 {
		return stallPoll, gnet.None
	}
	return tick, gnet.None
}

func (h *loopHandler) OnTraffic(gc gnet.Conn) (action gnet.Action) {
	lc := gc.Context().(*loopConn)
	defer func() {
		// A bug in one command must not take the node down: log it, drop
		// this connection, keep serving the others.
		if r := recover(); r != nil {
			h.s.logger().Error("connection panicked", "remote", lc.ci.addr, "panic", r, "stack", string(debug.Stack()))
			action = gnet.Close
		}
	}()
	fresh, _ := gc.Next(-1) // valid until this call returns
	lc.ci.read.Add(int64(len(fresh)))
	if h.s.closing.Load() && lc.rest == nil {
		// Shut down (Shutdown woke every connection): nothing of this one
		// is in progress; a command not all arrived goes with it.
		return gnet.Close
	}
	if lc.skip > 0 {
		d := min(int64(len(fresh)), lc.skip)
		fresh, lc.skip = fresh[d:], lc.skip-d
	}
	data := fresh
	if len(lc.pending) > 0 || lc.stalled {
		old := len(lc.pending)
		lc.pending = append(lc.pending, fresh...)
		data = lc.pending
		if lc.stalled {
			if len(data) > lc.maxInput {
				h.s.logger().Warn("closing connection: it sends without reading its replies", "remote", lc.ci.addr, "queued", len(data))
				return gnet.Close
			}
			if gc.OutboundBuffered() > maxOutbound {
				return gnet.None
			}
			h.s.unstall(lc)
		} else if !lc.ready(old) {
			return gnet.None
		}
	} else if len(data) == 0 {
		return gnet.None
	} else if now := h.s.now.Load(); lc.ci.lastCmd.Load() != now {
		// A clock read per batch costs more than the rest of the event
		// loop's bookkeeping; the ticker keeps this one, as memcached does.
		// Stored only when it changes: an atomic store is a locked
		// instruction, paid on every request otherwise.
		lc.ci.lastCmd.Store(now)
	}
	return lc.run(data)
}

// ready reports whether pending may now hold a complete command; old is
// how much of it was already looked at.
func (lc *loopConn) ready(old int) bool {
	if lc.need > 0 {
		return len(lc.pending) >= lc.need
	}
	return len(lc.pending) >= lc.retryAt || bytes.IndexByte(lc.pending[old:], '\n') >= 0
}

// run executes every complete command at the start of data and keeps the
// rest for later.
func (lc *loopConn) run(data []byte) gnet.Action {
	s, h := lc.s, lc.s.Handler
	lc.src.Reset(data)
	lc.br.Reset(&lc.src)
	lc.bw.Reset(&lc.out)
	done := 0 // bytes of data consumed by executed commands
	closeConn := false
	if r := lc.rest; r != nil {
		lc.rest = nil
		lc.stalled = !lc.retrieve(r.op, r.exptime, r.keys)
		// A paused multi-get is the command in progress at a shutdown.
		closeConn = !lc.stalled && s.closing.Load()
	}
	for done < len(data) && !lc.stalled && !closeConn {
		if lc.gc.OutboundBuffered() > maxOutbound {
			lc.stalled = true
			break
		}
		cmd, err := lc.p.Next()
		if err != nil && isShort(err) {
			if closeConn = lc.tooLarge(data[done:]); closeConn {
				break
			}
			if lc.skip > 0 {
				done = len(data)
			}
			break
		}
		switch {
		case err != nil:
			closeConn = h.Fail(lc.bw, err)
		case isRetrieval(cmd.Op):
			lc.stalled = !lc.retrieve(cmd.Op, cmd.Exptime, cmd.Keys)
		default:
			if cmd.Op == protocol.OpStats {
				lc.ci.waiting.Store(false) // "stats conns" shows the asking one busy
			}
			closeConn = h.Execute(lc.bw, cmd)
		}
		done = len(data) - lc.src.Len() - lc.br.Buffered()
		if closeConn || s.closing.Load() || lc.out.broken {
			closeConn = true
			break
		}
	}
	if lc.bw.Flush() != nil || lc.out.broken || closeConn {
		return gnet.Close
	}
	lc.keep(data[done:])
	if lc.stalled {
		s.stall(lc)
	}
	if waiting := len(lc.pending) == 0; lc.ci.waiting.Load() != waiting {
		lc.ci.waiting.Store(waiting)
	}
	return gnet.None
}

// retrieve answers a retrieval command key by key, as Handler.Execute
// does, but stops when the outbound buffer is over maxOutbound: it then
// keeps the remaining keys for later and reports false. A multi-get of
// many large values thus holds at most about maxOutbound of reply in
// memory, and other connections on the loop get their turn meanwhile.
func (lc *loopConn) retrieve(op protocol.Op, exptime int64, keys [][]byte) bool {
	h := lc.s.Handler
	for i, k := range keys {
		if lc.gc.OutboundBuffered() > maxOutbound {
			lc.rest = pauseRetrieval(op, exptime, keys[i:])
			return false
		}
		h.retrieve(lc.bw, op, exptime, k)
	}
	_, _ = lc.bw.WriteString("END\r\n")
	return true
}

func pauseRetrieval(op protocol.Op, exptime int64, keys [][]byte) *retrieval {
	n := 0
	for _, k := range keys {
		n += len(k)
	}
	buf := make([]byte, 0, n)
	r := &retrieval{op: op, exptime: exptime, keys: make([][]byte, len(keys))}
	for i, k := range keys {
		buf = append(buf, k...)
		r.keys[i] = buf[len(buf)-len(k):]
	}
	return r
}

// keep saves the unexecuted rest of the input, which may alias pending,
// and notes when to try it again.
func (lc *loopConn) keep(rest []byte) {
	if len(rest) == 0 {
		if cap(lc.pending) > keepPending {
			lc.pending = nil
		}
		lc.pending = lc.pending[:0]
		return
	}
	if len(lc.pending) > 0 && &rest[0] == &lc.pending[len(lc.pending)-len(rest)] {
		lc.pending = lc.pending[:copy(lc.pending, rest)]
	} else {
		lc.pending = append(lc.pending[:0], rest...)
	}
	lc.need, lc.retryAt = 0, 2*len(rest)
	// Without a newline the parser fails with ErrLineTooLong once its
	// buffer is full of another command's line, or once a multi-get line
	// passes its limit: run it again exactly there, so the error comes as
	// soon as it would from a blocking read.
	for _, limit := range []int{bufferSize, protocol.MaxMultiGetLine + bufferSize} {
		if len(rest) < limit {
			lc.retryAt = min(lc.retryAt, limit)
			break
		}
	}
	if bytes.IndexByte(rest, '\n') >= 0 {
		// A complete line the parser still waits on: its data block.
		lc.need = valueEnd(rest)
		if lc.need <= len(rest) {
			lc.need = len(rest) + 1 // not expected; any new byte retries
		}
	}
}

// isShort reports whether the parser ran out of input mid-command.
func isShort(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// valueEnd is, for input starting with a complete storage command line
// whose data block has not all arrived, where that block ends; 0 when
// rest holds no complete line. The parser only waits for more input
// after a complete line when it reads a data block, whose size is the
// line's fifth token.
func valueEnd(rest []byte) int {
	i := bytes.IndexByte(rest, '\n')
	if i < 0 {
		return 0
	}
	size, ok := blockSize(rest[:i])
	if !ok {
		return 0
	}
	return i + 1 + int(size) + 2
}

func blockSize(line []byte) (int64, bool) {
	// Split as the parser does: on spaces only.
	fields := bytes.FieldsFunc(bytes.TrimSuffix(line, []byte("\r")), func(r rune) bool { return r == ' ' })
	if len(fields) < 5 {
		return 0, false
	}
	return number.ParseInt32(fields[4])
}

// tooLarge handles an incomplete command whose data block is over the
// item size limit: instead of holding it until it has all arrived, the
// parser is given the rest of the block as filler now (it discards it
// unread and reports *protocol.TooLargeError), and the real bytes are
// dropped as they arrive. It reports whether the connection must close.
func (lc *loopConn) tooLarge(rest []byte) bool {
	end := valueEnd(rest)
	if end == 0 {
		return false
	}
	size, _ := blockSize(rest[:bytes.IndexByte(rest, '\n')])
	max := lc.s.Handler.MaxItemSize
	if max <= 0 {
		max = protocol.DefaultMaxItemSize
	}
	if int(size) <= max {
		return false
	}
	missing := int64(end - len(rest))
	lc.src.Reset(rest)
	lc.br.Reset(io.MultiReader(&lc.src, &filler{n: missing}))
	_, err := lc.p.Next()
	lc.skip = missing
	return lc.s.Handler.Fail(lc.bw, err)
}

// filler yields n bytes of no particular content: a data block the parser
// will discard unread.
type filler struct{ n int64 }

func (f *filler) Read(b []byte) (int, error) {
	if f.n == 0 {
		return 0, io.EOF
	}
	k := int(min(int64(len(b)), f.n))
	f.n -= int64(k)
	return k, nil
}

func (s *Server) stall(lc *loopConn) {
	s.mu.Lock()
	if s.stalled == nil {
		s.stalled = map[*loopConn]struct{}{}
	}
	s.stalled[lc] = struct{}{}
	s.mu.Unlock()
}

func (s *Server) unstall(lc *loopConn) {
	lc.stalled = false
	s.mu.Lock()
	delete(s.stalled, lc)
	s.mu.Unlock()
}

// gnetLogger sends gnet's own log lines to slog; its Info lines (event
// loops starting) are debug detail here.
type gnetLogger struct{ l *slog.Logger }

func (g gnetLogger) Debugf(f string, a ...any) { g.l.Debug("gnet: " + fmt.Sprintf(f, a...)) }
func (g gnetLogger) Infof(f string, a ...any)  { g.l.Debug("gnet: " + fmt.Sprintf(f, a...)) }
func (g gnetLogger) Warnf(f string, a ...any)  { g.l.Warn("gnet: " + fmt.Sprintf(f, a...)) }
func (g gnetLogger) Errorf(f string, a ...any) { g.l.Error("gnet: " + fmt.Sprintf(f, a...)) }
func (g gnetLogger) Fatalf(f string, a ...any) { g.l.Error("gnet: " + fmt.Sprintf(f, a...)) }
