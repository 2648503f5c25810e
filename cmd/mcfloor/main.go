// Command mcfloor is the benchmark yardstick for cachenode: the least a Go
// memcached server can do per request, to tell how much of cachenode's
// distance from memcached (which is C) any Go server pays.
//
// It is memcached's own design with nothing in between: one epoll loop per
// thread on bare system calls, a key scan instead of a parser, and a
// mutex-guarded map of replies ready to send. The wait (epoll_wait) goes
// through syscall.EpollWait, which tells the Go runtime the thread may
// block: a wait it did not know of would hold up every garbage collection
// until the next event. Reads and writes on the non-blocking sockets never
// block, so they are raw system calls, without the runtime's bookkeeping
// around them (entersyscall and exitsyscall, about 6% of the CPU per
// request under memtier, BENCHMARKS.md); Go's own network code and every
// Go event-loop library pay it.
//
// It answers get and gets (any number of keys), set, version and quit,
// and ERROR to anything else; it has no expiry, no eviction, no limits and
// no statistics. It is not a cache: it is the floor under one.
//
// A library event loop (gnet, as in cachenode) is not used on purpose: the
// yardstick measures what the language and the kernel cost, not a library.
//
// scripts/bench-cachenode.sh reports cachenode's throughput and CPU per
// request as ratios to this program's as well as to memcached's, measured
// in the same run under the same load.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"unsafe"

	"github.com/cloudlabs/cloudlabs/internal/appkit"
)

func main() { appkit.Main("mcfloor", run) }

// run parses flags (or their MCFLOOR_* environment variables) and serves
// until ctx is canceled.
func run(ctx context.Context, args []string, stderr io.Writer, logger *slog.Logger) error {
	fs := flag.NewFlagSet("mcfloor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:11311", "address to serve the memcached text protocol on")
	threads := fs.Int("threads", 0, "event loops, one per thread as memcached -t; 0 means one per CPU")
	if err := appkit.Parse(fs, "MCFLOOR", args); err != nil {
		return fmt.Errorf("flags: %w", err)
	}
	if *threads < 0 {
		return fmt.Errorf("flags: --threads %d: want 0 (one per CPU) or more", *threads)
	}
	loops := *threads
	if loops == 0 {
		loops = runtime.NumCPU()
	}
	// As cachenode: one P per loop and one for the runtime, so a loop
	// waiting in epoll_wait never has its P handed to another thread.
	runtime.GOMAXPROCS(loops + 1)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	srv, err := newServer(loops)
	if err != nil {
		ln.Close()
		return err
	}
	logger.Info("serving memcached protocol", "addr", ln.Addr().String(), "threads", loops)
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	return srv.serve(ln)
}

// server hands accepted connections to its loops in turn.
type server struct {
	loops []*loop
	store *store
}

func newServer(n int) (*server, error) {
	s := &server{store: newStore()}
	for range n {
		epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			return nil, fmt.Errorf("epoll_create1: %w", err)
		}
		l := &loop{epfd: epfd, store: s.store, conns: map[int]*conn{}}
		s.loops = append(s.loops, l)
		go l.run()
	}
	return s, nil
}

// serve accepts until ln is closed; a closed listener is a clean end.
func (s *server) serve(ln net.Listener) error {
	for k := 0; ; k++ {
		c, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("accept: %w", err)
		}
		fd, err := detach(c)
		if err != nil {
			return err
		}
		l := s.loops[k%len(s.loops)]
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)}
		if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
			syscall.Close(fd)
			return fmt.Errorf("epoll_ctl add: %w", err)
		}
	}
}

// detach takes a TCP connection's socket away from Go's netpoller: a
// non-blocking duplicate of its descriptor, the original closed.
func detach(c net.Conn) (int, error) {
	defer c.Close()
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var dupErr error
	if err := raw.Control(func(s uintptr) { fd, dupErr = syscall.Dup(int(s)) }); err != nil {
		return -1, err
	}
	if dupErr != nil {
		return -1, fmt.Errorf("dup: %w", dupErr)
	}
	syscall.CloseOnExec(fd)
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return -1, err
	}
	return fd, nil
}

// loop is one thread's epoll loop; only its goroutine touches conns.
type loop struct {
	epfd  int
	store *store
	conns map[int]*conn
	in    [64 << 10]byte
	iov   [1024]syscall.Iovec // IOV_MAX
}

// conn is what a connection holds between events: the start of a command
// not all arrived, and replies the socket did not take.
type conn struct {
	pending []byte
	// out[head:] are the replies not yet written: stored items (never
	// changed once stored) and fixed lines, sent as they are by writev(2)
	// as memcached does, never copied.
	out     [][]byte
	head    int
	queued  int  // bytes in out[head:]
	blocked bool // replies wait for the socket: polled for EPOLLOUT only
	closed  bool // a write or epoll_ctl failed
}

func (c *conn) reply(b []byte) {
	c.out = append(c.out, b)
	c.queued += len(b)
}

// Bounds: a command line (a multi-get's keys) and the replies run before
// they are written.
const (
	maxLine  = 4 << 20
	maxBatch = 1 << 20
)

func (l *loop) run() {
	runtime.LockOSThread() // a loop is a thread, as in memcached
	events := make([]syscall.EpollEvent, 128)
	for {
		n, err := syscall.EpollWait(l.epfd, events, -1)
		if err != nil {
			continue // EINTR
		}
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			c := l.conns[fd]
			if c == nil {
				c = &conn{}
				l.conns[fd] = c
			}
			if !l.serve(fd, c, ev.Events) {
				delete(l.conns, fd)
				syscall.Close(fd) // also leaves the epoll set
			}
		}
	}
}

// serve handles one event on fd; false means close it.
func (l *loop) serve(fd int, c *conn, events uint32) bool {
	if events&syscall.EPOLLERR != 0 {
		return false
	}
	if c.blocked {
		// No command runs while replies wait for the socket, as TCP
		// stops a client that does not read its replies.
		return l.execute(fd, c, nil)
	}
	m, err := read(fd, l.in[:])
	if errors.Is(err, syscall.EAGAIN) {
		return true
	}
	if err != nil || m == 0 {
		return false
	}
	return l.execute(fd, c, l.in[:m])
}

// execute sends what replies wait, then runs every complete command in
// c.pending and fresh, in batches of replies written at once, and keeps
// the rest; false means close the connection.
func (l *loop) execute(fd int, c *conn, fresh []byte) bool {
	data := fresh
	if len(c.pending) > 0 {
		c.pending = append(c.pending, fresh...)
		data = c.pending
	}
	for l.flush(fd, c) && !c.blocked {
		for len(data) > 0 && c.queued < maxBatch {
			n, ok := l.command(c, data)
			if !ok {
				l.flush(fd, c)
				return false
			}
			if n == 0 {
				break
			}
			data = data[n:]
		}
		if c.queued == 0 {
			break
		}
	}
	c.pending = append(c.pending[:0], data...) // may overlap: append moves
	return !c.closed
}

// flush writes the queued replies; what the socket does not take stays
// queued, and the connection is polled for EPOLLOUT until it has gone.
// false means the connection broke (c.closed).
func (l *loop) flush(fd int, c *conn) bool {
	for c.head < len(c.out) {
		iov := l.iov[:min(len(c.out)-c.head, len(l.iov))]
		for i := range iov {
			b := c.out[c.head+i]
			iov[i].Base = &b[0]
			iov[i].SetLen(len(b))
		}
		n, err := writev(fd, iov)
		if errors.Is(err, syscall.EAGAIN) {
			return l.block(fd, c, true)
		}
		if err != nil {
			c.closed = true
			return false
		}
		c.queued -= n
		for n > 0 && n >= len(c.out[c.head]) {
			n -= len(c.out[c.head])
			c.head++
		}
		if n > 0 {
			c.out[c.head] = c.out[c.head][n:]
		}
	}
	clear(c.out) // the items sent may be freed
	if cap(c.out) > len(l.iov) {
		c.out = nil // a large multi-get's; an idle connection keeps little
	}
	c.out, c.head = c.out[:0], 0
	return l.block(fd, c, false)
}

// block switches fd between being polled for input and, while replies
// wait, for room to write them.
func (l *loop) block(fd int, c *conn, blocked bool) bool {
	if c.blocked == blocked {
		return true
	}
	events := uint32(syscall.EPOLLIN)
	if blocked {
		events = syscall.EPOLLOUT
	}
	ev := syscall.EpollEvent{Events: events, Fd: int32(fd)}
	if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_MOD, fd, &ev); err != nil {
		c.closed = true
		return false
	}
	c.blocked = blocked
	return true
}

// read and writev are the system calls on a non-blocking socket, which
// return at once: raw, the runtime's scheduler is not told of them.
func read(fd int, b []byte) (int, error) {
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return -1, e
	}
	return int(n), nil
}

func writev(fd int, iov []syscall.Iovec) (int, error) {
	n, _, e := syscall.RawSyscall(syscall.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
	if e != 0 {
		return -1, e
	}
	return int(n), nil
}

var (
	crlf    = []byte("\r\n")
	stored  = []byte("STORED\r\n")
	end     = []byte("END\r\n")
	errLine = []byte("ERROR\r\n")
	badData = []byte("CLIENT_ERROR bad data chunk\r\n")
	version = []byte("VERSION mcfloor\r\n")
)

// command runs the command at the start of data and queues its reply. It
// returns how many bytes it used (0: it has not all arrived) and false
// when the connection is to close.
func (l *loop) command(c *conn, data []byte) (int, bool) {
	eol := bytes.IndexByte(data, '\n')
	if eol < 0 {
		return 0, len(data) < maxLine
	}
	line := bytes.TrimSuffix(data[:eol], []byte("\r"))
	verb, rest, _ := bytes.Cut(line, []byte(" "))
	switch string(verb) {
	case "get", "gets":
		for key := range bytes.FieldsSeq(rest) {
			if item := l.store.get(key); item != nil {
				c.reply(item)
			}
		}
		c.reply(end)
		return eol + 1, true
	case "set":
		// set <key> <flags> <exptime> <bytes> [noreply]
		f := bytes.Fields(rest)
		if len(f) < 4 {
			c.reply(errLine)
			return eol + 1, true
		}
		size, err := strconv.Atoi(string(f[3]))
		if err != nil || size < 0 {
			c.reply(errLine)
			return eol + 1, true
		}
		total := eol + 1 + size + 2
		if len(data) < total {
			return 0, true
		}
		if !bytes.Equal(data[total-2:total], crlf) {
			c.reply(badData)
			return total, true
		}
		l.store.set(f[0], f[1], data[eol+1:eol+1+size])
		if len(f) < 5 || string(f[4]) != "noreply" {
			c.reply(stored)
		}
		return total, true
	case "version":
		c.reply(version)
		return eol + 1, true
	case "quit":
		return eol + 1, false
	default:
		c.reply(errLine)
		return eol + 1, true
	}
}

// store is a map of items in shards, each behind a mutex.
type store struct {
	seed   maphash.Seed
	shards [64]shard
}

type shard struct {
	mu    sync.Mutex
	items map[string][]byte // "VALUE <key> <flags> <bytes>\r\n<data>\r\n", the reply itself
}

func newStore() *store {
	s := &store{seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].items = map[string][]byte{}
	}
	return s
}

func (s *store) shard(key []byte) *shard {
	return &s.shards[maphash.Bytes(s.seed, key)%uint64(len(s.shards))]
}

// set stores the item as the reply a get sends for it.
func (s *store) set(key, flags, data []byte) {
	item := make([]byte, 0, len(key)+len(flags)+len(data)+32)
	item = append(item, "VALUE "...)
	item = append(item, key...)
	item = append(item, ' ')
	item = append(item, flags...)
	item = append(item, ' ')
	item = strconv.AppendInt(item, int64(len(data)), 10)
	item = append(item, crlf...)
	item = append(item, data...)
	item = append(item, crlf...)
	sh := s.shard(key)
	sh.mu.Lock()
	sh.items[string(key)] = item
	sh.mu.Unlock()
}

// get returns key's item, nil when none is stored. An item is never
// changed once stored: a set stores a new one.
func (s *store) get(key []byte) []byte {
	sh := s.shard(key)
	sh.mu.Lock()
	item := sh.items[string(key)]
	sh.mu.Unlock()
	return item
}
