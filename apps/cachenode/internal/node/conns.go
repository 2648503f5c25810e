package node

import (
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// conn is what "stats conns" and the byte counters know about one open
// connection. Its counters are written by the connection's goroutine and
// read by whichever connection runs "stats", hence atomics.
type conn struct {
	id           int64 // memcached shows the file descriptor; this is a sequence number
	addr, listen string
	// waiting: blocked reading the next command. On the event loops, where
	// a command runs within one callback, it is whether part of a command
	// is held; it is cleared for "stats" only, whose asker is busy.
	waiting       atomic.Bool
	lastCmd       atomic.Int64 // unix second the last command (batch) arrived
	read, written atomic.Int64
}

// connRegistry tracks open connections for stats. Safe for concurrent use.
type connRegistry struct {
	mu     sync.Mutex
	open   map[*conn]struct{}
	nextID atomic.Int64
	// bytes of connections already closed, so totals do not drop
	closedRead, closedWritten atomic.Int64
}

func (r *connRegistry) add(c net.Conn, now time.Time) *conn {
	ci := &conn{id: r.nextID.Add(1), addr: tcpName(c.RemoteAddr()), listen: tcpName(c.LocalAddr())}
	ci.lastCmd.Store(now.Unix())
	r.mu.Lock()
	if r.open == nil {
		r.open = map[*conn]struct{}{}
	}
	r.open[ci] = struct{}{}
	r.mu.Unlock()
	return ci
}

func (r *connRegistry) remove(ci *conn) {
	r.mu.Lock()
	delete(r.open, ci)
	// Under the lock, so bytes() never sees a connection in both places.
	r.closedRead.Add(ci.read.Load())
	r.closedWritten.Add(ci.written.Load())
	r.mu.Unlock()
}

// list returns the open connections ordered by id.
func (r *connRegistry) list() []*conn {
	r.mu.Lock()
	out := make([]*conn, 0, len(r.open))
	for ci := range r.open {
		out = append(out, ci)
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b *conn) int { return int(a.id - b.id) })
	return out
}

// bytes is bytes_read and bytes_written since start, all connections.
func (r *connRegistry) bytes() (read, written int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	read, written = r.closedRead.Load(), r.closedWritten.Load()
	for ci := range r.open {
		read += ci.read.Load()
		written += ci.written.Load()
	}
	return read, written
}

func tcpName(a net.Addr) string {
	if a == nil {
		return "unknown"
	}
	return "tcp:" + a.String()
}

// countingConn counts the bytes a connection reads and writes; the
// buffered reader and writer sit on top, so it costs one atomic add per
// system call, not per command.
type countingConn struct {
	net.Conn
	ci *conn
}

func (c countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.ci.read.Add(int64(n))
	return n, err
}

func (c countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.ci.written.Add(int64(n))
	return n, err
}

func portOf(a net.Addr) int64 {
	if t, ok := a.(*net.TCPAddr); ok {
		return int64(t.Port)
	}
	_, p, err := net.SplitHostPort(a.String())
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(p, 10, 64)
	return n
}
