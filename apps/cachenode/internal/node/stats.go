package node

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/cloudlabs/cloudlabs/apps/cachenode/internal/cache"
)

// stats answers "stats" and its subcommands with memcached's stat names.
func (h *Handler) stats(w *bufio.Writer, args [][]byte) {
	sub := ""
	if len(args) > 0 {
		sub = string(args[0])
	}
	switch sub {
	case "":
		h.general(w)
	case "settings":
		h.settings(w)
	case "items":
		h.items(w)
	case "slabs":
		h.slabs(w)
	case "conns":
		h.connStats(w)
	case "sizes":
		// memcached's default too: item size histograms are not kept.
		stat(w, "sizes_status", "disabled")
	case "reset":
		h.Store.ResetStats()
		_, _ = w.WriteString("RESET\r\n")
		return
	default:
		_, _ = w.WriteString("ERROR\r\n")
		return
	}
	_, _ = w.WriteString("END\r\n")
}

func stat(w *bufio.Writer, name string, v any) {
	b := append(w.AvailableBuffer(), "STAT "...)
	b = append(b, name...)
	b = append(b, ' ')
	switch x := v.(type) {
	case int64:
		b = strconv.AppendInt(b, x, 10)
	case int:
		b = strconv.AppendInt(b, int64(x), 10)
	case string:
		b = append(b, x...)
	case float64:
		b = strconv.AppendFloat(b, x, 'f', 6, 64)
	}
	_, _ = w.Write(append(b, '\r', '\n'))
}

func (h *Handler) uptime() int64 {
	if h.Started.IsZero() {
		return 0
	}
	return int64(time.Since(h.Started) / time.Second)
}

func (h *Handler) general(w *bufio.Writer) {
	s := h.Store.Stats()
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	stat(w, "pid", os.Getpid())
	stat(w, "uptime", h.uptime())
	stat(w, "time", time.Now().Unix())
	stat(w, "version", Version)
	stat(w, "pointer_size", strconv.IntSize)
	stat(w, "rusage_user", float64(ru.Utime.Sec)+float64(ru.Utime.Usec)/1e6)
	stat(w, "rusage_system", float64(ru.Stime.Sec)+float64(ru.Stime.Usec)/1e6)
	stat(w, "max_connections", h.MaxConns)
	stat(w, "curr_connections", h.currConns.Load())
	stat(w, "total_connections", h.totalConns.Load())
	stat(w, "rejected_connections", h.rejectedConns.Load())
	stat(w, "connection_structures", h.currConns.Load())
	stat(w, "cmd_get", s.CmdGet)
	stat(w, "cmd_set", s.CmdSet)
	stat(w, "cmd_flush", s.CmdFlush)
	stat(w, "cmd_touch", s.CmdTouch)
	stat(w, "get_hits", s.GetHits)
	stat(w, "get_misses", s.GetMisses)
	stat(w, "get_expired", s.GetExpired)
	stat(w, "delete_misses", s.DeleteMisses)
	stat(w, "delete_hits", s.DeleteHits)
	stat(w, "incr_misses", s.IncrMisses)
	stat(w, "incr_hits", s.IncrHits)
	stat(w, "decr_misses", s.DecrMisses)
	stat(w, "decr_hits", s.DecrHits)
	stat(w, "cas_misses", s.CasMisses)
	stat(w, "cas_hits", s.CasHits)
	stat(w, "cas_badval", s.CasBadval)
	stat(w, "touch_hits", s.TouchHits)
	stat(w, "touch_misses", s.TouchMisses)
	stat(w, "store_too_large", h.storeTooLarge.Load())
	stat(w, "store_no_memory", h.storeNoMemory.Load())
	read, written := h.conns.bytes()
	stat(w, "bytes_read", read)
	stat(w, "bytes_written", written)
	stat(w, "limit_maxbytes", s.Capacity)
	stat(w, "accepting_conns", 1)
	stat(w, "threads", runtime.GOMAXPROCS(0))
	stat(w, "bytes", s.Bytes)
	stat(w, "curr_items", s.Items)
	stat(w, "total_items", s.TotalItems)
	stat(w, "evictions", s.Evictions)
	stat(w, "eviction_policy", s.Policy.String())
}

func (h *Handler) settings(w *bufio.Writer) {
	s := h.Store.Stats()
	stat(w, "maxbytes", s.Capacity)
	stat(w, "maxconns", h.MaxConns)
	stat(w, "tcpport", h.tcpPort.Load())
	stat(w, "udpport", 0)
	stat(w, "evictions", "on")
	stat(w, "eviction_policy", s.Policy.String())
	stat(w, "num_threads", runtime.GOMAXPROCS(0))
	stat(w, "cas_enabled", "yes")
	stat(w, "binding_protocol", "ascii")
	stat(w, "auth_enabled_sasl", "no")
	stat(w, "auth_enabled_ascii", "no")
	stat(w, "item_size_max", h.MaxItemSize)
	stat(w, "item_overhead", int64(cache.ItemOverhead))
	stat(w, "maxconns_fast", "yes")
	stat(w, "flush_enabled", "yes")
	stat(w, "lru_crawler", "no")
	stat(w, "idle_timeout", 0)
	stat(w, "ssl_enabled", "no")
}

// pseudoClass is the one slab class cachenode reports: it has no slabs,
// so "class 1" is the whole store, for tools (memcached-tool) that walk
// "stats items" and "stats slabs".
const pseudoClass = "1"

// pageSize is memcached's slab page size, the unit of total_pages.
const pageSize = 1 << 20

// items reports the pseudo class. Like memcached, no class is listed
// while the store is empty. Omitted: age and evicted_time (cachenode
// keeps no access times) and the segmented-LRU counters it has no LRU for.
func (h *Handler) items(w *bufio.Writer) {
	s := h.Store.Stats()
	if s.Items == 0 {
		return
	}
	p := "items:" + pseudoClass + ":"
	stat(w, p+"number", s.Items)
	stat(w, p+"mem_requested", s.Bytes)
	stat(w, p+"evicted", s.Evictions)
	stat(w, p+"outofmemory", h.storeNoMemory.Load())
}

// slabs describes the pseudo class in slab terms: a chunk is the average
// item as charged against capacity (key + value + cache.ItemOverhead),
// total_chunks is how many such items the capacity holds, used_chunks the
// items stored, total_pages the charged bytes in memcached's 1 MB pages.
func (h *Handler) slabs(w *bufio.Writer) {
	s := h.Store.Stats()
	if s.Items == 0 {
		stat(w, "active_slabs", 0)
		stat(w, "total_malloced", s.Bytes)
		return
	}
	chunk := (s.Bytes + s.Items - 1) / s.Items
	total := max(s.Capacity/chunk, s.Items)
	p := pseudoClass + ":"
	stat(w, p+"chunk_size", chunk)
	stat(w, p+"chunks_per_page", max(pageSize/chunk, 1))
	stat(w, p+"total_pages", (s.Bytes+pageSize-1)/pageSize)
	stat(w, p+"total_chunks", total)
	stat(w, p+"used_chunks", s.Items)
	stat(w, p+"free_chunks", total-s.Items)
	stat(w, p+"get_hits", s.GetHits)
	stat(w, p+"cmd_set", s.CmdSet)
	stat(w, p+"delete_hits", s.DeleteHits)
	stat(w, p+"incr_hits", s.IncrHits)
	stat(w, p+"decr_hits", s.DecrHits)
	stat(w, p+"cas_hits", s.CasHits)
	stat(w, p+"cas_badval", s.CasBadval)
	stat(w, p+"touch_hits", s.TouchHits)
	stat(w, "active_slabs", 1)
	stat(w, "total_malloced", s.Bytes)
}

// connStats lists open connections as memcached does, keyed by a
// connection number instead of a file descriptor. state is conn_waiting
// while the connection waits for a command and conn_parse_cmd while it
// runs one (the connection asking is always in conn_parse_cmd).
func (h *Handler) connStats(w *bufio.Writer) {
	now := time.Now().Unix()
	for _, c := range h.conns.list() {
		p := strconv.FormatInt(c.id, 10) + ":"
		stat(w, p+"addr", c.addr)
		stat(w, p+"listen_addr", c.listen)
		state := "conn_parse_cmd"
		if c.waiting.Load() {
			state = "conn_waiting"
		}
		stat(w, p+"state", state)
		stat(w, p+"secs_since_last_cmd", max(now-c.lastCmd.Load(), 0))
	}
}
