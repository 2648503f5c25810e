package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// net/http answers a request it cannot parse (a request line such as
// "GET /get/% HTTP/1.1" whose path has a bad URL escape, a missing Host
// header, oversized headers) itself, in plain text, before any handler
// runs, and offers no hook to change that. JSONErrors wraps the listener
// instead: the server writes such a reply to the connection in one Write
// with fixed headers, which no handler's reply can produce (those carry a
// Date header and go through a buffer), so the wrapper recognizes it and
// sends the phone book's JSON error in its place, naming the problem when
// it is the request line's URL.

// JSONErrors returns ln with net/http's own error replies turned into
// JSON {"error": "..."} with the same status.
func JSONErrors(ln net.Listener) net.Listener { return jsonErrorListener{ln} }

type jsonErrorListener struct{ net.Listener }

func (l jsonErrorListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &jsonErrorConn{Conn: c}, nil
}

// rawErrorHeaders follow the status line of every reply net/http writes
// on its own (net/http/server.go, conn.serve).
const rawErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// maxRecordedLine bounds what is kept of a request line for the message.
const maxRecordedLine = 1024

// jsonErrorConn remembers the first line read since the last reply (the
// request line of the request being parsed) to explain a rejection.
type jsonErrorConn struct {
	net.Conn

	mu       sync.Mutex // reads and writes may run concurrently
	line     []byte
	lineDone bool
}

func (c *jsonErrorConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		if !c.lineDone {
			chunk := p[:n]
			if i := bytes.IndexByte(chunk, '\n'); i >= 0 {
				chunk, c.lineDone = chunk[:i], true
			}
			if room := maxRecordedLine - len(c.line); room > 0 {
				c.line = append(c.line, chunk[:min(len(chunk), room)]...)
			}
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *jsonErrorConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	line := string(c.line)
	c.line, c.lineDone = c.line[:0], false
	c.mu.Unlock()
	status, text, ok := parseRawError(p)
	if !ok {
		return c.Conn.Write(p)
	}
	body, _ := json.Marshal(map[string]string{"error": explainRawError(status, text, line)})
	body = append(body, '\n')
	reply := fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		status, http.StatusText(status), len(body), body)
	if _, err := c.Conn.Write([]byte(reply)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// parseRawError recognizes a reply net/http wrote on its own: it returns
// the status and the text after the code ("Bad Request: missing required
// Host header").
func parseRawError(p []byte) (status int, text string, ok bool) {
	head, _, found := bytes.Cut(p, []byte("\r\n"))
	if !found || !bytes.HasPrefix(head, []byte("HTTP/1.1 ")) || !bytes.HasPrefix(p[len(head):], []byte(rawErrorHeaders)) {
		return 0, "", false
	}
	code, text, _ := strings.Cut(string(head[len("HTTP/1.1 "):]), " ")
	status, err := strconv.Atoi(code)
	if err != nil || status < 400 {
		return 0, "", false
	}
	return status, text, true
}

// explainRawError names what was wrong, from the request line when it is
// the URL, else from net/http's own text.
func explainRawError(status int, text, requestLine string) string {
	if f := strings.Fields(requestLine); len(f) == 3 && strings.HasPrefix(f[1], "/") {
		if _, err := url.ParseRequestURI(f[1]); err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return fmt.Sprintf("bad URL escape in request path %s: %v; a %% must be followed by two hex digits, write a literal %% in a name as %%25",
				strconvQuote(f[1]), err)
		}
	}
	return fmt.Sprintf("malformed HTTP request (%d %s): check the request line and headers; paths are /get/<url-escaped name>, /list, /add/", status, text)
}
