package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/apps/manager/internal/managertest"
	"github.com/cloudlabs/cloudlabs/apps/manager/internal/store"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

const token = "manager-test-token"

type env struct {
	t   *testing.T
	rig *managertest.Rig
	srv *httptest.Server
	met *managertest.Metrics
}

func newEnv(t *testing.T, slots, initial int) *env {
	t.Helper()
	rig := managertest.New(t, slots, initial)
	ctx, cancel := context.WithCancel(context.Background())
	n := store.NewNotifier()
	go rig.Store.Listen(ctx, n, nil)
	met := &managertest.Metrics{}
	s := &Server{Control: rig.Control, Metrics: met, Notifier: n, Token: token}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() { srv.Close(); cancel() })
	return &env{t: t, rig: rig, srv: srv, met: met}
}

// call sends one API request with the token (unless tok is "") and
// decodes a JSON answer into out.
func (e *env) call(method, path, tok, ctype, body string, out any) (int, http.Header) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body == "" {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: %d %q is not JSON: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode, resp.Header
}

func (e *env) pool() PoolView {
	e.t.Helper()
	var v PoolView
	if code, _ := e.call("GET", "/api/pool", token, "", "", &v); code != 200 {
		e.t.Fatalf("GET /api/pool = %d", code)
	}
	return v
}

type apiErr struct {
	Error string `json:"error"`
}

func (e *env) wantError(method, path, tok, ctype, body string, code int, substr ...string) {
	e.t.Helper()
	var a apiErr
	got, _ := e.call(method, path, tok, ctype, body, &a)
	if got != code {
		e.t.Errorf("%s %s %s = %d %q, want %d", method, path, body, got, a.Error, code)
	}
	if a.Error == "" {
		e.t.Errorf("%s %s %s: no JSON error message", method, path, body)
	}
	for _, s := range substr {
		if !strings.Contains(a.Error, s) {
			e.t.Errorf("%s %s %s: error %q does not name %q", method, path, body, a.Error, s)
		}
	}
}

func addrs(r *managertest.Rig, n int) []string {
	var out []string
	for _, s := range r.Slots[:n] {
		out = append(out, s.Addr)
	}
	return out
}

func TestGrowShrinkChangeMembershipAndEpoch(t *testing.T) {
	e := newEnv(t, 3, 1)
	r := e.rig
	v0 := e.pool()
	if !slices.Equal(v0.Nodes, addrs(r, 1)) || v0.MaxNodes != 3 || v0.Mode != "manual" {
		t.Fatalf("initial pool %+v, want nodes %v, maxNodes 3, manual", v0, addrs(r, 1))
	}
	// Reconcile configured the running member with the remembered config
	// and parked the other slots.
	if s := r.Stats(t, 0); s.CapacityBytes != 16<<20 {
		t.Errorf("member capacity %d, want the remembered 16 MB", s.CapacityBytes)
	}
	if pid := r.Slots[1].Running(); pid != 0 {
		t.Errorf("slot 1 runs (pid %d) while parked", pid)
	}

	e.wantError("POST", "/api/pool/shrink", token, "", "", 409, "cannot shrink", "fewest allowed")

	var v PoolView
	if code, _ := e.call("POST", "/api/pool/grow", token, "", "", &v); code != 200 {
		t.Fatalf("grow = %d", code)
	}
	if got := e.pool(); !slices.Equal(got.Nodes, addrs(r, 2)) || got.Epoch != v0.Epoch+1 {
		t.Fatalf("after grow %+v, want nodes %v at epoch %d", got, addrs(r, 2), v0.Epoch+1)
	}
	if s := r.Stats(t, 1); s.CapacityBytes != 16<<20 || s.Policy != "lru" {
		t.Errorf("joined node config %d %s, want the remembered 16 MB lru", s.CapacityBytes, s.Policy)
	}
	e.call("POST", "/api/pool/grow", token, "", "", nil)
	e.wantError("POST", "/api/pool/grow", token, "", "", 409, "cannot grow", "maxNodes 3")
	if got := e.pool(); len(got.Nodes) != 3 || got.Epoch != v0.Epoch+2 {
		t.Fatalf("after refused grow %+v, want 3 nodes at epoch %d", got, v0.Epoch+2)
	}
	pid := r.Slots[2].Running()
	if code, _ := e.call("POST", "/api/pool/shrink", token, "", "", nil); code != 200 {
		t.Fatalf("shrink = %d", code)
	}
	if got := e.pool(); !slices.Equal(got.Nodes, addrs(r, 2)) || got.Epoch != v0.Epoch+3 {
		t.Fatalf("after shrink %+v, want nodes %v at epoch %d", got, addrs(r, 2), v0.Epoch+3)
	}
	testkit.WaitClosed(t, r.Slots[2].Addr, 10*time.Second)
	if r.Slots[2].Running() != 0 || !testkit.ProcessGone(pid) {
		t.Errorf("shrunk slot's process %d still runs", pid)
	}
	b, err := os.ReadFile(r.TargetsFile)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range r.Slots {
		if in := strings.Contains(string(b), s.Admin); in != (i < 2) {
			t.Errorf("targets file lists %s: %v, want %v:\n%s", s.Admin, in, i < 2, b)
		}
	}

	var ds struct{ Decisions []store.Decision }
	e.call("GET", "/api/decisions", token, "", "", &ds)
	var got []string
	for _, d := range slices.Backward(ds.Decisions) {
		got = append(got, d.Rule+" "+d.Outcome)
	}
	want := []string{"shrink refused", "grow resized", "grow resized", "grow refused", "shrink resized"}
	if len(got) != len(want) || !slices.Equal(got, want) {
		t.Errorf("decision log %q, want %q", got, want)
	}
	if len(ds.Decisions) > 0 && (ds.Decisions[0].Cause != "api" || ds.Decisions[0].From != 3 || ds.Decisions[0].To != 2) {
		t.Errorf("last decision %+v, want cause api 3 -> 2", ds.Decisions[0])
	}
}

func TestUnauthorizedWithoutToken(t *testing.T) {
	e := newEnv(t, 1, 1)
	routes := [][2]string{
		{"GET", "/api/pool"}, {"POST", "/api/pool/grow"}, {"POST", "/api/pool/shrink"}, {"GET", "/api/policy"},
		{"PUT", "/api/policy"}, {"GET", "/api/config"}, {"PUT", "/api/config"}, {"POST", "/api/clear"},
		{"POST", "/api/delete"}, {"GET", "/api/metrics"}, {"GET", "/api/decisions"},
	}
	if len(routes) != 11 {
		t.Fatalf("%d routes", len(routes))
	}
	for _, rt := range routes {
		e.wantError(rt[0], rt[1], "", "", "", 401, "no token")
		e.wantError(rt[0], rt[1], "wrong", "", "", 401, "wrong token")
	}
	// A refused grow changed nothing.
	if v := e.pool(); len(v.Nodes) != 1 {
		t.Errorf("nodes %v after unauthorized calls", v.Nodes)
	}
	// Pages send people to the sign-in form.
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(e.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Errorf("GET / without a session = %d to %q, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestBadRequestsGetJSONErrors(t *testing.T) {
	e := newEnv(t, 1, 1)
	const js = "application/json"
	cases := []struct {
		method, path, ctype, body string
		code                      int
		names                     []string
	}{
		{"GET", "/api/pool?wait=soon", "", "", 400, []string{`wait = "soon"`, "30s"}},
		{"GET", "/api/pool?wait=10m", "", "", 400, []string{`wait = "10m"`}},
		{"DELETE", "/api/pool", "", "", 405, []string{"use GET"}},
		{"GET", "/api/pool/grow", "", "", 405, []string{"use POST"}},
		{"POST", "/api/pool/grow", js, `{"by": 3}`, 400, []string{"no body"}},
		{"POST", "/api/pool/shrink", js, `{"by": 3}`, 400, []string{"no body"}},
		{"PUT", "/api/policy", "text/plain", `{}`, 415, []string{"application/json"}},
		{"PUT", "/api/policy", js, `{"mode": "sometimes"}`, 400, []string{"mode", `"sometimes"`, `"manual" or "auto"`}},
		{"PUT", "/api/policy", js, `{"min_miss_rate": 0.6, "max_miss_rate": 0.5}`, 400, []string{"min_miss_rate = 0.6", "less than max_miss_rate"}},
		{"PUT", "/api/policy", js, `{"expand_ratio": 0.5}`, 400, []string{"expand_ratio = 0.5", "more than 1"}},
		{"PUT", "/api/policy", js, `{"shrink_ratio": 1.5}`, 400, []string{"shrink_ratio = 1.5", "less than 1"}},
		{"PUT", "/api/policy", js, `{"cooldown": "later"}`, 400, []string{"cooldown", `"later"`}},
		{"PUT", "/api/policy", js, `{"max_miss": 0.5}`, 400, []string{"max_miss"}},
		{"PUT", "/api/policy", js, `{"max_miss_rate": "high"}`, 400, []string{"max_miss_rate"}},
		{"PUT", "/api/config", js, `{"capacity_bytes": -1, "policy": "lru"}`, 400, []string{"capacity_bytes = -1", "1 TB"}},
		{"PUT", "/api/config", js, `{"capacity_bytes": 1048576, "policy": "fifo"}`, 400, []string{`policy = "fifo"`, "lru, random, lfu"}},
		{"PUT", "/api/config", js, `{"policy": "lru"}`, 400, []string{"capacity_bytes and policy"}},
		{"PUT", "/api/config", js, `not json`, 400, []string{"body"}},
		{"PUT", "/api/config", "", `{"capacity_bytes": 1, "policy": "lru"}`, 415, []string{"application/json"}},
		{"POST", "/api/clear", js, `{"all": true}`, 400, []string{"no body"}},
		{"GET", "/api/clear", "", "", 405, []string{"use POST"}},
		{"POST", "/api/delete", js, `{"confirm": "yes"}`, 400, []string{`confirm = "yes"`, "delete all data"}},
		{"GET", "/api/metrics?minutes=0", "", "", 400, []string{`minutes = "0"`, "1 to 1440"}},
		{"GET", "/api/metrics?minutes=half", "", "", 400, []string{`minutes = "half"`}},
		{"GET", "/api/decisions?limit=-5", "", "", 400, []string{`limit = "-5"`}},
		{"GET", "/api/nodes", "", "", 404, []string{"no such API"}},
	}
	if len(cases) != 26 {
		t.Fatalf("%d cases", len(cases))
	}
	for _, c := range cases {
		e.wantError(c.method, c.path, token, c.ctype, c.body, c.code, c.names...)
	}
	// Nothing above changed the policy or the config.
	var p PolicyJSON
	e.call("GET", "/api/policy", token, "", "", &p)
	if p.Mode != "manual" || p.MaxMissRate != 0.5 || p.ExpandRatio != 2 {
		t.Errorf("policy changed by refused requests: %+v", p)
	}
}

func TestConfigChangesEveryNodeAndIsRemembered(t *testing.T) {
	e := newEnv(t, 3, 2)
	r := e.rig
	var out map[string]any
	if code, _ := e.call("PUT", "/api/config", token, "application/json", `{"capacity_bytes": 33554432, "policy": "lfu"}`, &out); code != 200 {
		t.Fatalf("PUT /api/config = %d %v", code, out)
	}
	for i := range 2 {
		if s := r.Stats(t, i); s.CapacityBytes != 32<<20 || s.Policy != "lfu" {
			t.Errorf("node %d GET /stats: %d %s, want 33554432 lfu", i, s.CapacityBytes, s.Policy)
		}
	}
	if v := e.pool(); v.CapacityBytes != 32<<20 || v.Policy != "lfu" {
		t.Errorf("GET /api/pool %+v, want capacityBytes 33554432, policy lfu", v)
	}
	if code, _ := e.call("POST", "/api/pool/grow", token, "", "", nil); code != 200 {
		t.Fatalf("grow = %d", code)
	}
	if s := r.Stats(t, 2); s.CapacityBytes != 32<<20 || s.Policy != "lfu" {
		t.Errorf("node that joined later: %d %s, want the remembered 33554432 lfu", s.CapacityBytes, s.Policy)
	}
}

func TestClearFlushesEveryNode(t *testing.T) {
	e := newEnv(t, 2, 2)
	r := e.rig
	for i := range 2 {
		if got := r.Memcache(t, i, "set k 0 0 1\r\nv\r\n"); !strings.HasPrefix(got, "STORED") {
			t.Fatalf("set on node %d: %q", i, got)
		}
	}
	var out map[string]any
	if code, _ := e.call("POST", "/api/clear", token, "", "", &out); code != 200 || out["cleared"] != float64(2) {
		t.Fatalf("POST /api/clear = %d %v, want 200 cleared 2", code, out)
	}
	for i := range 2 {
		if got := r.Memcache(t, i, "get k\r\n"); got != "END\r\n" {
			t.Errorf("node %d still has k after clear: %q", i, got)
		}
	}
}

func TestPoolETagAndLongPoll(t *testing.T) {
	e := newEnv(t, 2, 1)
	code, h := e.call("GET", "/api/pool", token, "", "", nil)
	tag := h.Get("ETag")
	if code != 200 || tag == "" {
		t.Fatalf("GET /api/pool = %d, ETag %q", code, tag)
	}
	get := func(path string) (int, PoolView) {
		req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("If-None-Match", tag)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return 0, PoolView{}
		}
		defer resp.Body.Close()
		var v PoolView
		_ = json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, v
	}
	if code, _ := get("/api/pool"); code != http.StatusNotModified {
		t.Errorf("If-None-Match current ETag = %d, want 304", code)
	}
	if code, _ := get("/api/pool?wait=1s"); code != http.StatusNotModified {
		t.Errorf("long poll without a change = %d, want 304 when the wait ends", code)
	}
	type answer struct {
		code int
		v    PoolView
	}
	done := make(chan answer, 1)
	go func() { c, v := get("/api/pool?wait=30s"); done <- answer{c, v} }()
	if code, _ := e.call("POST", "/api/pool/grow", token, "", "", nil); code != 200 {
		t.Fatalf("grow = %d", code)
	}
	select {
	case a := <-done:
		if a.code != 200 || len(a.v.Nodes) != 2 {
			t.Errorf("long poll answered %d %+v, want 200 with 2 nodes", a.code, a.v)
		}
	case <-time.After(25 * time.Second):
		t.Fatal("long poll did not return after the epoch changed")
	}
}

func TestPolicyAndModes(t *testing.T) {
	e := newEnv(t, 2, 1)
	var p PolicyJSON
	code, _ := e.call("PUT", "/api/policy", token, "application/json", `{"mode": "auto", "max_miss_rate": 0.4, "cooldown": "2m"}`, &p)
	if code != 200 || p.Mode != "auto" || p.MaxMissRate != 0.4 || p.Cooldown != "2m0s" || p.MinMissRate != 0.1 {
		t.Fatalf("PUT /api/policy = %d %+v, want auto, 0.4, 2m0s and min 0.1 kept", code, p)
	}
	if v := e.pool(); v.Mode != "auto" {
		t.Errorf("GET /api/pool mode %q, want auto", v.Mode)
	}
	e.wantError("POST", "/api/pool/grow", token, "", "", 409, "auto mode", "manual")
	e.call("PUT", "/api/policy", token, "application/json", `{"mode": "manual"}`, nil)
	if code, _ := e.call("POST", "/api/pool/grow", token, "", "", nil); code != 200 {
		t.Errorf("grow in manual mode = %d", code)
	}
}
