package poolreport

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/pool/poolapi"
)

// Manager talks to the manager's API (apps/manager) with its bearer token.
// Safe for concurrent use.
type Manager struct {
	URL    string // base URL, http://host:port
	Token  string
	Client *http.Client // default: 2 minute timeout (a grow waits for the node)
}

// Pool is GET /api/pool.
type Pool = poolapi.Pool

// Policy is GET/PUT /api/policy, kept as the manager sends it so a restore
// puts back exactly what was there.
type Policy = poolapi.Policy

// NodeConfig is GET/PUT /api/config.
type NodeConfig struct {
	CapacityBytes int64  `json:"capacity_bytes"`
	Policy        string `json:"policy"`
}

// Decision is one entry of GET /api/decisions.
type Decision struct {
	ID      int64          `json:"id"`
	At      time.Time      `json:"at"`
	Cause   string         `json:"cause"`
	Rule    string         `json:"rule"`
	From    int            `json:"from_nodes"`
	To      int            `json:"to_nodes"`
	Outcome string         `json:"outcome"`
	Reason  string         `json:"reason"`
	Inputs  map[string]any `json:"inputs"`
}

// Resized reports whether the decision changed the pool's size.
func (d Decision) Resized() bool { return d.Outcome == "resized" && d.From != d.To }

// MissRate is the miss rate the autoscaler decided on, if it recorded one
// over a window that had gets (without gets it logs 0, which is no rate).
func (d Decision) MissRate() (float64, bool) {
	v, ok := d.Inputs["miss_rate"].(float64)
	if gets, known := d.Inputs["gets"].(float64); known && gets == 0 {
		return 0, false
	}
	return v, ok
}

func (m *Manager) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(m.URL, "/")+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+m.Token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c := m.Client
	if c == nil {
		c = &http.Client{Timeout: 2 * time.Minute}
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("manager %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("manager %s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(b, &e)
		if e.Error == "" {
			e.Error = strings.TrimSpace(string(b))
		}
		return &APIError{Op: method + " " + path, Status: resp.StatusCode, Message: e.Error}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("manager %s %s: decode: %w", method, path, err)
		}
	}
	return nil
}

// APIError is a non-200 answer of the manager.
type APIError struct {
	Op      string
	Status  int
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("manager %s: %d: %s", e.Op, e.Status, e.Message)
}

// Pool reads the membership.
func (m *Manager) Pool(ctx context.Context) (Pool, error) {
	var p Pool
	return p, m.do(ctx, http.MethodGet, "/api/pool", nil, &p)
}

// Grow adds one node and returns the new pool.
func (m *Manager) Grow(ctx context.Context) (Pool, error) {
	var p Pool
	return p, m.do(ctx, http.MethodPost, "/api/pool/grow", nil, &p)
}

// Shrink removes one node and returns the new pool.
func (m *Manager) Shrink(ctx context.Context) (Pool, error) {
	var p Pool
	return p, m.do(ctx, http.MethodPost, "/api/pool/shrink", nil, &p)
}

// Policy reads the autoscaler policy and mode.
func (m *Manager) Policy(ctx context.Context) (Policy, error) {
	var p Policy
	return p, m.do(ctx, http.MethodGet, "/api/policy", nil, &p)
}

// SetPolicy replaces the policy and mode.
func (m *Manager) SetPolicy(ctx context.Context, p Policy) (Policy, error) {
	var out Policy
	return out, m.do(ctx, http.MethodPut, "/api/policy", p, &out)
}

// Config reads the nodes' capacity and eviction policy.
func (m *Manager) Config(ctx context.Context) (NodeConfig, error) {
	var c NodeConfig
	return c, m.do(ctx, http.MethodGet, "/api/config", nil, &c)
}

// SetConfig sets every node's capacity and eviction policy.
func (m *Manager) SetConfig(ctx context.Context, c NodeConfig) error {
	return m.do(ctx, http.MethodPut, "/api/config", c, nil)
}

// Clear flushes every node.
func (m *Manager) Clear(ctx context.Context) error {
	return m.do(ctx, http.MethodPost, "/api/clear", nil, nil)
}

// Decisions returns up to limit decisions, oldest first.
func (m *Manager) Decisions(ctx context.Context, limit int) ([]Decision, error) {
	var out struct {
		Decisions []Decision `json:"decisions"`
	}
	if err := m.do(ctx, http.MethodGet, "/api/decisions?limit="+strconv.Itoa(limit), nil, &out); err != nil {
		return nil, err
	}
	ds := out.Decisions
	for i, j := 0, len(ds)-1; i < j; i, j = i+1, j-1 {
		ds[i], ds[j] = ds[j], ds[i]
	}
	return ds, nil
}

// Gallery talks to the gallery's lab API and reads its /metrics.
type Gallery struct {
	URL    string
	Client *http.Client // default: 30 s timeout
}

func (g *Gallery) client() *http.Client {
	if g.Client != nil {
		return g.Client
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// UploadBody is the multipart body of POST /api/upload and its content type.
func UploadBody(key, filename string, data []byte) (body []byte, contentType string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	_ = w.WriteField("key", key) // a bytes.Buffer never fails
	fw, _ := w.CreateFormFile("file", filename)
	_, _ = fw.Write(data)
	_ = w.Close()
	return b.Bytes(), w.FormDataContentType()
}

// KeyURL is the URL of POST /api/key/<key>.
func (g *Gallery) KeyURL(key string) string {
	return strings.TrimRight(g.URL, "/") + "/api/key/" + url.PathEscape(key)
}

// UploadURL is the URL of POST /api/upload.
func (g *Gallery) UploadURL() string { return strings.TrimRight(g.URL, "/") + "/api/upload" }

// Upload stores data under key.
func (g *Gallery) Upload(ctx context.Context, key, filename string, data []byte) error {
	body, ct := UploadBody(key, filename, data)
	return g.post(ctx, g.UploadURL(), ct, body)
}

// Read retrieves key once (the reply's content is discarded).
func (g *Gallery) Read(ctx context.Context, key string) error {
	return g.post(ctx, g.KeyURL(key), "", nil)
}

func (g *Gallery) post(ctx context.Context, u, ct string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := g.client().Do(req)
	if err != nil {
		return fmt.Errorf("gallery POST %s: %w", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("gallery POST %s: %w", u, err)
	}
	if err := CheckReply(resp.StatusCode, b); err != nil {
		return fmt.Errorf("gallery POST %s: %w", u, err)
	}
	return nil
}

// CheckReply accepts a lab API reply that says {"success": "true", ...}.
func CheckReply(status int, body []byte) error {
	if status != http.StatusOK || !bytes.HasPrefix(body, []byte(`{"success":"true"`)) {
		return fmt.Errorf("status %d: %.200s", status, body)
	}
	return nil
}

// CacheCounts is what the gallery's /metrics says about its cache.
type CacheCounts struct {
	Hits, Misses, Errors float64
	// ByNode counts lookups per node and result ("hit", "miss", "error").
	ByNode map[string]map[string]float64
	// Epoch is gallery_cache_epoch; HasEpoch is false on a gallery too old
	// to export it.
	Epoch    int64
	HasEpoch bool
	// Scheme is the label of gallery_cache_ring_info ("" when absent).
	Scheme string
}

// Lookups is Hits + Misses + Errors.
func (c CacheCounts) Lookups() float64 { return c.Hits + c.Misses + c.Errors }

// Sub is c - b, counter by counter (the epoch and scheme are c's).
func (c CacheCounts) Sub(b CacheCounts) CacheCounts {
	d := c
	d.Hits, d.Misses, d.Errors = c.Hits-b.Hits, c.Misses-b.Misses, c.Errors-b.Errors
	d.ByNode = map[string]map[string]float64{}
	for n, rs := range c.ByNode {
		d.ByNode[n] = map[string]float64{}
		for r, v := range rs {
			d.ByNode[n][r] = v - b.ByNode[n][r]
		}
	}
	return d
}

// Cache scrapes the gallery's /metrics.
func (g *Gallery) Cache(ctx context.Context) (CacheCounts, error) {
	u := strings.TrimRight(g.URL, "/") + "/metrics"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return CacheCounts{}, err
	}
	resp, err := g.client().Do(req)
	if err != nil {
		return CacheCounts{}, fmt.Errorf("gallery GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return CacheCounts{}, fmt.Errorf("gallery GET %s: %s", u, resp.Status)
	}
	return ParseCacheMetrics(resp.Body)
}

// ParseCacheMetrics reads the gallery's cache lines from Prometheus text
// exposition: gallery_cache_results_total{node,result}, gallery_cache_epoch
// and gallery_cache_ring_info{scheme}.
func ParseCacheMetrics(r io.Reader) (CacheCounts, error) {
	c := CacheCounts{ByNode: map[string]map[string]float64{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, labels, value, ok := sample(line)
		if !ok {
			continue
		}
		switch name {
		case "gallery_cache_results_total":
			node, res := labels["node"], labels["result"]
			if c.ByNode[node] == nil {
				c.ByNode[node] = map[string]float64{}
			}
			c.ByNode[node][res] += value
			switch res {
			case "hit":
				c.Hits += value
			case "miss":
				c.Misses += value
			case "error":
				c.Errors += value
			}
		case "gallery_cache_epoch":
			c.Epoch, c.HasEpoch = int64(value), true
		case "gallery_cache_ring_info":
			if value == 1 {
				c.Scheme = labels["scheme"]
			}
		}
	}
	return c, sc.Err()
}

// sample splits `name{a="x",b="y"} 12` (label values without escapes
// other than \" and \\, which the gallery's node names never hold).
func sample(line string) (name string, labels map[string]string, value float64, ok bool) {
	line = strings.TrimSpace(line)
	sp := strings.LastIndexByte(line, ' ')
	if sp < 0 {
		return "", nil, 0, false
	}
	v, err := strconv.ParseFloat(line[sp+1:], 64)
	if err != nil {
		return "", nil, 0, false
	}
	head := line[:sp]
	labels = map[string]string{}
	if i := strings.IndexByte(head, '{'); i >= 0 && strings.HasSuffix(head, "}") {
		name = head[:i]
		for _, kv := range splitLabels(head[i+1 : len(head)-1]) {
			k, val, _ := strings.Cut(kv, "=")
			if uq, err := strconv.Unquote(val); err == nil {
				val = uq
			}
			labels[k] = val
		}
	} else {
		name = head
	}
	return name, labels, v, true
}

func splitLabels(s string) []string {
	var out []string
	inQuote, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			inQuote = !inQuote
		case ',':
			if !inQuote {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}
