// Command anchor is the benchmark yardstick for the HTTP apps: the barest Go
// net/http handler, served with the apps' production timeouts
// (appkit.NewHTTPServer), answering every request with one fixed body
// (--body) or with the value of one memcached key read by one gomemcache Get
// per request (--memcached, --key): the least a cached read can cost.
//
// scripts/bench-fibonacci.sh and scripts/bench-phonebook.sh report each
// server's requests per second as a ratio to this program's, measured in the
// same run with the same reply.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/cloudlabs/cloudlabs/internal/appkit"
)

func main() { appkit.Main("anchor", run) }

// run parses flags (or their ANCHOR_* environment variables) and serves
// until ctx is canceled.
func run(ctx context.Context, args []string, stderr io.Writer, logger *slog.Logger) error {
	fs := flag.NewFlagSet("anchor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8081", "address to serve on")
	body := fs.String("body", "", "the fixed reply, byte for byte")
	mc := fs.String("memcached", "", "answer with the value of --key read from this memcached (host:port) instead of --body")
	key := fs.String("key", "", "the memcached key whose value is the reply (with --memcached)")
	contentType := fs.String("content-type", "application/json", "the reply's Content-Type")
	if err := appkit.Parse(fs, "ANCHOR", args); err != nil {
		return fmt.Errorf("flags: %w", err)
	}
	// An empty default would let a benchmark compare against a server that
	// does less work than the one measured: the reply must be said.
	var h http.Handler
	switch {
	case *mc != "" && *body != "":
		return errors.New("flags: --body and --memcached exclude each other: one reply source")
	case *mc != "":
		if *key == "" {
			return errors.New("flags: --memcached needs --key, the key whose value is the reply")
		}
		h = fromMemcached(memcache.New(*mc), *key, *contentType)
	case *body != "":
		h = fixed([]byte(*body), *contentType)
	default:
		return errors.New("flags: --body (a fixed reply) or --memcached with --key is required")
	}
	return appkit.ListenAndServe(ctx, appkit.NewHTTPServer(h, logger), *listen, logger)
}

// fromMemcached answers every request with key's value, read by one Get:
// a miss or a memcached error is a 502, so a broken yardstick never looks
// fast.
func fromMemcached(c *memcache.Client, key, contentType string) http.Handler {
	c.MaxIdleConns = 256 // as the phone book keeps (apps/phonebook/internal/cache)
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		it, err := c.Get(key)
		if err != nil {
			http.Error(w, "memcached: "+err.Error(), http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(it.Value)
	})
}

// fixed answers every request, whatever its method and path, with body.
func fixed(body []byte, contentType string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	})
}
