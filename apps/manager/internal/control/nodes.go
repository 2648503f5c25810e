package control

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// NodeClient calls cachenode's admin API. Safe for concurrent use.
type NodeClient struct {
	// Token authorizes writes (cachenode --admin-token-file).
	Token  string
	Client *http.Client
}

func (c *NodeClient) client() *http.Client {
	if c.Client == nil {
		return &http.Client{Timeout: 10 * time.Second}
	}
	return c.Client
}

func (c *NodeClient) do(ctx context.Context, method, admin, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+admin+path, rd)
	if err != nil {
		return err
	}
	if method != http.MethodGet {
		req.Header.Set("Authorization", "Bearer "+c.Token)
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", method, req.URL, resp.Status, strings.TrimSpace(string(b)))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// Configure sets a node's capacity and eviction policy (PUT /config).
func (c *NodeClient) Configure(ctx context.Context, admin string, capacity int64, policy string) error {
	return c.do(ctx, http.MethodPut, admin, "/config", map[string]any{"capacity_bytes": capacity, "policy": policy}, nil)
}

// Clear drops every item of a node (POST /clear).
func (c *NodeClient) Clear(ctx context.Context, admin string) error {
	return c.do(ctx, http.MethodPost, admin, "/clear", nil, nil)
}

// Stats is the part of cachenode's GET /stats the manager shows.
type Stats struct {
	Hits          int64   `json:"hits"`
	Misses        int64   `json:"misses"`
	MissRate      float64 `json:"miss_rate"`
	Items         int64   `json:"items"`
	Bytes         int64   `json:"bytes"`
	CapacityBytes int64   `json:"capacity_bytes"`
	Policy        string  `json:"policy"`
	Sets          int64   `json:"sets"`
	Evictions     int64   `json:"evictions"`
	Requests      int64   `json:"requests"`
}

// Stats reads a node's GET /stats.
func (c *NodeClient) Stats(ctx context.Context, admin string) (Stats, error) {
	var s Stats
	err := c.do(ctx, http.MethodGet, admin, "/stats", nil, &s)
	return s, err
}
