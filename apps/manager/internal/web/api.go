package web

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/cloudlabs/cloudlabs/apps/manager/internal/control"
	"github.com/cloudlabs/cloudlabs/apps/manager/internal/store"
	"github.com/cloudlabs/cloudlabs/internal/appkit"
	"github.com/cloudlabs/cloudlabs/internal/pool/autoscale"
	"github.com/cloudlabs/cloudlabs/internal/pool/poolapi"
)

// PoolView is GET /api/pool.
type PoolView = poolapi.Pool

func (s *Server) view(p store.Pool) PoolView {
	return PoolView{Epoch: p.Epoch, Mode: string(p.Policy.Mode), Nodes: s.Control.Addrs(p),
		MaxNodes: s.Control.MaxNodes(), CapacityBytes: p.CapacityBytes, Policy: p.CachePolicy}
}

// etag names one representation of the pool: the epoch and a hash of the
// whole answer (mode, capacity and policy change without an epoch).
func etag(v PoolView) string {
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return fmt.Sprintf(`"%d-%x"`, v.Epoch, sum[:8])
}

func (s *Server) internal(w http.ResponseWriter, err error) {
	s.logger().Error("request failed", "err", err)
	appkit.WriteError(w, http.StatusInternalServerError, err.Error())
}

// apiPool answers the membership. With If-None-Match equal to the current
// ETag it answers 304, or with ?wait=30s first waits (long poll) until the
// pool changes, up to that long.
func (s *Server) apiPool(w http.ResponseWriter, r *http.Request) {
	var wait time.Duration
	if q := r.URL.Query().Get("wait"); q != "" {
		d, err := time.ParseDuration(q)
		limit := s.MaxWait
		if limit <= 0 {
			limit = time.Minute
		}
		if err != nil || d <= 0 || d > limit {
			appkit.WriteError(w, http.StatusBadRequest, fmt.Sprintf("wait = %q: want a duration from 1s to %s, such as 30s", q, limit))
			return
		}
		wait = d
	}
	inm := r.Header.Get("If-None-Match")
	var deadline <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		deadline = t.C
	}
	for {
		// Subscribe before reading, so a change between the read and the
		// wait is not missed.
		changed := s.Notifier.Changed()
		p, err := s.Control.Store.Get(r.Context())
		if err != nil {
			s.internal(w, err)
			return
		}
		v := s.view(p)
		tag := etag(v)
		w.Header().Set("ETag", tag)
		w.Header().Set("Cache-Control", "no-cache")
		if inm != tag {
			appkit.WriteJSON(w, http.StatusOK, v)
			return
		}
		if deadline == nil {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		select {
		case <-changed:
		case <-deadline:
			w.WriteHeader(http.StatusNotModified)
			return
		case <-r.Context().Done():
			return
		}
	}
}

// step runs one manual resize and logs it with its cause.
func (s *Server) step(ctx context.Context, delta int, cause string) (control.Step, error) {
	st, err := s.Control.Step(ctx, delta)
	action := map[int]string{+1: "grow", -1: "shrink"}[delta]
	d := store.Decision{Cause: cause, Rule: action, From: st.From, To: st.To, Duration: st.Duration,
		Outcome: "resized", Reason: fmt.Sprintf("%s by one node from the %s: %d -> %d", action, cause, st.From, st.To),
		Inputs: map[string]any{"nodes": st.From, "max_nodes": s.Control.MaxNodes(), "epoch": st.Epoch}}
	switch {
	case errors.Is(err, control.ErrBound), errors.Is(err, control.ErrMode):
		d.Outcome, d.Reason = "refused", err.Error()
	case err != nil:
		d.Outcome = "failed: " + err.Error()
	}
	if rerr := s.Control.Store.AddDecision(context.WithoutCancel(ctx), d); rerr != nil {
		s.logger().Error("record decision", "err", rerr)
	}
	return st, err
}

func (s *Server) apiStep(delta int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > 0 {
			appkit.WriteError(w, http.StatusBadRequest, "body: grow and shrink take no body (they move the pool by one node)")
			return
		}
		_, err := s.step(r.Context(), delta, "api")
		switch {
		case errors.Is(err, control.ErrBound), errors.Is(err, control.ErrMode):
			appkit.WriteError(w, http.StatusConflict, err.Error())
			return
		case err != nil:
			appkit.WriteError(w, http.StatusBadGateway, err.Error())
			return
		}
		p, err := s.Control.Store.Get(r.Context())
		if err != nil {
			s.internal(w, err)
			return
		}
		appkit.WriteJSON(w, http.StatusOK, s.view(p))
	}
}

// PolicyJSON is GET and PUT /api/policy.
type PolicyJSON = poolapi.Policy

func toJSON(p autoscale.Policy) PolicyJSON {
	return PolicyJSON{Mode: string(p.Mode), MaxMissRate: p.MaxMissRate, MinMissRate: p.MinMissRate,
		ExpandRatio: p.ExpandRatio, ShrinkRatio: p.ShrinkRatio, MinRequests: p.MinRequests, Cooldown: p.Cooldown.String(),
		SettleTolerance: p.SettleTolerance, RequireEvictions: p.RequireEvictions, RequireFit: p.RequireFit,
		FullFraction: p.FullFraction, MinNodes: p.MinNodes, MaxNodes: p.MaxNodes}
}

func fromJSON(j PolicyJSON) (autoscale.Policy, error) {
	cd, err := time.ParseDuration(j.Cooldown)
	if err != nil {
		return autoscale.Policy{}, fmt.Errorf("policy cooldown = %q: want a duration such as 5m or 0s (off)", j.Cooldown)
	}
	return autoscale.Policy{Mode: autoscale.Mode(j.Mode), MaxMissRate: j.MaxMissRate, MinMissRate: j.MinMissRate,
		ExpandRatio: j.ExpandRatio, ShrinkRatio: j.ShrinkRatio, MinRequests: j.MinRequests, Cooldown: cd,
		SettleTolerance: j.SettleTolerance, RequireEvictions: j.RequireEvictions, RequireFit: j.RequireFit,
		FullFraction: j.FullFraction, MinNodes: j.MinNodes, MaxNodes: j.MaxNodes}, nil
}

func (s *Server) apiGetPolicy(w http.ResponseWriter, r *http.Request) {
	p, err := s.Control.Store.Get(r.Context())
	if err != nil {
		s.internal(w, err)
		return
	}
	appkit.WriteJSON(w, http.StatusOK, toJSON(p.Policy))
}

// decodeJSON reads one JSON object onto v (fields left out keep v's
// values), refusing other content types, unknown fields and trailing data.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any, want string) (int, error) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return http.StatusUnsupportedMediaType, fmt.Errorf("Content-Type %q: want application/json with %s", r.Header.Get("Content-Type"), want)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return http.StatusBadRequest, fmt.Errorf("body: want %s: %v", want, err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return http.StatusBadRequest, errors.New("body: want exactly one JSON object, found more after it")
	}
	return 0, nil
}

// SetPolicy validates and stores a policy (the form and the API).
func (s *Server) setPolicy(ctx context.Context, p autoscale.Policy) (store.Pool, error) {
	if err := p.Validate(); err != nil {
		return store.Pool{}, err
	}
	return s.Control.Store.SetPolicy(ctx, p)
}

func (s *Server) apiPutPolicy(w http.ResponseWriter, r *http.Request) {
	cur, err := s.Control.Store.Get(r.Context())
	if err != nil {
		s.internal(w, err)
		return
	}
	j := toJSON(cur.Policy)
	if code, err := decodeJSON(w, r, &j, `{"mode": "manual"|"auto", "max_miss_rate": 0.5, "min_miss_rate": 0.1, "expand_ratio": 2, "shrink_ratio": 0.5, ...} (fields left out keep their values)`); err != nil {
		appkit.WriteError(w, code, err.Error())
		return
	}
	p, err := fromJSON(j)
	if err == nil {
		_, err = s.setPolicy(r.Context(), p)
	}
	if err != nil {
		appkit.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.logger().Info("policy changed", "mode", p.Mode, "max_miss_rate", p.MaxMissRate, "min_miss_rate", p.MinMissRate)
	appkit.WriteJSON(w, http.StatusOK, toJSON(p))
}

// ConfigJSON is GET and PUT /api/config, the body of cachenode's PUT /config.
type ConfigJSON struct {
	CapacityBytes *int64  `json:"capacity_bytes"`
	Policy        *string `json:"policy"`
}

func (s *Server) apiGetConfig(w http.ResponseWriter, r *http.Request) {
	p, err := s.Control.Store.Get(r.Context())
	if err != nil {
		s.internal(w, err)
		return
	}
	appkit.WriteJSON(w, http.StatusOK, ConfigJSON{CapacityBytes: &p.CapacityBytes, Policy: &p.CachePolicy})
}

func (s *Server) apiPutConfig(w http.ResponseWriter, r *http.Request) {
	var c ConfigJSON
	if code, err := decodeJSON(w, r, &c, `{"capacity_bytes": <bytes>, "policy": "lru"|"random"|"lfu"}`); err != nil {
		appkit.WriteError(w, code, err.Error())
		return
	}
	if c.CapacityBytes == nil || c.Policy == nil {
		appkit.WriteError(w, http.StatusBadRequest, `body: set both capacity_bytes and policy: {"capacity_bytes": <bytes>, "policy": "lru"|"random"|"lfu"}`)
		return
	}
	if err := control.CheckConfig(*c.CapacityBytes, *c.Policy); err != nil {
		appkit.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	p, err := s.Control.Configure(r.Context(), *c.CapacityBytes, *c.Policy)
	if err != nil {
		appkit.WriteError(w, http.StatusBadGateway, "remembered, but not every node took it: "+err.Error())
		return
	}
	appkit.WriteJSON(w, http.StatusOK, map[string]any{"capacity_bytes": p.CapacityBytes, "policy": p.CachePolicy, "nodes": s.Control.Addrs(p)})
}

func (s *Server) apiClear(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > 0 {
		appkit.WriteError(w, http.StatusBadRequest, "body: clear takes no body (it flushes every node)")
		return
	}
	n, err := s.Control.Clear(r.Context())
	if err != nil {
		appkit.WriteError(w, http.StatusBadGateway, err.Error())
		return
	}
	appkit.WriteJSON(w, http.StatusOK, map[string]any{"cleared": n})
}

// deleteAll clears every cache and the application's stored data.
func (s *Server) deleteAll(ctx context.Context) (int, error) {
	n, err := s.Control.Clear(ctx)
	if err != nil {
		return n, err
	}
	if s.DeleteData != nil {
		return n, s.DeleteData(ctx)
	}
	return n, nil
}

func (s *Server) apiDelete(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Confirm string `json:"confirm"`
	}
	if code, err := decodeJSON(w, r, &body, `{"confirm": "delete all data"}`); err != nil {
		appkit.WriteError(w, code, err.Error())
		return
	}
	if body.Confirm != "delete all data" {
		appkit.WriteError(w, http.StatusBadRequest, fmt.Sprintf(`confirm = %q: want exactly "delete all data"`, body.Confirm))
		return
	}
	n, err := s.deleteAll(r.Context())
	if err != nil {
		appkit.WriteError(w, http.StatusBadGateway, err.Error())
		return
	}
	appkit.WriteJSON(w, http.StatusOK, map[string]any{"cleared": n, "gallery": s.DeleteData != nil})
}

func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	q := r.URL.Query().Get(name)
	if q == "" {
		return def, nil
	}
	n, err := strconv.Atoi(q)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s = %q: want a whole number from %d to %d", name, q, lo, hi)
	}
	return n, nil
}

// PointJSON is one minute of GET /api/metrics.
type PointJSON struct {
	Time      time.Time `json:"time"`
	Nodes     int       `json:"nodes"`
	MissRate  *float64  `json:"miss_rate"` // null: no gets in the minute
	HitRate   *float64  `json:"hit_rate"`
	Items     float64   `json:"items"`
	Bytes     float64   `json:"bytes"`
	Requests  float64   `json:"requests"`
	Evictions float64   `json:"evictions"`
}

func (s *Server) apiMetrics(w http.ResponseWriter, r *http.Request) {
	minutes, err := intParam(r, "minutes", 30, 1, 1440)
	if err != nil {
		appkit.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	pts, err := s.series(r.Context(), minutes)
	if err != nil {
		appkit.WriteError(w, http.StatusBadGateway, "metric store: "+err.Error())
		return
	}
	out := make([]PointJSON, 0, len(pts))
	for _, p := range pts {
		j := PointJSON{Time: p.Time, Nodes: p.Nodes, Items: p.Items, Bytes: p.Bytes, Requests: p.Requests, Evictions: p.Evictions}
		if p.HasRate {
			j.MissRate, j.HitRate = &p.MissRate, &p.HitRate
		}
		out = append(out, j)
	}
	appkit.WriteJSON(w, http.StatusOK, map[string]any{"minutes": minutes, "step_seconds": 60, "points": out})
}

func (s *Server) apiDecisions(w http.ResponseWriter, r *http.Request) {
	limit, err := intParam(r, "limit", 100, 1, 1000)
	if err != nil {
		appkit.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	ds, err := s.Control.Store.Decisions(r.Context(), limit)
	if err != nil {
		s.internal(w, err)
		return
	}
	appkit.WriteJSON(w, http.StatusOK, map[string]any{"decisions": ds})
}
