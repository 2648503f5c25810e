package node

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/cloudlabs/cloudlabs/apps/cachenode/internal/cache"
	"github.com/cloudlabs/cloudlabs/apps/cachenode/internal/protocol"
)

// run executes every command of script against h and returns the replies,
// the way the network loop would, without a network.
func run(h *Handler, script string) string {
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	p := protocol.NewParser(bufio.NewReader(strings.NewReader(script)), h.MaxItemSize)
	for {
		cmd, err := p.Next()
		if err != nil {
			if h.Fail(w, err) {
				break
			}
			continue
		}
		if h.Execute(w, cmd) {
			break
		}
	}
	_ = w.Flush()
	return out.String()
}

func TestExecute(t *testing.T) {
	tests := []struct {
		name, script, want string
		capacity           int64
	}{
		{name: "set get", script: "set a 1 0 2\r\nhi\r\nget a\r\n", want: "STORED\r\nVALUE a 1 2\r\nhi\r\nEND\r\n"},
		{name: "gets cas", script: "set a 0 0 1\r\nx\r\ngets a\r\ncas a 0 0 1 1\r\ny\r\ncas a 0 0 1 1\r\nz\r\n",
			want: "STORED\r\nVALUE a 0 1 1\r\nx\r\nEND\r\nSTORED\r\nEXISTS\r\n"},
		{name: "incr wraps", script: "set n 0 0 20\r\n18446744073709551615\r\nincr n 1\r\n", want: "STORED\r\n0\r\n"},
		{name: "decr floors", script: "set n 0 0 1\r\n5\r\ndecr n 9\r\n", want: "STORED\r\n0\r\n"},
		{name: "incr non numeric", script: "set n 0 0 1\r\nx\r\nincr n 1\r\n",
			want: "STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n"},
		{name: "noreply everywhere", script: "set a 0 0 1 noreply\r\nx\r\nincr a 1 noreply\r\ntouch a 0 noreply\r\ndelete a noreply\r\nget a\r\n",
			want: "END\r\n"},
		{name: "too large", script: "set a 0 0 2000000\r\n" + strings.Repeat("x", 2000000) + "\r\nget a\r\n",
			want: "SERVER_ERROR object too large for cache\r\nEND\r\n"},
		{name: "larger than capacity", capacity: 100, script: "set a 0 0 10\r\n0123456789\r\n",
			want: "SERVER_ERROR out of memory storing object\r\n"},
		{name: "unknown", script: "nope\r\n", want: "ERROR\r\n"},
		{name: "line too long closes", script: strings.Repeat("x", 5000) + "\r\nversion\r\n", want: "CLIENT_ERROR line too long\r\n"},
		{name: "quit stops", script: "quit\r\nversion\r\n", want: ""},
		{name: "version", script: "version\r\n", want: "VERSION " + Version + "\r\n"},
		{name: "flush", script: "set a 0 0 1\r\nx\r\nflush_all\r\nget a\r\n", want: "STORED\r\nOK\r\nEND\r\n"},
		{name: "stats unknown", script: "stats bogus\r\n", want: "ERROR\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.capacity == 0 {
				tt.capacity = 64 << 20
			}
			h := &Handler{Store: cache.New(cache.Config{Capacity: tt.capacity})}
			if got := run(h, tt.script); got != tt.want {
				t.Errorf("got %q, want %q", truncate([]byte(got)), tt.want)
			}
		})
	}
}

func TestStatsNames(t *testing.T) {
	h := &Handler{Store: cache.New(cache.Config{Capacity: 1 << 20}), MaxConns: 10}
	got := run(h, "set a 0 0 1\r\nx\r\nget a b\r\nstats\r\n")
	for _, name := range []string{"pid", "uptime", "time", "version", "curr_items", "total_items", "bytes",
		"curr_connections", "total_connections", "cmd_get", "cmd_set", "get_hits", "get_misses",
		"evictions", "limit_maxbytes", "threads"} {
		if !strings.Contains(got, "STAT "+name+" ") {
			t.Errorf("stats lacks %s:\n%s", name, got)
		}
	}
	for _, line := range []string{"STAT cmd_get 2\r\n", "STAT get_hits 1\r\n", "STAT get_misses 1\r\n",
		"STAT curr_items 1\r\n", "STAT limit_maxbytes 1048576\r\n"} {
		if !strings.Contains(got, line) {
			t.Errorf("stats lacks %q", line)
		}
	}
	if !strings.HasSuffix(got, "END\r\n") {
		t.Errorf("stats does not end with END: %q", got)
	}
}

// writes records what is written to it and where each write's bytes were:
// bufio hands over its own buffer, reused after the call, so the bytes are
// copied and the address kept.
type writes struct {
	data  []byte
	first []*byte
	sizes []int
}

func (w *writes) Write(b []byte) (int, error) {
	w.data = append(w.data, b...)
	if len(b) > 0 {
		w.first = append(w.first, &b[0])
		w.sizes = append(w.sizes, len(b))
	}
	return len(b), nil
}

func TestValueLargerThanTheBufferIsSentFromTheItem(t *testing.T) {
	h := &Handler{Store: cache.New(cache.Config{Capacity: 1 << 20})}
	value := bytes.Repeat([]byte("v"), 10_000)
	if r := h.Store.Store(cache.Set, []byte("big"), value, 0, 0, 0); r != cache.Stored {
		t.Fatalf("store: %v", r)
	}
	rec := &writes{}
	w := bufio.NewWriterSize(rec, 4096)
	_, _ = w.WriteString("STORED\r\n") // an earlier reply of the batch, still buffered
	h.Execute(w, &protocol.Command{Op: protocol.OpGet, Keys: [][]byte{[]byte("big")}})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "STORED\r\nVALUE big 0 10000\r\n" + string(value) + "\r\nEND\r\n"
	if got := string(rec.data); got != want {
		t.Fatalf("reply = %q, want %q", truncate([]byte(got)), truncate([]byte(want)))
	}
	direct := 0
	for i, p := range rec.first {
		if p == &value[0] && rec.sizes[i] == len(value) {
			direct++
		}
	}
	if direct != 1 {
		t.Errorf("the value went through the buffer (writes of %v bytes), want one write of the stored slice", rec.sizes)
	}
}
