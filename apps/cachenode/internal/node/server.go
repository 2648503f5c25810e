package node

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/cloudlabs/cloudlabs/apps/cachenode/internal/protocol"
)

// DefaultMaxConns is the connection limit when Server.MaxConns is zero,
// memcached's default -c.
const DefaultMaxConns = 1024

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("cachenode: server closed")

// tooManyConns is memcached's own reply before it closes an extra connection.
const tooManyConns = "ERROR Too many open connections\r\n"

// Per-connection buffers: a command line fits (protocol.MaxLine), values
// larger than the buffers go straight to and from the socket.
const bufferSize = 4096

// Server serves the memcached text protocol. Handler is required; the
// other fields have working zero values. Safe for concurrent use.
type Server struct {
	Handler  *Handler
	MaxConns int          // open connections allowed; 0 means DefaultMaxConns
	Logger   *slog.Logger // nil means slog.Default()
	// Goroutines serves each connection on a goroutine of its own through
	// Go's netpoller instead of on the event loops (loop.go); the
	// benchmark compares the two.
	Goroutines bool
	// Loops is the number of event loops; 0 means GOMAXPROCS-1 (at least
	// one). Give the Go runtime one P more than there are loops: a loop
	// waits for events in a system call, and when every P is in one the
	// runtime hands Ps off between threads on each wait (sysmon's retake),
	// which costs more context switches than the requests themselves.
	Loops int

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{} // goroutine layer, and connections being enrolled
	wg        sync.WaitGroup        // one per open connection
	closing   atomic.Bool

	loops     *gnet.Client // started by the first Serve unless Goroutines
	loopsDone bool
	loopConns map[*loopConn]struct{}
	stalled   map[*loopConn]struct{}
	buffers   map[gnet.EventLoop]*loopBuffers
	now       atomic.Int64 // unix seconds, advanced by the loops' ticker
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}

func (s *Server) maxConns() int64 {
	if s.MaxConns <= 0 {
		return DefaultMaxConns
	}
	return int64(s.MaxConns)
}

// ListenAndServe listens on the TCP address addr and calls Serve.
func (s *Server) ListenAndServe(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return s.Serve(ln)
}

// Serve accepts connections on ln until Shutdown, serving each in its own
// goroutine. It always returns a non-nil error; ErrServerClosed after Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	if !s.track(ln) {
		ln.Close()
		return ErrServerClosed
	}
	defer s.untrack(ln)
	s.Handler.tcpPort.CompareAndSwap(0, portOf(ln.Addr()))
	var loops *gnet.Client
	if !s.Goroutines {
		var err error
		if loops, err = s.startLoops(); err != nil {
			ln.Close()
			return err
		}
	}
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.logger().Warn("accept failed; retrying", "err", err, "backoff", backoff)
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("accept on %s: %w", ln.Addr(), err)
		}
		backoff = 0
		h := s.Handler
		h.totalConns.Add(1)
		if h.currConns.Add(1) > s.maxConns() {
			h.currConns.Add(-1)
			h.rejectedConns.Add(1)
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = c.Write([]byte(tooManyConns))
			c.Close()
			continue
		}
		if !s.trackConn(c, true) {
			h.currConns.Add(-1)
			c.Close()
			continue
		}
		if loops != nil {
			s.enroll(loops, c)
			continue
		}
		go s.serveConn(c)
	}
}

// isTemporary classifies accept errors such as EMFILE that pass with time.
func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

func (s *Server) serveConn(c net.Conn) {
	h := s.Handler
	ci := h.conns.add(c, time.Now())
	defer func() {
		// A bug in one command must not take the node down: log it, drop
		// this connection, keep serving the others.
		if r := recover(); r != nil {
			s.logger().Error("connection panicked", "remote", c.RemoteAddr().String(), "panic", r, "stack", string(debug.Stack()))
		}
		c.Close()
		h.conns.remove(ci)
		s.trackConn(c, false)
		h.currConns.Add(-1)
		s.wg.Done()
	}()
	cc := countingConn{Conn: c, ci: ci}
	br := bufio.NewReaderSize(cc, bufferSize)
	bw := bufio.NewWriterSize(cc, bufferSize)
	p := protocol.NewParser(br, h.MaxItemSize)
	for {
		idle := br.Buffered() == 0
		if idle {
			ci.waiting.Store(true)
		}
		cmd, err := p.Next()
		if idle {
			// Once per batch of pipelined commands, not per command.
			ci.waiting.Store(false)
			ci.lastCmd.Store(time.Now().Unix())
		}
		done := false
		if err != nil {
			done = h.Fail(bw, err)
		} else {
			done = h.Execute(bw, cmd)
		}
		// Reply as soon as the client has nothing more queued, so pipelined
		// requests share one write and lone ones are answered at once.
		if done || br.Buffered() == 0 || s.closing.Load() {
			if bw.Flush() != nil || done || s.closing.Load() {
				return
			}
		}
	}
}

func (s *Server) track(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	if s.listeners == nil {
		s.listeners = map[net.Listener]struct{}{}
	}
	s.listeners[ln] = struct{}{}
	return true
}

func (s *Server) untrack(ln net.Listener) {
	s.mu.Lock()
	delete(s.listeners, ln)
	s.mu.Unlock()
}

// trackConn adds or removes c; adding fails once shutdown has begun.
func (s *Server) trackConn(c net.Conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !add {
		delete(s.conns, c)
		return true
	}
	if s.closing.Load() {
		return false
	}
	if s.conns == nil {
		s.conns = map[net.Conn]struct{}{}
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

// Shutdown stops accepting, lets every connection finish the command it is
// executing, closes it and waits for all of them, or until ctx is done, in
// which case the remaining connections are closed forcibly.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing.Store(true)
	for ln := range s.listeners {
		ln.Close()
	}
	// An immediate read deadline wakes connections blocked waiting for a
	// command; one mid-command finishes its reply first.
	for c := range s.conns {
		_ = c.SetReadDeadline(time.Now())
	}
	// On an event loop a command runs within one callback, so a wake-up
	// queued now comes after the commands in progress; it closes the
	// connection, or, for a multi-get paused while its reply drains, once
	// that get is answered.
	for lc := range s.loopConns {
		if lc.gc.Wake(nil) != nil {
			_ = lc.gc.Close()
		}
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		// Stopping the loops closes every connection still on them.
		stopErr := s.stopLoops()
		<-done
		return errors.Join(fmt.Errorf("shutdown: %w", ctx.Err()), stopErr)
	}
	return s.stopLoops()
}

// stopLoops stops the event loops, once.
func (s *Server) stopLoops() error {
	s.mu.Lock()
	loops := s.loops
	stop := loops != nil && !s.loopsDone
	s.loopsDone = true
	s.mu.Unlock()
	if !stop {
		return nil
	}
	if err := loops.Stop(); err != nil {
		return fmt.Errorf("stop event loops: %w", err)
	}
	return nil
}
