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
	stat(w, "limit_maxbytes", s.Capacity)
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
	stat(w, "evictions", "on")
	stat(w, "eviction_policy", s.Policy.String())
	stat(w, "item_size_max", h.MaxItemSize)
	stat(w, "item_overhead", int64(cache.ItemOverhead))
	stat(w, "num_threads", runtime.GOMAXPROCS(0))
}

// items reports one pseudo slab class (cachenode has no slabs) so tools
// that walk "stats items" find the totals they expect.
func (h *Handler) items(w *bufio.Writer) {
	s := h.Store.Stats()
	if s.Items == 0 {
		return
	}
	stat(w, "items:1:number", s.Items)
	stat(w, "items:1:evicted", s.Evictions)
}
