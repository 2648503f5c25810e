// Package admin is cachenode's HTTP control plane: JSON stats for the pool
// manager, run-time capacity and policy changes, clearing, health and
// Prometheus metrics.
package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/cloudlabs/cloudlabs/apps/cachenode/internal/cache"
	"github.com/cloudlabs/cloudlabs/apps/cachenode/internal/window"
	"github.com/cloudlabs/cloudlabs/internal/appkit"
)

// maxBody bounds PUT /config bodies; a config is a few dozen bytes.
const maxBody = 4 << 10

// API serves the admin endpoints for one store.
type API struct {
	Store    *cache.Store
	Requests *window.Window // per-second samples of Stats().Requests()
	Started  time.Time
	Logger   *slog.Logger
	// Token authorizes writes (PUT /config, POST /clear) sent as
	// "Authorization: Bearer <token>". Empty refuses every write.
	Token string
	// OnConfig, if set, runs after a successful config change (the node
	// uses it to move the Go memory limit along with the capacity).
	OnConfig func(capacity int64, policy cache.Policy)
}

// Stats is the GET /stats body, what the pool manager charts.
type Stats struct {
	Hits               int64   `json:"hits"`
	Misses             int64   `json:"misses"`
	HitRate            float64 `json:"hit_rate"`
	MissRate           float64 `json:"miss_rate"`
	Items              int64   `json:"items"`
	Bytes              int64   `json:"bytes"`
	Evictions          int64   `json:"evictions"`
	CapacityBytes      int64   `json:"capacity_bytes"`
	Capacity           string  `json:"capacity"`
	Policy             string  `json:"policy"`
	Gets               int64   `json:"gets"`
	Sets               int64   `json:"sets"`
	Requests           int64   `json:"requests"`
	RequestsLastMinute int64   `json:"requests_last_minute"`
	RequestsPerSecond  []int64 `json:"requests_per_second"`
	UptimeSeconds      int64   `json:"uptime_seconds"`
}

// Config is the GET and PUT /config body. In a PUT every field is
// optional; Capacity accepts units ("512MB") as an alternative to
// CapacityBytes.
type Config struct {
	CapacityBytes *int64  `json:"capacity_bytes,omitempty"`
	Capacity      *string `json:"capacity,omitempty"`
	Policy        *string `json:"policy,omitempty"`
}

// Handler routes the admin API on its own mux, instrumented with m.
func (a *API) Handler(m *appkit.Metrics) http.Handler {
	registerMetrics(m, a.Store)
	mux := http.NewServeMux()
	route := func(pattern, name string, h http.HandlerFunc) {
		mux.Handle(pattern, m.Instrument(name, h))
	}
	route("GET /stats", "stats", a.stats)
	route("GET /config", "config", a.getConfig)
	route("PUT /config", "config", a.guardWrite(a.putConfig))
	route("POST /clear", "clear", a.guardWrite(a.clear))
	route("GET /healthz", "healthz", appkit.Healthz)
	mux.Handle("GET /metrics", m.Handler())
	return mux
}

// Snapshot builds the /stats body.
func (a *API) Snapshot() Stats {
	s := a.Store.Stats()
	out := Stats{
		Hits: s.GetHits, Misses: s.GetMisses, HitRate: s.HitRate(), MissRate: s.MissRate(),
		Items: s.Items, Bytes: s.Bytes, Evictions: s.Evictions,
		CapacityBytes: s.Capacity, Capacity: cache.FormatSize(s.Capacity), Policy: s.Policy.String(),
		Gets: s.CmdGet, Sets: s.CmdSet, Requests: s.Requests(),
		RequestsPerSecond: []int64{},
	}
	if a.Requests != nil {
		out.RequestsLastMinute = a.Requests.Delta()
		out.RequestsPerSecond = a.Requests.PerSecond()
	}
	if !a.Started.IsZero() {
		out.UptimeSeconds = int64(time.Since(a.Started) / time.Second)
	}
	return out
}

func (a *API) stats(w http.ResponseWriter, _ *http.Request) {
	appkit.WriteJSON(w, http.StatusOK, a.Snapshot())
}

func (a *API) current() Config {
	c, p := a.Store.Capacity(), a.Store.Policy().String()
	human := cache.FormatSize(c)
	return Config{CapacityBytes: &c, Capacity: &human, Policy: &p}
}

func (a *API) getConfig(w http.ResponseWriter, _ *http.Request) {
	appkit.WriteJSON(w, http.StatusOK, a.current())
}

func (a *API) putConfig(w http.ResponseWriter, r *http.Request) {
	if msg := requireJSON(r); msg != "" {
		appkit.WriteError(w, http.StatusUnsupportedMediaType, msg)
		return
	}
	capacity, policy, err := a.parseConfig(io.LimitReader(r.Body, maxBody))
	if err != nil {
		appkit.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	// Policy first: if the capacity shrinks, its evictions use the new policy.
	a.Store.SetPolicy(policy)
	if err := a.Store.SetCapacity(capacity); err != nil {
		appkit.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	if a.OnConfig != nil {
		a.OnConfig(capacity, policy)
	}
	a.logger().Info("config changed", "capacity_bytes", capacity, "policy", policy.String())
	appkit.WriteJSON(w, http.StatusOK, a.current())
}

// parseConfig validates a PUT body against the current config, returning
// the complete new config.
func (a *API) parseConfig(body io.Reader) (int64, cache.Policy, error) {
	var c Config
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return 0, 0, fmt.Errorf("body: want JSON {\"capacity_bytes\": <bytes>, \"policy\": %q}: %v",
			strings.Join(cache.PolicyNames(), "|"), err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return 0, 0, errors.New("body: want exactly one JSON object, found more after it")
	}
	capacity, policy := a.Store.Capacity(), a.Store.Policy()
	if c.CapacityBytes == nil && c.Capacity == nil && c.Policy == nil {
		return 0, 0, errors.New("body: set at least one of capacity_bytes, capacity, policy")
	}
	if c.CapacityBytes != nil && c.Capacity != nil {
		return 0, 0, errors.New("body: set capacity_bytes or capacity, not both")
	}
	if c.CapacityBytes != nil {
		capacity = *c.CapacityBytes
	}
	if c.Capacity != nil {
		n, err := cache.ParseSize(*c.Capacity)
		if err != nil {
			return 0, 0, fmt.Errorf("capacity: %w", err)
		}
		capacity = n
	}
	if capacity < 0 || capacity > cache.MaxCapacity {
		field := fmt.Sprintf("capacity_bytes %d", capacity)
		if c.Capacity != nil {
			field = fmt.Sprintf("capacity %q", *c.Capacity)
		}
		return 0, 0, fmt.Errorf("%s: want 0 to %d bytes (%s)", field, cache.MaxCapacity, cache.FormatSize(cache.MaxCapacity))
	}
	if c.Policy != nil {
		p, err := cache.ParsePolicy(*c.Policy)
		if err != nil {
			return 0, 0, err
		}
		policy = p
	}
	return capacity, policy, nil
}

func (a *API) clear(w http.ResponseWriter, _ *http.Request) {
	a.Store.Clear()
	a.logger().Info("cache cleared")
	appkit.WriteJSON(w, http.StatusOK, map[string]string{"status": "cleared"})
}

func (a *API) logger() *slog.Logger {
	if a.Logger == nil {
		return slog.Default()
	}
	return a.Logger
}
