package protocol

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func parseOne(t *testing.T, in string, maxItem int) (*Command, error) {
	t.Helper()
	return NewParser(bufio.NewReader(strings.NewReader(in)), maxItem).Next()
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		op      Op
		keys    []string
		value   string
		noreply bool
		check   func(*Command) string
	}{
		{name: "get multi", in: "get a b c\r\n", op: OpGet, keys: []string{"a", "b", "c"}},
		{name: "bare newline", in: "gets a\n", op: OpGets, keys: []string{"a"}},
		{name: "gat exptime", in: "gat 10 a\r\n", op: OpGat, keys: []string{"a"}, check: func(c *Command) string {
			if c.Exptime != 10 {
				return "exptime not 10"
			}
			return ""
		}},
		{name: "set", in: "set k 42 -1 3\r\nabc\r\n", op: OpSet, keys: []string{"k"}, value: "abc", check: func(c *Command) string {
			if c.Flags != 42 || c.Exptime != -1 {
				return "flags or exptime wrong"
			}
			return ""
		}},
		{name: "set noreply", in: "set k 0 0 1 noreply\r\nx\r\n", op: OpSet, keys: []string{"k"}, value: "x", noreply: true},
		{name: "cas", in: "cas k 0 0 1 77\r\nx\r\n", op: OpCas, keys: []string{"k"}, value: "x", check: func(c *Command) string {
			if c.Cas != 77 {
				return "cas not 77"
			}
			return ""
		}},
		{name: "incr max delta", in: "incr k 18446744073709551615\r\n", op: OpIncr, keys: []string{"k"}, check: func(c *Command) string {
			if c.Delta != 1<<64-1 {
				return "delta wrong"
			}
			return ""
		}},
		{name: "delete noreply", in: "delete k noreply\r\n", op: OpDelete, keys: []string{"k"}, noreply: true},
		{name: "flush delay", in: "flush_all 30\r\n", op: OpFlushAll, check: func(c *Command) string {
			if c.Exptime != 30 {
				return "delay not 30"
			}
			return ""
		}},
		{name: "stats args", in: "stats settings\r\n", op: OpStats, check: func(c *Command) string {
			if len(c.Args) != 1 || string(c.Args[0]) != "settings" {
				return "args wrong"
			}
			return ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseOne(t, tt.in, 0)
			if err != nil {
				t.Fatalf("Next(%q): %v", tt.in, err)
			}
			if c.Op != tt.op {
				t.Errorf("op = %d, want %d", c.Op, tt.op)
			}
			var keys []string
			for _, k := range c.Keys {
				keys = append(keys, string(k))
			}
			if strings.Join(keys, ",") != strings.Join(tt.keys, ",") {
				t.Errorf("keys = %q, want %q", keys, tt.keys)
			}
			if string(c.Value) != tt.value {
				t.Errorf("value = %q, want %q", c.Value, tt.value)
			}
			if c.NoReply != tt.noreply {
				t.Errorf("noreply = %v, want %v", c.NoReply, tt.noreply)
			}
			if tt.check != nil {
				if msg := tt.check(c); msg != "" {
					t.Error(msg)
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		maxItem int
		want    string // "unknown", "too long", "too large", "io" or the CLIENT_ERROR message
	}{
		{"unknown", "frobnicate\r\n", 0, "unknown"},
		{"empty line", "\r\n", 0, "unknown"},
		{"uppercase", "GET a\r\n", 0, "unknown"},
		{"get without keys", "get\r\n", 0, "unknown"},
		{"set too few", "set a 0 0\r\n", 0, "unknown"},
		{"key too long", "get " + strings.Repeat("k", 251) + "\r\n", 0, msgBadFormat},
		{"control char in key", "get a\x01b\r\n", 0, msgBadFormat},
		{"flags over 32 bits", "set a 4294967296 0 1\r\nx\r\n", 0, msgBadFormat},
		{"negative length", "set a 0 0 -1\r\n", 0, msgBadFormat},
		{"bad data chunk", "set a 0 0 1\r\nxyz\r\n", 0, msgBadChunk},
		{"bad delta", "incr a x\r\n", 0, msgBadDelta},
		{"bad touch exptime", "touch a x\r\n", 0, msgBadExptime},
		{"delete usage", "delete a 5\r\n", 0, msgDeleteUsage},
		{"too large", "set a 0 0 11\r\nhello world\r\n", 10, "too large"},
		{"line too long", strings.Repeat("x", 1<<20), 0, "too long"},
		{"set line too long", "set " + strings.Repeat("x", 3000) + " 0 0 1\r\nx\r\n", 0, "too long"},
		{"multiget too long", "get " + strings.Repeat("k ", MaxMultiGetLine), 0, "too long"},
		{"truncated value", "set a 0 0 10\r\nabc", 0, "io"},
		{"eof", "", 0, "io"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseOne(t, tt.in, tt.maxItem)
			var ce *ClientError
			var tl *TooLargeError
			got := "io"
			switch {
			case err == nil:
				got = "no error"
			case errors.Is(err, ErrUnknownCommand):
				got = "unknown"
			case errors.Is(err, ErrLineTooLong):
				got = "too long"
			case errors.As(err, &tl):
				got = "too large"
			case errors.As(err, &ce):
				got = ce.Msg
			case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
				got = "io"
			}
			if got != tt.want {
				t.Errorf("Next(%q) error = %v (%s), want %s", truncate(tt.in), err, got, tt.want)
			}
		})
	}
}

// TestParseLongMultiGet checks that retrieval lines may exceed MaxLine.
func TestParseLongMultiGet(t *testing.T) {
	keys := strings.Repeat("key ", 2000)
	c, err := parseOne(t, "get "+keys+"\r\n", 0)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	if len(c.Keys) != 2000 {
		t.Errorf("got %d keys, want 2000", len(c.Keys))
	}
}

// TestParseResync checks that the stream stays usable after errors.
func TestParseResync(t *testing.T) {
	in := "bogus\r\nset a 0 0 1\r\nxyz\r\nset a 0 0 20\r\n" + strings.Repeat("v", 20) + "\r\nget a\r\n"
	p := NewParser(bufio.NewReader(strings.NewReader(in)), 10)
	var got []string
	for {
		c, err := p.Next()
		var ce *ClientError
		var tl *TooLargeError
		switch {
		case errors.Is(err, io.EOF):
			want := "unknown|bad data chunk|unknown|too large|get"
			if s := strings.Join(got, "|"); s != want {
				t.Errorf("sequence = %s, want %s", s, want)
			}
			return
		case errors.Is(err, ErrUnknownCommand):
			got = append(got, "unknown")
		case errors.As(err, &ce):
			got = append(got, ce.Msg)
		case errors.As(err, &tl):
			got = append(got, "too large")
		case err != nil:
			t.Fatalf("unexpected error %v", err)
		case c.Op == OpGet:
			got = append(got, "get")
		}
	}
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
