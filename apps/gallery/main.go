// Command gallery is the elastic-pool lab's image gallery: the lab's JSON
// API and pages for people, with images in an S3 bucket (AWS S3 or the
// twin's versitygw), the key → object mapping in PostgreSQL, and reads
// cached in a pool of memcached nodes routed by internal/pool/ring.
//
//	gallery [flags]      serve
//	gallery gc [flags]   delete orphaned objects once and exit
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/cloudlabs/cloudlabs/apps/gallery/internal/blob"
	"github.com/cloudlabs/cloudlabs/apps/gallery/internal/cache"
	"github.com/cloudlabs/cloudlabs/apps/gallery/internal/images"
	"github.com/cloudlabs/cloudlabs/apps/gallery/internal/meta"
	"github.com/cloudlabs/cloudlabs/apps/gallery/internal/server"
	"github.com/cloudlabs/cloudlabs/internal/appkit"
	"github.com/cloudlabs/cloudlabs/internal/pool/ring"
)

func main() {
	appkit.Main("gallery", run)
}

// config is what the flags (or GALLERY_* variables) say.
type config struct {
	gcOnly bool

	listen     string
	database   string
	endpoint   string
	region     string
	bucket     string
	accessKey  string
	secretKey  string
	createBkt  bool
	maxImage   int64
	timeout    time.Duration
	nodes      string
	manager    string
	tokenFile  string
	poll       time.Duration
	scheme     string
	cacheTO    time.Duration
	cacheTTL   time.Duration
	cacheItem  int
	gcAtStart  bool
	gcGrace    time.Duration
	storeLimit int64
}

func parse(args []string, stderr io.Writer) (config, error) {
	var c config
	if len(args) > 0 && args[0] == "gc" {
		c.gcOnly, args = true, args[1:]
	}
	fs := flag.NewFlagSet("gallery", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.listen, "listen", ":8080", "address to serve HTTP on")
	fs.StringVar(&c.database, "database", "", "PostgreSQL URL (postgres://user:pass@host:5432/db?sslmode=require); PG* variables fill what it leaves out")
	fs.StringVar(&c.endpoint, "s3-endpoint", "", "S3-compatible endpoint URL (versitygw: http://host:7070); empty: AWS S3. Setting it turns on path-style addressing")
	fs.StringVar(&c.region, "s3-region", "us-east-1", "S3 region")
	fs.StringVar(&c.bucket, "bucket", "", "bucket holding the images")
	fs.StringVar(&c.accessKey, "s3-access-key", "", "S3 access key; empty: the AWS SDK's default chain (AWS_ACCESS_KEY_ID, shared config, instance role)")
	fs.StringVar(&c.secretKey, "s3-secret-key", "", "S3 secret key (prefer the environment variable to the flag: flags show in ps)")
	fs.BoolVar(&c.createBkt, "create-bucket", false, "create the bucket at start if it does not exist (the twin; on clouds the stack creates it)")
	fs.Int64Var(&c.maxImage, "max-image", server.DefaultMaxImage, "largest image accepted, in bytes")
	fs.DurationVar(&c.timeout, "store-timeout", 20*time.Second, "limit on the storage work of one request")
	fs.StringVar(&c.nodes, "nodes", "", "memcached pool nodes host:port,... (static; --manager replaces them once it answers)")
	fs.StringVar(&c.manager, "manager", "", "manager base URL; the pool membership is polled from GET <manager>/api/pool")
	fs.StringVar(&c.tokenFile, "manager-token-file", "", "file holding the bearer token for the manager")
	fs.DurationVar(&c.poll, "manager-poll", 5*time.Second, "how often to poll the manager")
	fs.StringVar(&c.scheme, "ring", ring.SchemeLab, "key → node routing: "+strings.Join(ring.Schemes(), ", "))
	fs.DurationVar(&c.cacheTO, "cache-timeout", 100*time.Millisecond, "limit on one memcached call; past it the store answers")
	fs.DurationVar(&c.cacheTTL, "cache-ttl", 10*time.Minute, "how long a cached image lives")
	fs.IntVar(&c.cacheItem, "cache-max-item", 1<<20, "the nodes' item size limit (memcached -I); larger images are not cached")
	fs.BoolVar(&c.gcAtStart, "gc-at-start", true, "collect orphaned objects in the background at start")
	fs.DurationVar(&c.gcGrace, "gc-grace", time.Hour, "gc spares unreferenced objects younger than this (uploads in flight)")
	if err := appkit.Parse(fs, "GALLERY", args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	switch {
	case c.database == "":
		return c, errors.New("--database is required")
	case c.bucket == "":
		return c, errors.New("--bucket is required")
	case c.maxImage <= 0:
		return c, fmt.Errorf("--max-image %d: must be positive", c.maxImage)
	case c.tokenFile != "" && c.manager == "":
		return c, errors.New("--manager-token-file needs --manager")
	}
	c.storeLimit = c.maxImage
	return c, nil
}

func run(ctx context.Context, args []string, stderr io.Writer, logger *slog.Logger) error {
	cfg, err := parse(args, stderr)
	if err != nil {
		return err
	}
	metrics := appkit.NewMetrics("gallery")
	st, err := meta.Open(ctx, cfg.database)
	if err != nil {
		return fmt.Errorf("--database: %w", err)
	}
	defer st.Close()
	blobs, err := blob.Open(ctx, blob.Options{Bucket: cfg.bucket, Region: cfg.region, Endpoint: cfg.endpoint,
		AccessKey: cfg.accessKey, SecretKey: cfg.secretKey, MaxObject: cfg.storeLimit})
	if err != nil {
		return fmt.Errorf("bucket: %w", err)
	}
	if cfg.createBkt {
		if err := blobs.EnsureBucket(ctx); err != nil {
			return err
		}
	}
	pool, err := cache.New(cache.Options{Scheme: cfg.scheme, Timeout: cfg.cacheTO, TTL: cfg.cacheTTL,
		MaxItem: cfg.cacheItem, Registerer: metrics.Registry, Logger: logger})
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	svc := images.NewService(st, blobs, pool, logger, metrics.Registry)
	if cfg.gcOnly {
		_, err := svc.GC(ctx, cfg.gcGrace)
		return err
	}
	if cfg.nodes != "" {
		if err := pool.SetNodes(cache.NoEpoch, splitList(cfg.nodes)); err != nil {
			return fmt.Errorf("--nodes: %w", err)
		}
	}
	if cfg.manager != "" {
		w := &cache.Watcher{Pool: pool, Manager: cfg.manager, TokenFile: cfg.tokenFile, Interval: cfg.poll, Logger: logger}
		go w.Run(ctx)
	}
	if cfg.gcAtStart {
		go func() {
			if _, err := svc.GC(ctx, cfg.gcGrace); err != nil && ctx.Err() == nil {
				logger.Warn("gc at start", "err", err)
			}
		}()
	}
	// The pool manager's "delete all data" arrives as a row of
	// gallery_wipes in the database both share.
	go svc.RunWipes(ctx, time.Second)
	srv := &server.Server{Images: svc, Logger: logger, Metrics: metrics, MaxImage: cfg.maxImage, Timeout: cfg.timeout}
	logger.Info("starting", "bucket", cfg.bucket, "s3_endpoint", cfg.endpoint, "nodes", cfg.nodes, "manager", cfg.manager, "ring", cfg.scheme)
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	hs := appkit.NewHTTPServer(srv.Handler(), logger)
	// Uploads up to --max-image must fit in the read timeout on slow links.
	hs.ReadTimeout = 2 * time.Minute
	return appkit.Serve(ctx, hs, ln, logger)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
