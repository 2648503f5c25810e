package verify

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

// hook is a webhook on loopback that records the alerts it receives.
type hook struct {
	mu     sync.Mutex
	alerts []Alert
	srv    *httptest.Server
}

func newHook(t *testing.T) *hook {
	h := &hook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a Alert
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "want a JSON POST", http.StatusBadRequest)
			return
		}
		if err := json.NewDecoder(r.Body).Decode(&a); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.alerts = append(h.alerts, a)
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// take returns the alerts received since the last take.
func (h *hook) take() []Alert {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.alerts
	h.alerts = nil
	return a
}

// TestMonitorTwinBackendCriticalAndBackOneAlertEachWay drives the monitor
// with a test's ticker over a twin fleet: a backend killed by hand turns
// its checks CRITICAL with one webhook alert per check, nothing more while
// it stays down, and one alert per check back to OK once up restarts it.
func TestMonitorTwinBackendCriticalAndBackOneAlertEachWay(t *testing.T) {
	f := newFleet(t)
	h := newHook(t)
	ticks := make(chan time.Time)
	type round struct {
		n  int
		rs []Result
	}
	rounds := make(chan round)
	ctx, cancel := context.WithCancel(t.Context())
	t0 := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	var out strings.Builder
	var outMu sync.Mutex
	m := &Monitor{
		HTTP:        []Check{HTTPCheck(Endpoint{Machine: "fibonacci", Name: "http:lb-health", URL: f.lbURL + "/lb-health", Contains: "ok"}), LBBackends("fibonacci", f.lbURL, f.backends)},
		Verify:      func(context.Context) ([]Check, error) { return f.checks(t)[:8], nil }, // the backends' own checks
		VerifyEvery: 2,
		Runner:      Runner{Parallel: 4, Timeout: 20 * time.Second},
		Ticks:       ticks,
		Now:         func() time.Time { return t0 },
		Webhook:     h.srv.URL,
		Out:         writerFunc(func(b []byte) { outMu.Lock(); out.Write(b); outMu.Unlock() }),
		OnRound: func(n int, _ time.Time, rs []Result) {
			select {
			case rounds <- round{n, rs}:
			case <-ctx.Done():
			}
		},
	}
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	tick := func(i int) round {
		ticks <- t0.Add(time.Duration(i) * time.Minute)
		return <-rounds
	}

	r0 := <-rounds
	if len(r0.rs) != 10 {
		t.Fatalf("first round: %d results, want 2 HTTP + 8 verify checks", len(r0.rs))
	}
	if a := h.take(); len(a) != 0 {
		t.Fatalf("alerts on a healthy twin: %+v", a)
	}

	f.kill(t, f.nodes[1])
	// Round 1 runs the HTTP checks alone: the LB's list loses fib-2.
	if r := tick(1); len(r.rs) != 2 {
		t.Fatalf("round 1: %d results, want the 2 HTTP checks", len(r.rs))
	}
	// Round 2 adds the verify checks: fib-2's own go CRITICAL.
	tick(2)
	down := map[string]Alert{}
	for _, a := range h.take() {
		if _, dup := down[a.ID]; dup {
			t.Errorf("two alerts for %s while it went down", a.ID)
		}
		down[a.ID] = a
	}
	wantDown := []string{"fibonacci/lb-backends", "fib-2/service:fibonacci", "fib-2/port:fibonacci", "fib-2/health:fibonacci"}
	if len(down) != len(wantDown) {
		t.Errorf("%d alerts going down, want %d (%v): %+v", len(down), len(wantDown), wantDown, down)
	}
	for _, id := range wantDown {
		a, ok := down[id]
		if !ok || a.From != OK || a.To != Critical {
			t.Errorf("%s: alert %+v, want OK -> CRITICAL", id, a)
		}
	}
	if a := down["fibonacci/lb-backends"]; !a.At.Equal(t0.Add(time.Minute)) {
		t.Errorf("lb-backends went down at %v, want the first tick after the kill (%v)", a.At, t0.Add(time.Minute))
	}

	// Still down: no repeat.
	tick(3)
	tick(4)
	if a := h.take(); len(a) != 0 {
		t.Errorf("alerts repeated while the state held: %+v", a)
	}

	f.rig.up(f.nodes[1])
	// nginx rests a failed backend for fail_timeout (10s): wait until the
	// LB's list answers in full again before the next round.
	lbCheck := LBBackends("fibonacci", f.lbURL, f.backends)
	testkit.Eventually(t, "fib-2 answering through the LB again", 30*time.Second, func() bool {
		return lbCheck.Probe(t.Context()).Status == OK
	})
	tick(5)
	tick(6)
	back := map[string]Alert{}
	for _, a := range h.take() {
		if _, dup := back[a.ID]; dup {
			t.Errorf("two alerts for %s coming back", a.ID)
		}
		back[a.ID] = a
	}
	if len(back) != len(wantDown) {
		t.Errorf("%d alerts coming back, want %d: %+v", len(back), len(wantDown), back)
	}
	for _, id := range wantDown {
		if a, ok := back[id]; !ok || a.From != Critical || a.To != OK {
			t.Errorf("%s: alert %+v, want CRITICAL -> OK", id, a)
		}
	}
	outMu.Lock()
	printed := out.String()
	outMu.Unlock()
	if n := strings.Count(printed, "\n"); n != 2*len(wantDown) {
		t.Errorf("printed %d lines, want one per change (%d):\n%s", n, 2*len(wantDown), printed)
	}

	t.Run("charts every check's latency and status", func(t *testing.T) {
		dir := t.TempDir()
		files, err := m.WriteCharts(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != 10 {
			t.Fatalf("%d charts, want one per check (10)", len(files))
		}
		b, err := os.ReadFile(filepath.Join(dir, ChartFile("fib-2/service:fibonacci")))
		if err != nil {
			t.Fatal(err)
		}
		if err := xml.Unmarshal(b, new(struct{})); err != nil {
			t.Errorf("chart is not XML: %v", err)
		}
		if !strings.Contains(string(b), "fib-2/service:fibonacci") || !strings.Contains(string(b), "status ×100") {
			t.Errorf("chart lacks its title or status series")
		}
		// fib-2's service was CRITICAL in rounds 2 and 4 (the verify
		// rounds while it was down): status 200 points.
		if h := m.History()["fib-2/service:fibonacci"]; len(h) != 4 || h[1].Status != Critical || h[2].Status != Critical || h[3].Status != OK {
			t.Errorf("history of fib-2/service:fibonacci: %+v, want OK, CRITICAL, CRITICAL, OK", h)
		}
	})
}

type writerFunc func([]byte)

func (w writerFunc) Write(b []byte) (int, error) { w(b); return len(b), nil }
