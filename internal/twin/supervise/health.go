package supervise

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Health is how a service says it is ready.
type Health struct {
	// Addr is host:port; "" means the service listens nowhere and is ready
	// once started.
	Addr string
	// Path, when set, must answer HTTP 200 on GET http://Addr/Path;
	// otherwise a TCP connect to Addr is the check.
	Path string
}

// Check probes once.
func (h Health) Check(ctx context.Context) error {
	if h.Addr == "" {
		return nil
	}
	if h.Path == "" {
		d := net.Dialer{Timeout: time.Second}
		c, err := d.DialContext(ctx, "tcp", h.Addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+h.Addr+h.Path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", req.URL, resp.StatusCode)
	}
	return nil
}

// waitHealthy polls until the health check passes, the process exits or
// the timeout passes.
func waitHealthy(ctx context.Context, spec Spec, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, spec.Timeout)
	defer cancel()
	var last error
	for {
		select {
		case <-exited:
			return errors.New("exited during startup")
		default:
		}
		if last = spec.Health.Check(ctx); last == nil {
			return nil
		}
		select {
		case <-exited:
			return errors.New("exited during startup")
		case <-ctx.Done():
			return fmt.Errorf("not healthy within %v: %w", spec.Timeout, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
