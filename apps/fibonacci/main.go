// Command fibonacci is the scaling lab's REST service: exact Fibonacci
// numbers over HTTP, memoized, with the request counter of the original.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

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
	logger.Info("starting", "listen", *listen, "max_n", srv.MaxN())
	return appkit.ListenAndServe(ctx, appkit.NewHTTPServer(srv, logger), *listen, logger)
}
