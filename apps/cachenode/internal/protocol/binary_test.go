package protocol

import (
	"bufio"
	"errors"
	"strings"
	"testing"
)

func TestBinaryRequestDetected(t *testing.T) {
	// Only the header is available: Next must not wait for a newline.
	hdr := "\x80\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x02\x03\x04" + strings.Repeat("\x00", 8)
	p := NewParser(bufio.NewReader(strings.NewReader(hdr)), 0)
	_, err := p.Next()
	var be *BinaryProtocolError
	if !errors.As(err, &be) {
		t.Fatalf("Next on a binary header = %v, want *BinaryProtocolError", err)
	}
	if be.Opcode != 0x0a || be.Opaque != [4]byte{1, 2, 3, 4} {
		t.Errorf("got opcode %#x opaque %v, want 0x0a [1 2 3 4]", be.Opcode, be.Opaque)
	}
}
