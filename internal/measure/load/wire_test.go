package load

import (
	"bufio"
	"bytes"
	"net"
	"strings"
	"testing"
	"time"
)

// replayConn is a net.Conn whose peer sends a fixed reply.
type replayConn struct {
	net.Conn
	r *bytes.Reader
}

func (c replayConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c replayConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c replayConn) SetDeadline(time.Time) error      { return nil }
func (c replayConn) Close() error                     { return nil }
func (c replayConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c replayConn) SetReadDeadline(time.Time) error  { return nil }
func (c replayConn) SetWriteDeadline(time.Time) error { return nil }

func wireReply(reply string, head bool) (int, bool, string, error) {
	c := replayConn{r: bytes.NewReader([]byte(reply))}
	wc := &wireConn{c: c, br: bufio.NewReaderSize(c, 16<<10)}
	var keep bytes.Buffer
	status, closeAfter, err := wc.roundTrip([]byte("GET / HTTP/1.1\r\n\r\n"), head, time.Time{}, &keep, 8)
	return status, closeAfter, keep.String(), err
}

func TestWireReplies(t *testing.T) {
	cases := []struct {
		name, reply string
		head        bool
		status      int
		close       bool
		body        string
		err         bool
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, 200, false, "hello", false},
		{"body kept up to the limit", "HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\nhello world!", false, 200, false, "hello wo", false},
		{"chunked with extension and trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n", false, 200, false, "abcde", false},
		{"connection close", "HTTP/1.1 500 Oops\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false, 500, true, "", false},
		{"http/1.0 closes", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", false, 200, true, "ok", false},
		{"http/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", false, 200, false, "ok", false},
		{"body to EOF", "HTTP/1.1 200 OK\r\n\r\nuntil the end", false, 200, true, "until th", false},
		{"head ignores length", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", true, 200, false, "", false},
		{"204 has no body", "HTTP/1.1 204 No Content\r\n\r\n", false, 204, false, "", false},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", false, 200, true, "abc", true},
		{"not http", "SSH-2.0-OpenSSH\r\n", false, 0, true, "", true},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false, 200, true, "", true},
		{"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, 200, true, "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, closeAfter, body, err := wireReply(c.reply, c.head)
			if (err != nil) != c.err {
				t.Fatalf("err %v, want error %v", err, c.err)
			}
			if status != c.status || (!c.err && (closeAfter != c.close || body != c.body)) {
				t.Fatalf("got %d close=%v %q, want %d close=%v %q", status, closeAfter, body, c.status, c.close, c.body)
			}
		})
	}
}

func TestWireRequestBytes(t *testing.T) {
	r, err := NewRequest("POST", "http://127.0.0.1:8080/add/handle/?x=1", []byte("name=a"), map[string][]string{"Accept": {"application/json"}, "Content-Type": {"application/x-www-form-urlencoded"}})
	if err != nil {
		t.Fatal(err)
	}
	want := "POST /add/handle/?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: labctl\r\nAccept: application/json\r\n" +
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 6\r\n\r\nname=a"
	if string(r.raw) != want || r.addr != "127.0.0.1:8080" {
		t.Fatalf("got %q to %s, want %q", r.raw, r.addr, want)
	}
	if r, _ := NewRequest("GET", "http://example.test/", nil, nil); r.addr != "example.test:80" || strings.Contains(string(r.raw), "Content-Length") {
		t.Fatalf("default port or GET bytes wrong: %s %q", r.addr, r.raw)
	}
}

// FuzzWireReply: any reply parses to a result or an error, never a panic or
// a hang (the reader runs out and returns EOF).
func FuzzWireReply(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"HTTP/1.0 404 Not Found\r\n\r\nx",
	} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, reply string, head bool) {
		status, _, body, err := wireReply(reply, head)
		if err == nil && (status < 0 || status > 999) {
			t.Fatalf("status %d accepted", status)
		}
		if len(body) > 8 {
			t.Fatalf("kept %d bytes, limit 8", len(body))
		}
	})
}
