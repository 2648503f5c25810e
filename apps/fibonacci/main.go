// Command fibonacci is the scaling lab's REST service: exact Fibonacci
// numbers over HTTP, memoized, with the request counter of the original.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"runtime/debug"

	"github.com/cloudlabs/cloudlabs/apps/fibonacci/internal/api"
	"github.com/cloudlabs/cloudlabs/internal/appkit"
)

func main() { appkit.Main("fibonacci", run) }

// run parses flags (or their FIBONACCI_* environment variables) and serves
// until ctx is canceled.
func run(ctx context.Context, args []string, stderr io.Writer, logger *slog.Logger) error {
	fs := flag.NewFlagSet("fibonacci", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", ":8080", "address to serve HTTP on, host:port")
	maxN := fs.Int("max-n", api.DefaultMaxN, fmt.Sprintf("largest n answered, 1 to %d (the memo grows with its square)", api.LimitMaxN))
	limit := memoryLimit{auto: true}
	fs.Var(&limit, "memory-limit", "soft memory limit for the Go runtime: auto (1.5x the memo at max-n, plus 32MiB), off, or a size such as 512MiB")
	if err := appkit.Parse(fs, "FIBONACCI", args); err != nil {
		return fmt.Errorf("flags: %w", err)
	}
	if *maxN < 1 { // api.Config reads 0 as "the default": refuse it here
		return fmt.Errorf("max-n %d: must be from 1 to %d", *maxN, api.LimitMaxN)
	}
	m := appkit.NewMetrics("fibonacci")
	srv, err := api.New(api.Config{MaxN: *maxN, Metrics: m})
	if err != nil {
		return err
	}
	limitBytes, err := limit.resolve(srv.MaxN())
	if err != nil {
		return err
	}
	debug.SetMemoryLimit(limitBytes)
	logger.Info("starting", "listen", *listen, "max_n", srv.MaxN(), "memory_limit", limitText(limitBytes))
	return appkit.ListenAndServe(ctx, appkit.NewHTTPServer(srv, logger), *listen, logger)
}

// limitText is how the log shows the memory limit.
func limitText(b int64) string {
	if b == math.MaxInt64 {
		return "off"
	}
	return mib(b)
}
