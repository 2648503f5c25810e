package supervise

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/twin/hostnet"
)

// Health is how a service says it is ready.
type Health struct {
	// Addr is host:port; "" means the service listens nowhere and is ready
	// once started.
	Addr string
	// Path, when set, must answer HTTP 200 on GET http://Addr/Path;
	// otherwise a TCP connect to Addr is the check.
	Path string
	// NetNS is the namespace (path) the probe connects from; "" is this
	// machine's. A host in its own namespace checks itself from inside,
	// where its firewall admits its own connections.
	NetNS string
}

// Check probes once.
func (h Health) Check(ctx context.Context) error {
	if h.Addr == "" {
		return nil
	}
	if h.Path == "" {
		c, err := h.dial(ctx, "tcp", h.Addr)
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
	client := http.DefaultClient
	if h.NetNS != "" {
		client = &http.Client{Transport: &http.Transport{DialContext: h.dial, DisableKeepAlives: true}}
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", req.URL, resp.StatusCode)
	}
	return nil
}

// dial connects from the probe's namespace, bounded at a second.
func (h Health) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return hostnet.DialContext(ctx, h.NetNS, network, addr)
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
