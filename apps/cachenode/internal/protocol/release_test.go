package protocol

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

// scriptReader hands out chunks one Read at a time and, before each Read
// after the first chunk, calls onWait: the moment the parser blocks for
// more input, which is when an idle connection sits.
type scriptReader struct {
	chunks []string
	onWait func()
	reads  int
}

func (r *scriptReader) Read(b []byte) (int, error) {
	if len(r.chunks) == 0 {
		if r.onWait != nil {
			r.onWait()
		}
		return 0, io.EOF
	}
	n := copy(b, r.chunks[0])
	if r.chunks[0] = r.chunks[0][n:]; r.chunks[0] == "" {
		r.chunks = r.chunks[1:]
	}
	r.reads++
	return n, nil
}

func TestHugeMultiGetReleasesBuffers(t *testing.T) {
	// 1-byte keys: the most keys a 1 MB line can carry, the worst case.
	const keys = (MaxMultiGetLine - 16) / 2
	huge := "get" + strings.Repeat(" k", keys) + "\r\n"
	src := &scriptReader{chunks: []string{huge}}
	p := NewParser(bufio.NewReaderSize(src, 4096), 0)
	c, err := p.Next()
	if err != nil {
		t.Fatalf("huge get: %v", err)
	}
	if len(c.Keys) != keys {
		t.Fatalf("huge get parsed %d keys, want %d", len(c.Keys), keys)
	}
	// The measurement must see the huge request's buffers, or the test
	// below could not fail.
	if got := p.RetainedBytes(); got < 20<<20 {
		t.Fatalf("RetainedBytes right after a %d-key get = %d, want over 20 MB (the measurement misses the buffers)", keys, got)
	}
	const small = 16 << 10
	waited := -1
	src.onWait = func() { waited = p.RetainedBytes() }
	if _, err := p.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("Next at end of input = %v, want io.EOF", err)
	}
	if waited < 0 {
		t.Fatal("the parser never waited for input")
	}
	if waited > small {
		t.Errorf("RetainedBytes while waiting for the next command = %d, want at most %d", waited, small)
	}
}

func TestSmallCommandsKeepTheirBuffers(t *testing.T) {
	// The common case must not reallocate: after a first command the
	// parser keeps its small buffers between commands.
	in := strings.Repeat("get a b c\r\nset k 0 0 1\r\nx\r\n", 10)
	p := NewParser(bufio.NewReader(strings.NewReader(in)), 0)
	if _, err := p.Next(); err != nil {
		t.Fatal(err)
	}
	before := p.RetainedBytes()
	if before == 0 {
		t.Fatal("RetainedBytes = 0 after a get: the measurement sees nothing")
	}
	for i := range 19 {
		if _, err := p.Next(); err != nil {
			t.Fatalf("command %d: %v", i+2, err)
		}
	}
	if after := p.RetainedBytes(); after < before {
		t.Errorf("RetainedBytes fell from %d to %d on small commands: small buffers should be kept", before, after)
	}
}
