package protocol

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/cloudlabs/cloudlabs/apps/cachenode/internal/number"
)

// Limits of the parser. MaxKeyLength is memcached's; MaxLine bounds every
// command except the retrieval ones, whose key lists memcached leaves
// unbounded and which are bounded here by MaxMultiGetLine.
const (
	MaxKeyLength    = 250
	MaxLine         = 2048
	MaxMultiGetLine = 1 << 20
	// DefaultMaxItemSize is memcached's default -I: 1 MB.
	DefaultMaxItemSize = 1 << 20
	// keepLongBuffer and keepTokens bound what a parser keeps between
	// commands: one huge multi-get must not pin its megabyte line buffer
	// and the ~24 MB of key slices (24 bytes per key) per idle connection.
	// Common commands fit well within both, so they reuse and never allocate.
	keepLongBuffer = 8 << 10
	keepTokens     = 256
	// binaryMagic opens every binary protocol request.
	binaryMagic = 0x80
)

// Parser reads commands from one connection. It is not safe for concurrent use.
type Parser struct {
	r           *bufio.Reader
	maxItemSize int
	cmd         Command
	tokens      [][]byte
	long        []byte
	keyBuf      []byte
}

// NewParser reads from r; values larger than maxItemSize (<= 0 means
// DefaultMaxItemSize) are swallowed and reported as *TooLargeError.
func NewParser(r *bufio.Reader, maxItemSize int) *Parser {
	if maxItemSize <= 0 {
		maxItemSize = DefaultMaxItemSize
	}
	return &Parser{r: r, maxItemSize: maxItemSize, tokens: make([][]byte, 0, 24)}
}

// Next reads the next command. Errors are ErrUnknownCommand, *ClientError
// and *TooLargeError (reply and carry on), ErrLineTooLong (reply and close)
// or an I/O error (close).
func (p *Parser) Next() (*Command, error) {
	p.release()
	// A binary request has no newline to wait for: recognise its magic
	// byte before reading a line, or the connection would hang.
	if b, err := p.r.Peek(1); err != nil {
		return nil, err
	} else if b[0] == binaryMagic {
		return nil, p.binaryRequest()
	}
	line, err := p.readLine()
	if err != nil {
		return nil, err
	}
	p.tokens = tokenize(p.tokens[:0], line)
	p.cmd = Command{Keys: p.cmd.Keys[:0]}
	if err := p.parse(&p.cmd, p.tokens); err != nil {
		return nil, err
	}
	return &p.cmd, nil
}

// release drops buffers the previous command grew past what common
// commands need; it runs before the parser blocks waiting for input.
func (p *Parser) release() {
	if cap(p.long) > keepLongBuffer {
		p.long = nil
	}
	if cap(p.tokens) > keepTokens {
		p.tokens = make([][]byte, 0, 24)
	}
	keys := p.cmd.Keys[:0]
	if cap(keys) > keepTokens {
		keys = nil
	}
	// The last command's value and keys are not needed any more either.
	p.cmd = Command{Keys: keys}
}

// RetainedBytes is how much buffer memory the parser keeps between
// commands (line buffer, token and key slices); tests and stats use it.
func (p *Parser) RetainedBytes() int {
	const sliceHeader = 24
	return cap(p.long) + cap(p.keyBuf) + sliceHeader*(cap(p.tokens)+cap(p.cmd.Keys))
}

// binaryRequest describes the binary request at the head of the input
// from the header bytes already received; it never waits for more.
func (p *Parser) binaryRequest() error {
	hdr, _ := p.r.Peek(min(p.r.Buffered(), 24))
	e := &BinaryProtocolError{}
	if len(hdr) > 1 {
		e.Opcode = hdr[1]
	}
	if len(hdr) >= 16 {
		copy(e.Opaque[:], hdr[12:16])
	}
	return e
}

// readLine returns the next line without its "\n" or "\r\n".
func (p *Parser) readLine() ([]byte, error) {
	line, err := p.r.ReadSlice('\n')
	if err == nil {
		if len(line) > MaxLine && !isRetrieval(line) {
			return nil, ErrLineTooLong
		}
		return trimEOL(line), nil
	}
	if !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	limit := MaxLine
	if isRetrieval(line) {
		limit = MaxMultiGetLine
	}
	p.long = append(p.long[:0], line...)
	for {
		// The check comes before each read, so the buffer never grows past
		// the limit by more than one bufio buffer.
		if len(p.long) > limit {
			return nil, ErrLineTooLong
		}
		line, err = p.r.ReadSlice('\n')
		p.long = append(p.long, line...)
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
	}
	if len(p.long) > limit {
		return nil, ErrLineTooLong
	}
	return trimEOL(p.long), nil
}

func trimEOL(line []byte) []byte {
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line
}

// isRetrieval reports whether a line starts a get-family command, the only
// ones allowed past MaxLine (as in memcached).
func isRetrieval(line []byte) bool {
	line = bytes.TrimLeft(line, " ")
	for _, p := range [][]byte{[]byte("get "), []byte("gets "), []byte("gat "), []byte("gats ")} {
		if bytes.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

// tokenize splits on runs of spaces only: memcached treats tabs and other
// white space as part of a token.
func tokenize(dst [][]byte, line []byte) [][]byte {
	for {
		for len(line) > 0 && line[0] == ' ' {
			line = line[1:]
		}
		if len(line) == 0 {
			return dst
		}
		i := bytes.IndexByte(line, ' ')
		if i < 0 {
			return append(dst, line)
		}
		dst = append(dst, line[:i])
		line = line[i+1:]
	}
}

func validKey(k []byte) bool {
	if len(k) == 0 || len(k) > MaxKeyLength {
		return false
	}
	for _, c := range k {
		if c < 0x21 || c == 0x7f {
			return false
		}
	}
	return true
}

func isNoReply(tok [][]byte) bool {
	return len(tok) > 1 && string(tok[len(tok)-1]) == "noreply"
}

func bad(msg string, noreply bool) error { return &ClientError{Msg: msg, NoReply: noreply} }

// parse fills c from the tokens, reproducing memcached's argument count and
// validation rules (proto_text.c) so that replies match byte for byte.
func (p *Parser) parse(c *Command, tok [][]byte) error {
	if len(tok) == 0 {
		return ErrUnknownCommand
	}
	op, ok := lookupOp(tok[0])
	if !ok {
		return ErrUnknownCommand
	}
	c.Op = op
	n := len(tok)
	switch op {
	case OpGet, OpGets:
		if n < 2 {
			return ErrUnknownCommand
		}
		return p.keys(c, tok[1:])
	case OpGat, OpGats:
		if n < 2 {
			return ErrUnknownCommand
		}
		exp, ok := number.ParseInt32(tok[1])
		if !ok {
			return bad(msgBadExptime, false)
		}
		c.Exptime = exp
		return p.keys(c, tok[2:])
	case OpSet, OpAdd, OpReplace, OpAppend, OpPrepend, OpCas:
		return p.storage(c, tok)
	case OpDelete:
		if n < 2 || n > 4 {
			return ErrUnknownCommand
		}
		c.NoReply = n > 2 && isNoReply(tok)
		if n > 2 {
			zero := string(tok[2]) == "0"
			if !(n == 3 && (zero || c.NoReply)) && !(n == 4 && zero && c.NoReply) {
				return bad(msgDeleteUsage, false)
			}
		}
		return p.key(c, tok[1], c.NoReply)
	case OpIncr, OpDecr:
		if n != 3 && n != 4 {
			return ErrUnknownCommand
		}
		c.NoReply = isNoReply(tok) && n == 4
		if err := p.key(c, tok[1], c.NoReply); err != nil {
			return err
		}
		d, ok := number.ParseUint64(tok[2])
		if !ok {
			return bad(msgBadDelta, c.NoReply)
		}
		c.Delta = d
	case OpTouch:
		if n != 3 && n != 4 {
			return ErrUnknownCommand
		}
		c.NoReply = isNoReply(tok) && n == 4
		if err := p.key(c, tok[1], c.NoReply); err != nil {
			return err
		}
		exp, ok := number.ParseInt32(tok[2])
		if !ok {
			return bad(msgBadExptime, c.NoReply)
		}
		c.Exptime = exp
	case OpFlushAll:
		if n > 3 {
			return ErrUnknownCommand
		}
		c.NoReply = isNoReply(tok)
		if (c.NoReply && n == 3) || (!c.NoReply && n >= 2) {
			exp, ok := number.ParseInt32(tok[1])
			if !ok {
				return bad(msgBadExptime, c.NoReply)
			}
			c.Exptime = exp
		}
	case OpVerbosity:
		if n < 2 {
			return ErrUnknownCommand
		}
		c.NoReply = isNoReply(tok)
		if _, ok := number.ParseUint32(tok[1]); !ok && !(c.NoReply && n == 2) {
			return bad(msgBadFormat, c.NoReply)
		}
	case OpStats:
		c.Args = tok[1:]
	case OpVersion, OpQuit:
	}
	return nil
}

func (p *Parser) key(c *Command, k []byte, noreply bool) error {
	if !validKey(k) {
		return bad(msgBadFormat, noreply)
	}
	c.Keys = append(c.Keys, k)
	return nil
}

func (p *Parser) keys(c *Command, keys [][]byte) error {
	for _, k := range keys {
		if err := p.key(c, k, false); err != nil {
			return err
		}
	}
	return nil
}

// storage parses "<cmd> <key> <flags> <exptime> <bytes> [<cas>] [noreply]"
// and reads the data block.
func (p *Parser) storage(c *Command, tok [][]byte) error {
	n, want := len(tok), 5
	if c.Op == OpCas {
		want = 6
	}
	if n != want && n != want+1 {
		return ErrUnknownCommand
	}
	c.NoReply = isNoReply(tok)
	if err := p.key(c, tok[1], c.NoReply); err != nil {
		return err
	}
	flags, okF := number.ParseUint32(tok[2])
	exp, okE := number.ParseInt32(tok[3])
	size, okS := number.ParseInt32(tok[4])
	if !okF || !okE || !okS || size < 0 {
		return bad(msgBadFormat, c.NoReply)
	}
	if c.Op == OpCas {
		cas, ok := number.ParseUint64(tok[5])
		if !ok {
			return bad(msgBadFormat, c.NoReply)
		}
		c.Cas = cas
	}
	c.Flags, c.Exptime = flags, exp
	// The key points into the read buffer, which reading the value may
	// overwrite: move it to the parser's own scratch space first.
	p.keyBuf = append(p.keyBuf[:0], c.Keys[0]...)
	c.Keys[0] = p.keyBuf
	if int(size) > p.maxItemSize {
		if _, err := p.r.Discard(int(size) + 2); err != nil {
			return fmt.Errorf("swallow %d-byte value: %w", size, err)
		}
		return &TooLargeError{Op: c.Op, Key: c.Keys[0], Size: int(size), NoReply: c.NoReply}
	}
	buf := make([]byte, int(size)+2)
	if _, err := io.ReadFull(p.r, buf); err != nil {
		return fmt.Errorf("read %d-byte value: %w", size, err)
	}
	if buf[size] != '\r' || buf[size+1] != '\n' {
		return bad(msgBadChunk, c.NoReply)
	}
	c.Value = buf[:size:size]
	return nil
}
