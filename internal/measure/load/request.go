package load

import (
	"fmt"
	"net"
	"net/http"
)

// Request is one prepared request. It is built once and may be sent many
// times, concurrently: sending it allocates only a shallow copy and a body
// reader, which keeps the generator from being the bottleneck.
type Request struct {
	tmpl *http.Request
	body []byte
	// For the wire client (plain http:// only): the bytes to send, and the
	// host:port to send them to.
	raw  []byte
	addr string

	// Check, when set, is called with the status and body (first MaxCheckBody
	// bytes) of every 2xx reply; an error counts the request as failed with
	// kind "body mismatch". It must be safe for concurrent use.
	Check func(status int, body []byte) error
}

// MaxCheckBody bounds how much of a reply Check sees; the rest is discarded.
const MaxCheckBody = 64 << 10

// NewRequest prepares method url with body (nil for none) and headers.
func NewRequest(method, url string, body []byte, header http.Header) (*Request, error) {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return nil, fmt.Errorf("prepare %s %s: %w", method, url, err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if len(body) > 0 {
		req.ContentLength = int64(len(body))
	}
	r := &Request{tmpl: req, body: body}
	if req.URL.Scheme == "http" {
		r.raw = wireRequest(req, body)
		r.addr = req.URL.Host
		if req.URL.Port() == "" {
			r.addr = net.JoinHostPort(req.URL.Hostname(), "80")
		}
	}
	return r, nil
}
