// Command cachenode is one node of the elastic memcache pool: a memcached
// text-protocol server with a byte capacity and eviction policy that can be
// changed at run time over an HTTP admin API.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/cloudlabs/cloudlabs/apps/cachenode/internal/admin"
	"github.com/cloudlabs/cloudlabs/apps/cachenode/internal/cache"
	"github.com/cloudlabs/cloudlabs/apps/cachenode/internal/node"
	"github.com/cloudlabs/cloudlabs/apps/cachenode/internal/protocol"
	"github.com/cloudlabs/cloudlabs/apps/cachenode/internal/window"
	"github.com/cloudlabs/cloudlabs/internal/appkit"
)

func main() {
	appkit.Main("cachenode", func(ctx context.Context, args []string, stderr io.Writer, logger *slog.Logger) error {
		return run(ctx, args, stderr, logger, nil)
	})
}

// sizeFlag is a byte count flag accepting units (64MB, 512KB, 1GB).
type sizeFlag struct{ n int64 }

func (s *sizeFlag) String() string { return cache.FormatSize(s.n) }
func (s *sizeFlag) Set(v string) error {
	n, err := cache.ParseSize(v)
	if err != nil {
		return err
	}
	s.n = n
	return nil
}

// options are the parsed flags.
type options struct {
	listen, admin string
	adminToken    string // contents of --admin-token-file, trimmed; "" refuses admin writes
	capacity      sizeFlag
	policy        cache.Policy
	maxConns      int
	maxItem       sizeFlag
	threads       int
	goroutines    bool // --net goroutine: the netpoller layer instead of event loops
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	o := options{capacity: sizeFlag{64 << 20}, maxItem: sizeFlag{protocol.DefaultMaxItemSize}}
	fs := flag.NewFlagSet("cachenode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listen, "listen", ":11211", "memcached text protocol address, host:port")
	fs.StringVar(&o.admin, "admin-listen", defaultAdmin,
		`HTTP admin API address, host:port; host "private" means this machine's first private (RFC 1918 or ULA) address; "" disables the API`)
	legacyAdmin := fs.String("admin", "", "deprecated name of -admin-listen")
	tokenFile := fs.String("admin-token-file", "", "file holding the bearer token that admin writes (PUT /config, POST /clear) must carry; without it writes are refused")
	fs.Var(&o.capacity, "capacity", "bytes of items kept before evicting (units B, KB, MB, GB); changeable via PUT /config")
	policy := fs.String("policy", "lru", "eviction policy: "+strings.Join(cache.PolicyNames(), ", ")+"; changeable via PUT /config")
	fs.IntVar(&o.maxConns, "max-conns", node.DefaultMaxConns, "open protocol connections allowed (memcached -c)")
	fs.Var(&o.maxItem, "max-item-size", "largest value accepted (memcached -I)")
	fs.IntVar(&o.threads, "threads", 0, "CPU threads to use (GOMAXPROCS, memcached -t); 0 means all")
	netLayer := fs.String("net", "eventloop", `network layer: "eventloop" (epoll loops, one per thread) or "goroutine" (a goroutine per connection on Go's netpoller, for comparison)`)
	if err := appkit.Parse(fs, "CACHENODE", args); err != nil {
		return o, fmt.Errorf("flags: %w", err)
	}
	set := map[string]bool{} // given on the command line or in the environment
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["admin"] {
		if set["admin-listen"] && *legacyAdmin != o.admin {
			return o, fmt.Errorf("flags -admin %q and -admin-listen %q disagree: set only -admin-listen", *legacyAdmin, o.admin)
		}
		o.admin = *legacyAdmin
	}
	if o.admin != "" {
		if _, _, err := net.SplitHostPort(o.admin); err != nil {
			return o, fmt.Errorf("flag -admin-listen %q: want host:port, private:port or \"\" to disable: %v", o.admin, err)
		}
	}
	if *tokenFile != "" {
		tok, err := readToken(*tokenFile)
		if err != nil {
			return o, fmt.Errorf("flag -admin-token-file: %w", err)
		}
		o.adminToken = tok
	}
	if o.capacity.n > cache.MaxCapacity {
		return o, fmt.Errorf("flag -capacity %s: want 0B to %s", cache.FormatSize(o.capacity.n), cache.FormatSize(cache.MaxCapacity))
	}
	p, err := cache.ParsePolicy(*policy)
	if err != nil {
		return o, fmt.Errorf("flag -policy: %w", err)
	}
	o.policy = p
	if o.maxConns < 1 {
		return o, fmt.Errorf("flag -max-conns %d: want at least 1", o.maxConns)
	}
	if o.maxItem.n < 1 || o.maxItem.n > 1<<30 {
		return o, fmt.Errorf("flag -max-item-size %d: want 1B to 1GB", o.maxItem.n)
	}
	switch *netLayer {
	case "eventloop":
	case "goroutine":
		o.goroutines = true
	default:
		return o, fmt.Errorf("flag -net %q: want eventloop or goroutine", *netLayer)
	}
	if o.threads < 0 {
		return o, fmt.Errorf("flag -threads %d: want 0 or more", o.threads)
	}
	return o, nil
}

// memoryLimit is the Go heap target for a cache budget: items plus a
// quarter for garbage plus a fixed allowance for buffers and the runtime.
// It saturates at math.MaxInt64 (no limit) instead of overflowing: a
// negative result would make debug.SetMemoryLimit keep the old limit.
func memoryLimit(capacity int64) int64 {
	const allowance = 64 << 20
	if capacity < 0 {
		capacity = 0
	}
	if capacity > (math.MaxInt64-allowance)/5*4 {
		return math.MaxInt64
	}
	return capacity + capacity/4 + allowance
}

func setMemoryLimit(capacity int64) { debug.SetMemoryLimit(memoryLimit(capacity)) }

// run serves until ctx is canceled. ready, if not nil, receives the
// protocol and admin addresses once both listen (tests use it).
func run(ctx context.Context, args []string, stderr io.Writer, logger *slog.Logger, ready chan<- [2]string) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	loops := o.threads
	if loops == 0 {
		loops = runtime.NumCPU()
	}
	if o.goroutines {
		runtime.GOMAXPROCS(loops)
	} else {
		// One event loop per thread, as memcached's -t worker threads, and
		// one P more for the runtime (node.Server.Loops says why).
		runtime.GOMAXPROCS(loops + 1)
	}
	started := time.Now()
	store := cache.New(cache.Config{Capacity: o.capacity.n, Policy: o.policy})
	setMemoryLimit(o.capacity.n)
	h := &node.Handler{Store: store, Started: started, MaxConns: o.maxConns, MaxItemSize: int(o.maxItem.n)}
	srv := &node.Server{Handler: h, MaxConns: o.maxConns, Logger: logger, Goroutines: o.goroutines, Loops: loops}

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.listen, err)
	}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("serving memcached protocol", "addr", ln.Addr().String(), "capacity", cache.FormatSize(o.capacity.n),
		"policy", o.policy.String(), "max_conns", o.maxConns, "threads", loops, "gomaxprocs", runtime.GOMAXPROCS(0), "goroutines", o.goroutines)

	requests := window.New(60)
	go sample(ctx, requests, store)

	adminAddr := ""
	adminCtx, stopAdmin := context.WithCancel(context.Background())
	defer stopAdmin()
	adminDone := make(chan struct{})
	if o.admin != "" {
		api := &admin.API{Store: store, Requests: requests, Started: started, Logger: logger, Token: o.adminToken,
			OnConfig: func(c int64, _ cache.Policy) { setMemoryLimit(c) }}
		addr, err := resolveAdminAddr(o.admin, net.InterfaceAddrs)
		if err != nil {
			_ = srv.Shutdown(context.Background())
			return fmt.Errorf("flag -admin-listen: %w", err)
		}
		aln, err := net.Listen("tcp", addr)
		if err != nil {
			_ = srv.Shutdown(context.Background())
			return fmt.Errorf("listen on %s: %w", addr, err)
		}
		adminAddr = aln.Addr().String()
		if o.adminToken == "" {
			logger.Warn("admin writes disabled: no -admin-token-file", "admin", adminAddr)
		}
		logger.Info("serving admin API", "addr", adminAddr, "writes", o.adminToken != "")
		go func() {
			defer close(adminDone)
			if err := appkit.Serve(adminCtx, appkit.NewHTTPServer(api.Handler(appkit.NewMetrics("cachenode")), logger), aln, logger); err != nil {
				errc <- fmt.Errorf("admin: %w", err)
			}
		}()
	} else {
		close(adminDone)
	}
	if ready != nil {
		ready <- [2]string{ln.Addr().String(), adminAddr}
	}

	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	logger.Info("shutting down", "grace", appkit.ShutdownGrace)
	stopAdmin()
	sctx, cancel := context.WithTimeout(context.Background(), appkit.ShutdownGrace)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil {
		logger.Warn("protocol shutdown", "err", serr)
	}
	<-adminDone
	if err != nil && !errors.Is(err, node.ErrServerClosed) {
		return err
	}
	return nil
}

// sample records the request total once a second for requests_last_minute.
func sample(ctx context.Context, w *window.Window, store *cache.Store) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	w.Record(store.Stats().Requests())
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.Record(store.Stats().Requests())
		}
	}
}
