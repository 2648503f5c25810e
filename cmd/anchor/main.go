// Command anchor is the benchmark yardstick for the HTTP apps: the barest Go
// net/http handler, answering every request with one fixed body, served with
// the apps' production timeouts (appkit.NewHTTPServer).
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

	"github.com/cloudlabs/cloudlabs/internal/appkit"
)

func main() { appkit.Main("anchor", run) }

// run parses flags (or their ANCHOR_* environment variables) and serves
// until ctx is canceled.
func run(ctx context.Context, args []string, stderr io.Writer, logger *slog.Logger) error {
	fs := flag.NewFlagSet("anchor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8081", "address to serve on")
	body := fs.String("body", "", "the fixed reply, byte for byte (required)")
	contentType := fs.String("content-type", "application/json", "the reply's Content-Type")
	if err := appkit.Parse(fs, "ANCHOR", args); err != nil {
		return fmt.Errorf("flags: %w", err)
	}
	// An empty default would let a benchmark compare against a server that
	// does less work than the one measured: the body must be said.
	if *body == "" {
		return errors.New("flags: --body is required")
	}
	return appkit.ListenAndServe(ctx, appkit.NewHTTPServer(fixed([]byte(*body), *contentType), logger), *listen, logger)
}

// fixed answers every request, whatever its method and path, with body.
func fixed(body []byte, contentType string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	})
}
