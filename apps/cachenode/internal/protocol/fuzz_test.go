package protocol

import (
	"bufio"
	"bytes"
	"errors"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the parser: it must never panic,
// always make progress, and only return commands within the limits.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"get a b c\r\n", "gets a\n", "gat 10 a b\r\n", "gats -1 a\r\n",
		"set k 1 2 3\r\nabc\r\n", "add k 0 0 1 noreply\r\nx\r\n", "cas k 0 0 1 5\r\nx\r\n",
		"append k 0 0 2\r\nab\r\n", "prepend k 0 0 0\r\n\r\n", "replace k 0 0 1\r\nxy\r\n",
		"incr k 1\r\n", "decr k 18446744073709551616\r\n", "delete k 0 noreply\r\n",
		"touch k 10\r\n", "flush_all 10 noreply\r\n", "stats items\r\n", "verbosity 1\r\n",
		"version\r\nquit\r\n", "set k 0 0 -1\r\n", "set k 0 0 2147483648\r\n", "\r\n\r\n",
		"get " + string(bytes.Repeat([]byte("k"), 251)) + "\r\n", "set k 0 0 100\r\nshort",
		"\x80\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00k",
	} {
		f.Add([]byte(s))
	}
	const maxItem = 64
	f.Fuzz(func(t *testing.T, data []byte) {
		p := NewParser(bufio.NewReaderSize(bytes.NewReader(data), 16), maxItem)
		for range len(data) + 1 {
			c, err := p.Next()
			var ce *ClientError
			var tl *TooLargeError
			switch {
			case err == nil:
				for _, k := range c.Keys {
					if !validKey(k) {
						t.Fatalf("invalid key %q accepted", k)
					}
				}
				if len(c.Value) > maxItem {
					t.Fatalf("value of %d bytes over the %d limit", len(c.Value), maxItem)
				}
			case errors.Is(err, ErrUnknownCommand), errors.As(err, &ce), errors.As(err, &tl):
			default:
				return // I/O error or line too long: the connection would close
			}
		}
		t.Fatalf("parser did not reach the end of %d bytes", len(data))
	})
}
