package load

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// The wire client speaks just enough HTTP/1.1 for a load generator: one
// keep-alive connection per worker, the request's bytes built once, replies
// parsed in place (status line, Content-Length, chunked, Connection: close).
// net/http's client spends several goroutine hand-offs and allocations per
// request; on this 2-core machine it drove about a third of what wrk drives,
// which made it, not the target, the bottleneck (see BENCHMARKS.md). Plain
// http:// targets use this client; https:// ones use net/http.

// wireRequest renders r's bytes as sent on the wire.
func wireRequest(req *http.Request, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n", req.Method, req.URL.RequestURI(), req.URL.Host, userAgent)
	keys := make([]string, 0, len(req.Header))
	for k := range req.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range req.Header[k] {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	if len(body) > 0 || req.Method == http.MethodPost || req.Method == http.MethodPut {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

const userAgent = "labctl"

// errMalformed marks a reply that is not HTTP/1.x as we understand it.
var errMalformed = errors.New("malformed HTTP reply")

// wireConn is one worker's connection.
type wireConn struct {
	c      net.Conn
	br     *bufio.Reader
	reused bool // has carried a request before: the server may have closed it
}

// roundTrip writes raw and reads the reply, keeping up to limit bytes of the
// body in keep (when keep is not nil). It reports whether the connection
// must be closed afterwards.
func (wc *wireConn) roundTrip(raw []byte, head bool, deadline time.Time, keep *bytes.Buffer, limit int) (status int, closeAfter bool, err error) {
	if err := wc.c.SetDeadline(deadline); err != nil {
		return 0, true, err
	}
	if _, err := wc.c.Write(raw); err != nil {
		return 0, true, err
	}
	line, err := wc.br.ReadSlice('\n')
	if err != nil {
		return 0, true, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, true, fmt.Errorf("%w: status line %q", errMalformed, line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, true, fmt.Errorf("%w: status line %q", errMalformed, line)
	}
	closeAfter = line[7] == '0' // HTTP/1.0 closes unless it says keep-alive
	length, chunked := -1, false
	for {
		h, err := wc.br.ReadSlice('\n')
		if err != nil {
			return status, true, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return status, true, fmt.Errorf("%w: header %q", errMalformed, h)
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "content-length"):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return status, true, fmt.Errorf("%w: content-length %q", errMalformed, value)
			}
		case asciiEqualFold(name, "transfer-encoding"):
			chunked = asciiEqualFold(value, "chunked")
		case asciiEqualFold(name, "connection"):
			if asciiEqualFold(value, "close") {
				closeAfter = true
			} else if asciiEqualFold(value, "keep-alive") {
				closeAfter = false
			}
		}
	}
	switch {
	case head || status == 204 || status == 304 || status < 200:
		return status, closeAfter, nil
	case chunked:
		return status, closeAfter, wc.readChunked(keep, limit)
	case length >= 0:
		return status, closeAfter, wc.readN(length, keep, limit)
	default: // body runs to the end of the connection
		return status, true, wc.readN(-1, keep, limit)
	}
}

// readN consumes n body bytes (n < 0: until EOF), keeping up to limit in keep.
func (wc *wireConn) readN(n int, keep *bytes.Buffer, limit int) error {
	if n < 0 {
		var w io.Writer = io.Discard
		if keep != nil {
			w = cappedWriter{keep, limit}
		}
		_, err := io.Copy(w, wc.br)
		return err
	}
	if keep != nil {
		k := min(n, max(limit-keep.Len(), 0))
		if _, err := io.CopyN(keep, wc.br, int64(k)); err != nil {
			return err
		}
		n -= k
	}
	_, err := wc.br.Discard(n)
	return err
}

// cappedWriter keeps the first cap bytes written to it and drops the rest.
type cappedWriter struct {
	b   *bytes.Buffer
	cap int
}

func (w cappedWriter) Write(p []byte) (int, error) {
	w.b.Write(p[:min(len(p), max(w.cap-w.b.Len(), 0))])
	return len(p), nil
}

func (wc *wireConn) readChunked(keep *bytes.Buffer, limit int) error {
	for {
		line, err := wc.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		line = bytes.TrimRight(line, "\r\n")
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i] // chunk extensions
		}
		size, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
		if err != nil || size < 0 {
			return fmt.Errorf("%w: chunk size %q", errMalformed, line)
		}
		if size == 0 {
			for { // trailers, up to the empty line
				t, err := wc.br.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(bytes.TrimRight(t, "\r\n")) == 0 {
					return nil
				}
			}
		}
		if err := wc.readN(int(size), keep, limit); err != nil {
			return err
		}
		if _, err := wc.br.Discard(2); err != nil { // CRLF after the data
			return err
		}
	}
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
