package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/cloudlabs/cloudlabs/apps/phonebook/internal/contact"
)

// RiakHTTP talks to Riak KV's HTTP API with net/http. Requests go
// round-robin over the nodes; a node that refuses or drops the connection
// is skipped for the next one. Safe for concurrent use.
type RiakHTTP struct {
	nodes  []string // base URLs, "http://host:port"
	next   atomic.Uint64
	client *http.Client
	opts   Options
}

// NewRiakHTTP makes a client for nodes (host:port each); it does not dial.
func NewRiakHTTP(nodes []string, opts Options) (*RiakHTTP, error) {
	s := &RiakHTTP{
		opts: opts,
		client: &http.Client{
			Timeout: opts.Timeout,
			Transport: &http.Transport{
				DialContext:         (&net.Dialer{Timeout: opts.Timeout}).DialContext,
				MaxIdleConns:        256,
				MaxIdleConnsPerHost: 64,
				IdleConnTimeout:     90 * time.Second,
			},
		},
	}
	for _, n := range nodes {
		s.nodes = append(s.nodes, "http://"+n)
	}
	return s, nil
}

// bucketPath is the bucket's URL path below a node.
func (s *RiakHTTP) bucketPath() string {
	return "/types/default/buckets/" + url.PathEscape(s.opts.Bucket)
}

// do sends one request to the next node, failing over to the following
// nodes on connection errors (not on HTTP errors, which Riak answered).
func (s *RiakHTTP) do(ctx context.Context, method, path string, header http.Header, body []byte) (*http.Response, error) {
	start := s.next.Add(1)
	var errs []error
	for i := range s.nodes {
		base := s.nodes[(start+uint64(i))%uint64(len(s.nodes))]
		req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("build riak request: %w", err)
		}
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := s.client.Do(req)
		if err == nil {
			return resp, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("no riak node answered: %w", errors.Join(errs...))
}

func (s *RiakHTTP) keyPath(name string) string {
	return s.bucketPath() + "/keys/" + url.PathEscape(name)
}

// Get implements Store.
func (s *RiakHTTP) Get(ctx context.Context, name string) (contact.Contact, error) {
	var c contact.Contact
	resp, err := s.do(ctx, http.MethodGet, s.keyPath(name), nil, nil)
	if err != nil {
		return c, fmt.Errorf("riak get %q: %w", name, err)
	}
	defer drain(resp)
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return c, ErrNotFound
	default:
		return c, fmt.Errorf("riak get %q: %w", name, statusError(resp))
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&c); err != nil {
		return c, fmt.Errorf("decode riak value %q: %w", name, err)
	}
	return c, nil
}

// Put implements Store. Without a vclock the default bucket type
// (allow_mult=false) makes the last write win, which is overwrite.
func (s *RiakHTTP) Put(ctx context.Context, c contact.Contact) error {
	v, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode %q: %w", c.Name, err)
	}
	h := http.Header{
		"Content-Type":              {contentType},
		"X-Riak-Index-" + indexName: {indexTerm(c.Name)},
	}
	resp, err := s.do(ctx, http.MethodPut, s.keyPath(c.Name), h, v)
	if err != nil {
		return fmt.Errorf("riak put %q: %w", c.Name, err)
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("riak put %q: %w", c.Name, statusError(resp))
	}
	return nil
}

// indexPage is the body of a 2i query.
type indexPage struct {
	Keys         []string `json:"keys"`
	Continuation string   `json:"continuation"`
}

// List implements Store with one paginated 2i range query
// (/index/name_bin/<lo>/<hi>?max_results=N), then parallel fetches.
func (s *RiakHTTP) List(ctx context.Context, after string, limit int) ([]contact.Contact, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	lo, hi := indexRange(after)
	path := s.bucketPath() + "/index/" + indexName + "/" + url.PathEscape(lo) + "/" + url.PathEscape(hi) +
		"?max_results=" + strconv.Itoa(limit)
	resp, err := s.do(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("riak 2i query after %q: %w", after, err)
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("riak 2i query after %q: %w", after, statusError(resp))
	}
	var page indexPage
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&page); err != nil {
		return nil, fmt.Errorf("decode riak 2i reply: %w", err)
	}
	return fetchAll(ctx, page.Keys, s.Get)
}

// Close implements Store.
func (s *RiakHTTP) Close() error {
	s.client.CloseIdleConnections()
	return nil
}

// statusError keeps the start of Riak's error body: it says what went wrong.
func statusError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return fmt.Errorf("riak answered %s: %s", resp.Status, bytes.TrimSpace(b))
}

// drain lets the connection be reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
}
