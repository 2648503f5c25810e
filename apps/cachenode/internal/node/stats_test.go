package node

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/apps/cachenode/internal/cache"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

// statsOf sends "stats <sub>" on a fresh connection and returns its STAT
// lines as a map, failing on anything but STAT lines before END.
func statsOf(t *testing.T, addr, sub string) map[string]string {
	t.Helper()
	cmd := "stats"
	if sub != "" {
		cmd += " " + sub
	}
	out := exchange(t, addr, cmd+"\r\n", "END\r\n")
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(out, "END\r\n"), "\r\n") {
		if line == "" {
			continue
		}
		f := strings.SplitN(line, " ", 3)
		if len(f) != 3 || f[0] != "STAT" {
			t.Fatalf("%q: malformed line %q", cmd, line)
		}
		m[f[1]] = f[2]
	}
	return m
}

// exchange sends req on a new connection and reads the reply up to and
// including the line end. Not session(): its sync tail stores an item.
func exchange(t *testing.T, addr, req, end string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, ioGuard)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(ioGuard))
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	var out string
	r := bufio.NewReader(c)
	for !strings.HasSuffix(out, end) {
		line, err := r.ReadString('\n')
		out += line
		if err != nil || strings.HasSuffix(out, "ERROR\r\n") {
			t.Fatalf("%q: reply %q (%v), want it to end with %q", req, truncate([]byte(out)), err, end)
		}
	}
	return out
}

func num(t *testing.T, m map[string]string, name string) int64 {
	t.Helper()
	v, ok := m[name]
	if !ok {
		t.Fatalf("stat %s missing", name)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("stat %s = %q, want an integer", name, v)
	}
	return n
}

// fillOverProtocol stores n items of 100 bytes.
func fillOverProtocol(t *testing.T, addr string, n int) {
	t.Helper()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "set key-%d 0 0 100\r\n%s\r\n", i, strings.Repeat("v", 100))
	}
	if got := string(session(t, addr, []byte(b.String()))); got != strings.Repeat("STORED\r\n", n) {
		t.Fatalf("fill: %q", truncate([]byte(got)))
	}
	exchange(t, addr, "delete __sync__\r\n", "DELETED\r\n") // session's own item
}

// TestStatsNamesToolsRead checks the names memcached-tool and monitoring
// exporters read are present with values that match the store.
func TestStatsNamesToolsRead(t *testing.T) {
	addr, _ := startServer(t, cache.Config{Capacity: 1 << 20})
	if got := statsOf(t, addr, "items"); len(got) != 0 {
		t.Errorf("stats items on an empty store = %v, want none (as memcached)", got)
	}
	if got := statsOf(t, addr, "slabs"); got["active_slabs"] != "0" {
		t.Errorf("stats slabs on an empty store = %v, want active_slabs 0", got)
	}
	const n = 50
	fillOverProtocol(t, addr, n)
	var charged int64 // what the fill's items cost against capacity
	for i := range n {
		charged += cache.ItemSize(len(fmt.Sprintf("key-%d", i)), 100)
	}
	itemSize := (charged + n - 1) / n // the pseudo class's chunk: the average item

	general := statsOf(t, addr, "")
	if general["version"] != Version {
		t.Errorf("stat version = %q, want %q", general["version"], Version)
	}
	for _, name := range []string{"pid", "uptime", "time", "curr_connections", "total_connections",
		"connection_structures", "cmd_get", "cmd_set", "get_hits", "get_misses", "bytes", "curr_items",
		"total_items", "evictions", "limit_maxbytes", "threads", "accepting_conns", "store_too_large", "store_no_memory"} {
		num(t, general, name)
	}
	if num(t, general, "curr_items") != n || num(t, general, "limit_maxbytes") != 1<<20 {
		t.Errorf("curr_items %s limit_maxbytes %s, want %d and %d", general["curr_items"], general["limit_maxbytes"], n, 1<<20)
	}
	// The fill alone sent n*(header+value) bytes; the sync tail adds more.
	if r := num(t, general, "bytes_read"); r < int64(n*(len("set key-10 0 0 100\r\n")+102)) {
		t.Errorf("bytes_read %d, want at least the fill's bytes", r)
	}
	// A reply is counted when the server's write returns, which can be
	// just after the client has read it: wait (bounded) for the count.
	minWritten := int64(n * len("STORED\r\n"))
	testkit.Eventually(t, fmt.Sprintf("bytes_written reaching the fill's %d reply bytes", minWritten), ioGuard, func() bool {
		return num(t, statsOf(t, addr, ""), "bytes_written") >= minWritten
	})

	settings := statsOf(t, addr, "settings")
	_, port, _ := net.SplitHostPort(addr)
	for name, want := range map[string]string{"maxbytes": "1048576", "tcpport": port, "evictions": "on",
		"binding_protocol": "ascii", "cas_enabled": "yes", "udpport": "0"} {
		if settings[name] != want {
			t.Errorf("stats settings %s = %q, want %q", name, settings[name], want)
		}
	}
	num(t, settings, "maxconns")
	num(t, settings, "item_size_max")

	items := statsOf(t, addr, "items")
	if num(t, items, "items:1:number") != n || num(t, items, "items:1:mem_requested") != charged {
		t.Errorf("stats items = %v, want number %d, mem_requested %d", items, n, charged)
	}
	num(t, items, "items:1:evicted")
	num(t, items, "items:1:outofmemory")

	slabs := statsOf(t, addr, "slabs")
	chunk, used, total := num(t, slabs, "1:chunk_size"), num(t, slabs, "1:used_chunks"), num(t, slabs, "1:total_chunks")
	if chunk != itemSize || used != n || total != (1<<20)/itemSize || num(t, slabs, "1:total_pages") != 1 ||
		num(t, slabs, "1:free_chunks") != total-used || num(t, slabs, "active_slabs") != 1 {
		t.Errorf("stats slabs = %v, want chunk_size %d, used %d, total %d, 1 page", slabs, itemSize, n, (1<<20)/itemSize)
	}

	if got := statsOf(t, addr, "sizes"); got["sizes_status"] != "disabled" || len(got) != 1 {
		t.Errorf("stats sizes = %v, want only sizes_status disabled", got)
	}
}

// TestStatsConns checks one entry per open connection with memcached's
// field names; an idle connection is reported waiting.
func TestStatsConns(t *testing.T) {
	addr, _ := startServer(t, cache.Config{})
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	idleName := "tcp:" + idle.LocalAddr().String()
	var conns map[string]string
	// The server registers the idle connection in its own goroutine.
	testkit.Eventually(t, "idle connection listed by stats conns", ioGuard, func() bool {
		conns = statsOf(t, addr, "conns")
		for k, v := range conns {
			if strings.HasSuffix(k, ":addr") && v == idleName {
				return conns[strings.TrimSuffix(k, "addr")+"state"] == "conn_waiting"
			}
		}
		return false
	})
	ids := map[string]bool{}
	for k := range conns {
		ids[strings.SplitN(k, ":", 2)[0]] = true
	}
	if len(ids) != 2 {
		t.Fatalf("stats conns lists %d connections, want 2 (the idle one and the asking one): %v", len(ids), conns)
	}
	for id := range ids {
		for _, f := range []string{"addr", "listen_addr", "state", "secs_since_last_cmd"} {
			if _, ok := conns[id+":"+f]; !ok {
				t.Errorf("connection %s lacks %s: %v", id, f, conns)
			}
		}
		if conns[id+":listen_addr"] != "tcp:"+addr {
			t.Errorf("connection %s listen_addr %q, want tcp:%s", id, conns[id+":listen_addr"], addr)
		}
		if conns[id+":addr"] != idleName && conns[id+":state"] != "conn_parse_cmd" {
			t.Errorf("the asking connection is %q, want conn_parse_cmd", conns[id+":state"])
		}
	}
}

// TestStatsNamesAreMemcached checks every name cachenode reports is one
// real memcached reports under the same subcommand, apart from the few
// documented cachenode additions, so tools never meet invented names.
func TestStatsNamesAreMemcached(t *testing.T) {
	extras := map[string]bool{"eviction_policy": true, "item_overhead": true}
	mc := testkit.Memcached(t)
	addr, _ := startServer(t, cache.Config{})
	fillOverProtocol(t, mc.Addr, 3)
	fillOverProtocol(t, addr, 3)
	for _, sub := range []string{"", "settings", "items", "slabs", "conns", "sizes"} {
		want := statsOf(t, mc.Addr, sub)
		got := statsOf(t, addr, sub)
		if len(got) == 0 {
			t.Errorf("stats %s: cachenode reports nothing", sub)
		}
		norm := func(m map[string]string) map[string]bool {
			out := map[string]bool{}
			for k := range m {
				out[regexp.MustCompile(`^(items:)?\d+:`).ReplaceAllString(k, "${1}N:")] = true
			}
			return out
		}
		names := norm(want)
		for k := range norm(got) {
			if !names[k] && !extras[k] {
				t.Errorf("stats %s: %q is not a memcached 1.6 name", sub, k)
			}
		}
	}
}

// TestMemcachedTool runs Debian's memcached-tool against cachenode in each
// read-only mode and checks its output parses.
func TestMemcachedTool(t *testing.T) {
	tool := "/usr/share/memcached/scripts/memcached-tool"
	if _, err := os.Stat(tool); err != nil {
		t.Fatalf("%s not found: install it with `apt-get install -y memcached` (scripts/test.sh does this)", tool)
	}
	perl := testkit.Binary(t, "perl", "perl")
	addr, _ := startServer(t, cache.Config{Capacity: 1 << 20})
	const n = 40
	fillOverProtocol(t, addr, n)
	run := func(mode string) []string {
		t.Helper()
		cmd := exec.Command(perl, tool, addr, mode)
		done := make(chan struct{})
		timer := time.AfterFunc(ioGuard, func() {
			select {
			case <-done:
			default:
				_ = cmd.Process.Kill()
			}
		})
		out, err := cmd.CombinedOutput()
		close(done)
		timer.Stop()
		if err != nil {
			t.Fatalf("memcached-tool %s: %v\n%s", mode, err, out)
		}
		return strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	}

	display := run("display")
	if len(display) != 2 || !strings.Contains(display[0], "Item_Size") {
		t.Fatalf("display: want a header and one row for the pseudo class, got %q", display)
	}
	row := strings.Fields(display[1])
	// #  Item_Size  Max_age  Pages  Count  Full?  Evicted  Evict_Time  OOM
	if len(row) != 9 || row[0] != "1" || row[3] != "1" || row[4] != strconv.Itoa(n) || row[5] != "no" {
		t.Errorf("display row %q: want class 1, 1 page, %d items, not full", display[1], n)
	}

	// memcached-tool keeps the \r of each STAT line, with memcached too.
	line := regexp.MustCompile(`^\s+(\S+)\s+(\S+?)\r?$`)
	for _, tc := range []struct {
		mode string
		must map[string]string
	}{
		{"stats", map[string]string{"curr_items": strconv.Itoa(n), "limit_maxbytes": "1048576"}},
		{"settings", map[string]string{"maxbytes": "1048576", "evictions": "on"}},
		{"sizes", map[string]string{"sizes_status": "disabled"}},
	} {
		out := run(tc.mode)
		if len(out) < 2 || !strings.HasPrefix(out[0], "#") {
			t.Fatalf("%s: want a # header and rows, got %q", tc.mode, out)
		}
		got := map[string]string{}
		for _, l := range out[1:] {
			m := line.FindStringSubmatch(l)
			if m == nil {
				t.Fatalf("%s: row %q does not parse as name and value", tc.mode, l)
			}
			got[m[1]] = m[2]
		}
		for k, v := range tc.must {
			if got[k] != v {
				t.Errorf("memcached-tool %s: %s = %q, want %q", tc.mode, k, got[k], v)
			}
		}
	}
}
