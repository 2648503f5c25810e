package node

import (
	"bufio"
	"encoding/binary"
	"errors"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/cloudlabs/cloudlabs/apps/cachenode/internal/cache"
	"github.com/cloudlabs/cloudlabs/apps/cachenode/internal/protocol"
)

// Version is what "version" and "stats" report.
const Version = "1.6.18-cachenode"

// Handler executes commands against Store. It is safe for concurrent use;
// the zero values of its optional fields are fine for tests.
type Handler struct {
	Store       *cache.Store
	Started     time.Time // for uptime; zero means "now" at first use
	MaxConns    int       // reported by stats
	MaxItemSize int       // reported by stats settings

	currConns, totalConns, rejectedConns atomic.Int64
	storeTooLarge, storeNoMemory         atomic.Int64
	tcpPort                              atomic.Int64 // of the first listener served, for stats settings
	conns                                connRegistry
}

// Execute runs cmd and writes its reply (none with noreply) to w. It
// reports quit for "quit", after which the connection must close.
func (h *Handler) Execute(w *bufio.Writer, cmd *protocol.Command) (quit bool) {
	st := h.Store
	switch cmd.Op {
	case protocol.OpGet, protocol.OpGets, protocol.OpGat, protocol.OpGats:
		for _, k := range cmd.Keys {
			h.retrieve(w, cmd.Op, cmd.Exptime, k)
		}
		_, _ = w.WriteString("END\r\n")
	case protocol.OpSet, protocol.OpAdd, protocol.OpReplace, protocol.OpAppend, protocol.OpPrepend, protocol.OpCas:
		r := st.Store(storeMode[cmd.Op], cmd.Key(), cmd.Value, cmd.Flags, cmd.Exptime, cmd.Cas)
		if r == cache.OutOfMemory {
			h.storeNoMemory.Add(1)
		}
		reply(w, cmd.NoReply, storeReply[r])
	case protocol.OpDelete:
		reply(w, cmd.NoReply, pick(st.Delete(cmd.Key()), "DELETED\r\n", "NOT_FOUND\r\n"))
	case protocol.OpTouch:
		reply(w, cmd.NoReply, pick(st.Touch(cmd.Key(), cmd.Exptime), "TOUCHED\r\n", "NOT_FOUND\r\n"))
	case protocol.OpIncr, protocol.OpDecr:
		var n uint64
		var r cache.Result
		if cmd.Op == protocol.OpIncr {
			n, r = st.Incr(cmd.Key(), cmd.Delta)
		} else {
			n, r = st.Decr(cmd.Key(), cmd.Delta)
		}
		if cmd.NoReply {
			break
		}
		if r == cache.Stored {
			b := strconv.AppendUint(w.AvailableBuffer(), n, 10)
			_, _ = w.Write(append(b, '\r', '\n'))
			break
		}
		_, _ = w.WriteString(storeReply[r])
	case protocol.OpFlushAll:
		st.Flush(cmd.Exptime)
		reply(w, cmd.NoReply, "OK\r\n")
	case protocol.OpVerbosity:
		reply(w, cmd.NoReply, "OK\r\n")
	case protocol.OpVersion:
		_, _ = w.WriteString("VERSION " + Version + "\r\n")
	case protocol.OpStats:
		h.stats(w, cmd.Args)
	case protocol.OpQuit:
		return true
	}
	return false
}

// isRetrieval reports whether op is get, gets, gat or gats: one VALUE
// block per key found, then END.
func isRetrieval(op protocol.Op) bool {
	return op == protocol.OpGet || op == protocol.OpGets || op == protocol.OpGat || op == protocol.OpGats
}

// retrieve writes the VALUE block of one key of a retrieval command, if
// the key is there; the event loop calls it key by key to pause a long
// multi-get while its reply waits to be sent.
func (h *Handler) retrieve(w *bufio.Writer, op protocol.Op, exptime int64, key []byte) {
	var it cache.Item
	var ok bool
	if op == protocol.OpGat || op == protocol.OpGats {
		it, ok = h.Store.GetAndTouch(key, exptime)
	} else {
		it, ok = h.Store.Get(key)
	}
	if ok {
		writeValue(w, key, it, op == protocol.OpGets || op == protocol.OpGats)
	}
}

// Fail writes the reply for a parse error and reports whether the
// connection must close (line too long, I/O errors).
func (h *Handler) Fail(w *bufio.Writer, err error) (closeConn bool) {
	var ce *protocol.ClientError
	var tl *protocol.TooLargeError
	var bin *protocol.BinaryProtocolError
	switch {
	case errors.As(err, &bin):
		writeBinaryError(w, bin)
		return true
	case errors.Is(err, protocol.ErrUnknownCommand):
		_, _ = w.WriteString("ERROR\r\n")
	case errors.As(err, &ce):
		reply(w, ce.NoReply, "CLIENT_ERROR "+ce.Msg+"\r\n")
	case errors.As(err, &tl):
		// memcached drops the old value when a set fails, so a reader never
		// sees data the writer meant to replace.
		if tl.Op == protocol.OpSet {
			h.Store.Delete(tl.Key)
		}
		h.storeTooLarge.Add(1)
		reply(w, tl.NoReply, "SERVER_ERROR object too large for cache\r\n")
	case errors.Is(err, protocol.ErrLineTooLong):
		_, _ = w.WriteString("CLIENT_ERROR line too long\r\n")
		return true
	default:
		return true
	}
	return false
}

var storeMode = [...]cache.Mode{
	protocol.OpSet: cache.Set, protocol.OpAdd: cache.Add, protocol.OpReplace: cache.Replace,
	protocol.OpAppend: cache.Append, protocol.OpPrepend: cache.Prepend, protocol.OpCas: cache.CompareAndSwap,
}

var storeReply = [...]string{
	cache.Stored:      "STORED\r\n",
	cache.NotStored:   "NOT_STORED\r\n",
	cache.Exists:      "EXISTS\r\n",
	cache.NotFound:    "NOT_FOUND\r\n",
	cache.NonNumeric:  "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n",
	cache.OutOfMemory: "SERVER_ERROR out of memory storing object\r\n",
}

func reply(w *bufio.Writer, noreply bool, s string) {
	if !noreply {
		_, _ = w.WriteString(s)
	}
}

func pick(ok bool, yes, no string) string {
	if ok {
		return yes
	}
	return no
}

// writeValue writes "VALUE <key> <flags> <bytes> [<cas>]\r\n<data>\r\n",
// building the header in the writer's spare buffer to avoid allocating.
func writeValue(w *bufio.Writer, key []byte, it cache.Item, withCas bool) {
	b := append(w.AvailableBuffer(), "VALUE "...)
	b = append(b, key...)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(it.Flags), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(len(it.Value)), 10)
	if withCas {
		b = append(b, ' ')
		b = strconv.AppendUint(b, it.Cas, 10)
	}
	b = append(b, '\r', '\n')
	_, _ = w.Write(b)
	if len(it.Value) > w.Available() {
		// A value that does not fit goes to the connection from the item:
		// bufio writes straight through once it is empty, where filling it
		// first would copy up to a whole buffer of the value (an image of
		// the gallery's, say) only to send it.
		_ = w.Flush()
	}
	_, _ = w.Write(it.Value)
	_, _ = w.WriteString("\r\n")
}

// binaryUnknownCommand is the binary protocol's status 0x0081, which every
// binary client handles: the request was not understood.
const binaryUnknownCommand = 0x0081

var binaryErrorBody = []byte("binary protocol not supported; use the text protocol")

// writeBinaryError answers a binary request with a binary error response
// (magic 0x81, the request's opcode and opaque, status Unknown command and
// a message), so a binary client fails with a clear error instead of
// hanging; the caller then closes the connection. memcached 1.6 started
// with -B ascii instead waits for a newline that never comes.
func writeBinaryError(w *bufio.Writer, e *protocol.BinaryProtocolError) {
	var hdr [24]byte
	hdr[0] = 0x81
	hdr[1] = e.Opcode
	binary.BigEndian.PutUint16(hdr[6:8], binaryUnknownCommand)
	binary.BigEndian.PutUint32(hdr[8:12], uint32(len(binaryErrorBody)))
	copy(hdr[12:16], e.Opaque[:])
	_, _ = w.Write(hdr[:])
	_, _ = w.Write(binaryErrorBody)
}
