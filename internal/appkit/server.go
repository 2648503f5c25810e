package appkit

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// ShutdownGrace is how long a stopping server waits for requests in flight.
const ShutdownGrace = 10 * time.Second

// NewLogger returns a logger writing key=value lines to stderr, as systemd's
// journal and the local twin's log files both keep them.
func NewLogger(app string) *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, nil)).With("app", app)
}

// NewHTTPServer wraps h with the timeouts a server facing the internet needs:
// slow clients cannot hold connections or memory forever.
func NewHTTPServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// SignalContext is canceled by SIGINT or SIGTERM.
func SignalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// Serve runs srv on ln until ctx is done, then shuts it down gracefully,
// waiting up to ShutdownGrace for requests in flight.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener, logger *slog.Logger) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down", "grace", ShutdownGrace)
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ListenAndServe listens on addr and calls Serve.
func ListenAndServe(ctx context.Context, srv *http.Server, addr string, logger *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return Serve(ctx, srv, ln, logger)
}

// RunFunc is an app's body: parse args (usage to stderr), serve until ctx
// is canceled.
type RunFunc func(ctx context.Context, args []string, stderr io.Writer, logger *slog.Logger) error

// Main runs an app: a logger named after it, a context canceled by SIGINT or
// SIGTERM, the command-line arguments. -h prints the usage and exits 0; any
// other error is logged and exits 1.
func Main(app string, run RunFunc) {
	logger := NewLogger(app)
	ctx, stop := SignalContext()
	err := run(ctx, os.Args[1:], os.Stderr, logger)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		logger.Error("exit", "err", err)
		os.Exit(1)
	}
}
