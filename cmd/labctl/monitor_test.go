package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/verify"
)

// TestMonitorCommandAlertsOnceEachWayAndCharts wires monitor to a cloud
// stack's outputs (an LB on loopback that a test breaks and mends) with
// the interval replaced by a test's ticker: one webhook alert per check
// each way, none while the state holds, a chart per check.
func TestMonitorCommandAlertsOnceEachWayAndCharts(t *testing.T) {
	var broken atomic.Bool
	lb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if broken.Load() {
			http.Error(w, "upstream down", http.StatusBadGateway)
			return
		}
		switch r.URL.Path {
		case "/lb-health":
			fmt.Fprintln(w, "ok")
		case "/fibonacci":
			w.Header().Set("X-Backend", "10.0.0.5:8080")
			fmt.Fprintln(w, `{"value": 55}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(lb.Close)
	var mu sync.Mutex
	var alerts []verify.Alert
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a verify.Alert
		if err := json.NewDecoder(r.Body).Decode(&a); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		alerts = append(alerts, a)
		mu.Unlock()
	}))
	t.Cleanup(hook.Close)
	take := func() []verify.Alert {
		mu.Lock()
		defer mu.Unlock()
		a := alerts
		alerts = nil
		return a
	}

	ticks := make(chan time.Time)
	var asked time.Duration
	prev := newTicker
	newTicker = func(d time.Duration) (<-chan time.Time, func()) { asked = d; return ticks, func() {} }
	t.Cleanup(func() { newTicker = prev })

	tg := &target{name: "cloud", platform: "aws", outputs: verify.Outputs{
		"fibonacciUrl": lb.URL, "fibonacciBackends": []any{"10.0.0.5:8080"},
	}}
	charts := t.TempDir()
	var out strings.Builder
	m, stop, err := newMonitor(tg, monitorOpts{every: time.Minute, verifyEvery: 5 * time.Minute, webhook: hook.URL, charts: charts}, verify.Runner{}, &out)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if asked != time.Minute || m.VerifyEvery != 5 || m.Verify != nil {
		t.Fatalf("ticker %v, verify every %d ticks, verify %v; want 1m, 5, none on a cloud stack without SSH", asked, m.VerifyEvery, m.Verify != nil)
	}
	if len(m.HTTP) != 2 {
		t.Fatalf("%d outside checks, want lb-backends and http:lb-health", len(m.HTTP))
	}
	rounds := make(chan int)
	ctx, cancel := context.WithCancel(t.Context())
	onRound := m.OnRound
	m.OnRound = func(n int, at time.Time, rs []verify.Result) {
		onRound(n, at, rs)
		select {
		case rounds <- n:
		case <-ctx.Done():
		}
	}
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	tick := func() { ticks <- time.Now(); <-rounds }

	<-rounds
	if a := take(); len(a) != 0 {
		t.Fatalf("alerts while healthy: %+v", a)
	}
	broken.Store(true)
	tick()
	down := take()
	if len(down) != 2 {
		t.Fatalf("%d alerts going down, want 2 (one per check): %+v", len(down), down)
	}
	for _, a := range down {
		if a.From != verify.OK || a.To != verify.Critical {
			t.Errorf("%s: %s -> %s, want OK -> CRITICAL", a.ID, a.From, a.To)
		}
	}
	tick()
	if a := take(); len(a) != 0 {
		t.Errorf("alerts repeated while down: %+v", a)
	}
	broken.Store(false)
	tick()
	up := take()
	if len(up) != 2 {
		t.Fatalf("%d alerts coming back, want 2: %+v", len(up), up)
	}
	for _, a := range up {
		if a.From != verify.Critical || a.To != verify.OK {
			t.Errorf("%s: %s -> %s, want CRITICAL -> OK", a.ID, a.From, a.To)
		}
	}
	for _, id := range []string{"fibonacci/lb-backends", "fibonacci/http:lb-health"} {
		if _, err := os.Stat(filepath.Join(charts, verify.ChartFile(id))); err != nil {
			t.Errorf("chart of %s: %v", id, err)
		}
	}
	if n := strings.Count(out.String(), "\n"); n != 4 {
		t.Errorf("printed %d lines, want 4 (one per change):\n%s", n, out.String())
	}
}

// TestMonitorCloudWithSSHRunsVerify: with SSH open on a cloud stack, the
// monitor also runs verify's machine checks on their slower interval;
// without it (the test above) only the outside checks.
func TestMonitorCloudWithSSHRunsVerify(t *testing.T) {
	prev := newTicker
	newTicker = func(time.Duration) (<-chan time.Time, func()) { return make(chan time.Time), func() {} }
	t.Cleanup(func() { newTicker = prev })
	tg := &target{name: "cloud", platform: "aws", outputs: verify.Outputs{
		"fibonacciUrl": "http://192.0.2.10", "fibonacciBackends": []any{"10.0.0.5:8080"},
		"sshCommands": map[string]any{"fibonacci-lb": "ssh ubuntu@192.0.2.10"},
	}}
	m, stop, err := newMonitor(tg, monitorOpts{every: time.Minute, verifyEvery: 5 * time.Minute, charts: t.TempDir()}, verify.Runner{}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if m.Verify == nil {
		t.Fatal("a cloud stack with SSH open: the monitor runs no verify checks")
	}
}
