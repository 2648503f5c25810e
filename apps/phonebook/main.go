// Command phonebook is the NoSQL lab's phone book: an HTML form and a JSON
// API over Riak KV (protocol buffers or HTTP) or an embedded bbolt file,
// with an optional memcached cache in front of reads.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/cloudlabs/cloudlabs/apps/phonebook/internal/cache"
	"github.com/cloudlabs/cloudlabs/apps/phonebook/internal/server"
	"github.com/cloudlabs/cloudlabs/apps/phonebook/internal/store"
	"github.com/cloudlabs/cloudlabs/internal/appkit"
)

func main() {
	appkit.Main("phonebook", func(ctx context.Context, args []string, stderr io.Writer, _ *slog.Logger) error {
		return run(ctx, args, stderr)
	})
}

// config is what the flags (or PHONEBOOK_* variables) say.
type config struct {
	listen       string
	storeURL     string
	bucket       string
	storeTimeout time.Duration
	memcached    string
	cacheTTL     time.Duration
	cacheTimeout time.Duration
}

func parse(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("phonebook", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.listen, "listen", ":8080", "address to serve HTTP on")
	fs.StringVar(&c.storeURL, "store", "bolt:///var/lib/phonebook/contacts.db", "where contacts live: "+store.Schemes)
	fs.StringVar(&c.bucket, "bucket", "contacts", "Riak bucket (in bucket type default)")
	fs.DurationVar(&c.storeTimeout, "store-timeout", 5*time.Second, "limit on one store call")
	fs.StringVar(&c.memcached, "memcached", "", "memcached host:port to cache reads in (empty: no cache)")
	fs.DurationVar(&c.cacheTTL, "cache-ttl", 10*time.Second, "how long a cached contact lives (whole seconds)")
	fs.DurationVar(&c.cacheTimeout, "cache-timeout", 100*time.Millisecond, "limit on one memcached call; past it the store answers")
	if err := appkit.Parse(fs, "PHONEBOOK", args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return c, nil
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, err := parse(args, stderr)
	if err != nil {
		return err
	}
	logger := appkit.NewLogger("phonebook")
	st, err := store.Open(cfg.storeURL, store.Options{Bucket: cfg.bucket, Timeout: cfg.storeTimeout})
	if err != nil {
		return fmt.Errorf("--store: %w", err)
	}
	defer func() {
		if err := st.Close(); err != nil {
			logger.Error("close store", "err", err)
		}
	}()
	srv := &server.Server{Store: st, Logger: logger, Metrics: appkit.NewMetrics("phonebook"), StoreTimeout: cfg.storeTimeout}
	if cfg.memcached != "" {
		c, err := cache.New(cfg.memcached, cache.Options{TTL: cfg.cacheTTL, Timeout: cfg.cacheTimeout})
		if err != nil {
			return fmt.Errorf("--memcached: %w", err)
		}
		defer c.Close()
		srv.Cache = c
	}
	logger.Info("starting", "store", cfg.storeURL, "memcached", cfg.memcached, "cache_ttl", cfg.cacheTTL)
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	// JSONErrors: requests net/http refuses itself get JSON errors too.
	return appkit.Serve(ctx, appkit.NewHTTPServer(srv.Handler(), logger), server.JSONErrors(ln), logger)
}
