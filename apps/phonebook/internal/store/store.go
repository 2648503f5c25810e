// Package store keeps the phone book's contacts behind one small interface
// with three backends: Riak KV over protocol buffers, Riak KV over HTTP, and
// an embedded bbolt file.
package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/cloudlabs/cloudlabs/apps/phonebook/internal/contact"
)

// ErrNotFound is returned by Get for a name that was never stored.
var ErrNotFound = errors.New("contact not found")

// MaxListLimit caps one call of List, so it is a bounded amount of work
// for every backend (the Riak ones fetch each listed object).
const MaxListLimit = 1000

// Store keeps contacts by name. Implementations are safe for concurrent use
// by many goroutines; Close must be called once, after the last other call.
type Store interface {
	// Get returns the contact stored under name, or ErrNotFound.
	Get(ctx context.Context, name string) (contact.Contact, error)
	// Put stores c under c.Name, replacing any older number.
	Put(ctx context.Context, c contact.Contact) error
	// List returns up to limit contacts (1..MaxListLimit) whose names sort
	// after the given name in byte order, ordered by name; after == "" starts
	// at the beginning.
	List(ctx context.Context, after string, limit int) ([]contact.Contact, error)
	// Close releases connections and files.
	Close() error
}

// Options tunes the network backends; the zero value is usable.
type Options struct {
	// Bucket is the Riak bucket (default "contacts").
	Bucket string
	// Timeout bounds one request to one Riak node (default 5s).
	Timeout time.Duration
}

// Schemes lists what Open understands, for error messages and --help.
const Schemes = "riak-pbc://host:8087[,host:8087...], riak-http://host:8098[,host:8098...], bolt:///absolute/path.db"

// Open returns the store a URL names: see Schemes.
func Open(rawURL string, opts Options) (Store, error) {
	if opts.Bucket == "" {
		opts.Bucket = "contacts"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("store URL %q: %w (allowed: %s)", rawURL, err, Schemes)
	}
	switch u.Scheme {
	case "bolt":
		if u.Host != "" || !strings.HasPrefix(u.Path, "/") {
			return nil, fmt.Errorf("store URL %q: bolt needs an absolute path with three slashes, as in bolt:///var/lib/phonebook/contacts.db", rawURL)
		}
		return OpenBolt(u.Path)
	case "riak-pbc", "riak-http":
		nodes, err := splitNodes(u)
		if err != nil {
			return nil, fmt.Errorf("store URL %q: %w", rawURL, err)
		}
		if u.Scheme == "riak-pbc" {
			return NewRiakPB(nodes, opts)
		}
		return NewRiakHTTP(nodes, opts)
	default:
		return nil, fmt.Errorf("store URL %q: unknown scheme %q (allowed: %s)", rawURL, u.Scheme, Schemes)
	}
}

// splitNodes reads the comma-separated host:port list of a Riak URL.
func splitNodes(u *url.URL) ([]string, error) {
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("unexpected path %q: list nodes as host:port[,host:port...]", u.Path)
	}
	var nodes []string
	for _, n := range strings.Split(u.Host, ",") {
		if n == "" {
			continue
		}
		if !strings.Contains(n, ":") {
			return nil, fmt.Errorf("node %q has no port (Riak listens on 8087 for protocol buffers, 8098 for HTTP)", n)
		}
		nodes = append(nodes, n)
	}
	if len(nodes) == 0 {
		return nil, errors.New("no nodes: list them as host:port[,host:port...]")
	}
	return nodes, nil
}

// checkLimit keeps List's contract identical across backends.
func checkLimit(limit int) error {
	if limit < 1 || limit > MaxListLimit {
		return fmt.Errorf("list limit %d out of range 1..%d", limit, MaxListLimit)
	}
	return nil
}
