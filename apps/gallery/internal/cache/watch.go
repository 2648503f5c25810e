package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"
)

// Watcher follows the manager's pool membership: it polls GET
// <Manager>/api/pool and, when the epoch differs from the pool's, swaps in
// a view of the announced nodes. The manager owns the epoch; any change
// (not only an increase) means a new membership, so a manager whose
// database was reset is still followed.
type Watcher struct {
	Pool *Pool
	// Manager is the manager's base URL (http://manager:8080).
	Manager string
	// TokenFile, when set, holds a bearer token for the manager, read at
	// every poll so a rotated token is picked up.
	TokenFile string
	// Interval between polls (default 5s).
	Interval time.Duration
	Client   *http.Client // default: 5s timeout
	Logger   *slog.Logger

	etag string
}

// Membership is the manager's answer: {"epoch": 3, "nodes": [...], ...}.
// Nodes are "host:port" strings or objects with an "addr" field; other
// fields are ignored.
type Membership struct {
	Epoch int64         `json:"epoch"`
	Nodes []nodeAddress `json:"nodes"`
}

type nodeAddress string

func (n *nodeAddress) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*n = nodeAddress(s)
		return nil
	}
	var o struct {
		Addr string `json:"addr"`
	}
	if err := json.Unmarshal(b, &o); err != nil || o.Addr == "" {
		return fmt.Errorf("pool node %s: want \"host:port\" or {\"addr\": \"host:port\"}", b)
	}
	*n = nodeAddress(o.Addr)
	return nil
}

// Run polls until ctx is done; a failed poll is logged and retried at the
// next tick (the current view stays).
func (w *Watcher) Run(ctx context.Context) {
	interval := w.Interval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := w.Poll(ctx); err != nil && ctx.Err() == nil {
			w.logger().Warn("poll pool membership", "manager", w.Manager, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (w *Watcher) logger() *slog.Logger {
	if w.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Logger
}

// Poll asks the manager once and swaps the view if the epoch changed.
func (w *Watcher) Poll(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(w.Manager, "/")+"/api/pool", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if w.etag != "" {
		req.Header.Set("If-None-Match", w.etag)
	}
	if w.TokenFile != "" {
		tok, err := os.ReadFile(w.TokenFile)
		if err != nil {
			return fmt.Errorf("read manager token: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	}
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified {
		return nil
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s: %s: %s", req.URL, resp.Status, strings.TrimSpace(string(b)))
	}
	var m Membership
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&m); err != nil {
		return fmt.Errorf("decode %s: %w", req.URL, err)
	}
	if m.Epoch == NoEpoch {
		return errors.New("manager announced epoch -1, which the gallery reserves for static node lists")
	}
	if m.Epoch != w.Pool.Epoch() {
		nodes := make([]string, len(m.Nodes))
		for i, n := range m.Nodes {
			nodes[i] = string(n)
		}
		if err := w.Pool.SetNodes(m.Epoch, nodes); err != nil {
			return fmt.Errorf("epoch %d: %w", m.Epoch, err)
		}
	}
	w.etag = resp.Header.Get("ETag")
	return nil
}
