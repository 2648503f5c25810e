package node

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/apps/cachenode/internal/cache"
)

// TestBinaryRequestAnsweredAndClosed sends binary protocol requests (no
// newline anywhere) over a real connection: the server must answer with a
// binary error response echoing opcode and opaque, then close, well within
// the guard deadline instead of waiting for a newline forever.
func TestBinaryRequestAnsweredAndClosed(t *testing.T) {
	getK := func(key string) []byte {
		// get request: magic 0x80, opcode 0x00, key length, opaque 0xdeadbeef.
		var hdr [24]byte
		hdr[0], hdr[1] = 0x80, 0x00
		binary.BigEndian.PutUint16(hdr[2:4], uint16(len(key)))
		binary.BigEndian.PutUint32(hdr[8:12], uint32(len(key)))
		copy(hdr[12:16], []byte{0xde, 0xad, 0xbe, 0xef})
		return append(hdr[:], key...)
	}
	tests := []struct {
		name      string
		send      []byte
		opcode    byte
		opaque    []byte
		afterText bool
	}{
		{"get with key", getK("k"), 0x00, []byte{0xde, 0xad, 0xbe, 0xef}, false},
		{"version, header only", append([]byte{0x80, 0x0b}, make([]byte, 22)...), 0x0b, []byte{0, 0, 0, 0}, false},
		{"lone magic byte", []byte{0x80}, 0x00, []byte{0, 0, 0, 0}, false},
		{"after a text command", append([]byte("set a 0 0 1\r\nx\r\n"), getK("a")...), 0x00, []byte{0xde, 0xad, 0xbe, 0xef}, true},
	}
	for _, layer := range layers {
		for _, tt := range tests {
			t.Run(layer.name+"/"+tt.name, func(t *testing.T) {
				addr, _ := startServerLayer(t, cache.Config{}, layer.goroutines)
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(ioGuard))
				if _, err := c.Write(tt.send); err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(c)
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Fatalf("no reply and no close within %v (got %q): the server waits for a newline", ioGuard, got)
				}
				if err != nil && !isReset(err) {
					t.Fatalf("read: %v", err)
				}
				if tt.afterText {
					if !bytes.HasPrefix(got, []byte("STORED\r\n")) {
						t.Fatalf("text command before the binary one: got %q, want STORED first", got)
					}
					got = got[len("STORED\r\n"):]
				}
				if len(got) < 24 {
					t.Fatalf("reply %q: want a 24-byte binary response header and a message, then EOF", got)
				}
				body := got[24:]
				checks := []struct {
					what      string
					got, want any
				}{
					{"magic", got[0], byte(0x81)},
					{"opcode", got[1], tt.opcode},
					{"status", binary.BigEndian.Uint16(got[6:8]), uint16(0x0081)},
					{"body length", binary.BigEndian.Uint32(got[8:12]), uint32(len(body))},
					{"opaque", string(got[12:16]), string(tt.opaque)},
					{"message", string(body), "binary protocol not supported; use the text protocol"},
				}
				for _, ck := range checks {
					if ck.got != ck.want {
						t.Errorf("%s = %v, want %v (reply %q)", ck.what, ck.got, ck.want, got)
					}
				}
			})
		}
	}
}
