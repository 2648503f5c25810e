package promstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"gopkg.in/yaml.v3"

	"github.com/cloudlabs/cloudlabs/internal/pool/metrics"
)

// fakeNode serves /metrics under cachenode's names; every scrape advances
// its counters by one step, so the rates Prometheus sees are known.
type fakeNode struct {
	mu                                sync.Mutex
	hits, misses, evictions, requests float64
	step                              struct{ hits, misses, evictions float64 }
	items, bytes, capacity            float64
	srv                               *httptest.Server
}

func newFakeNode(t *testing.T, hits, misses, evictions, items, bytes, capacity float64) *fakeNode {
	// Counters start high so increase() never clamps its extrapolation at
	// zero, which would skew hits and misses differently.
	n := &fakeNode{hits: 1e6, misses: 1e6, evictions: 1e6, requests: 1e6, items: items, bytes: bytes, capacity: capacity}
	n.step.hits, n.step.misses, n.step.evictions = hits, misses, evictions
	reg := prometheus.NewRegistry()
	read := func(f *float64) func() float64 {
		return func() float64 { n.mu.Lock(); defer n.mu.Unlock(); return *f }
	}
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: metrics.Hits, Help: "h"}, read(&n.hits)),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: metrics.Misses, Help: "m"}, read(&n.misses)),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: metrics.Evictions, Help: "e"}, read(&n.evictions)),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: metrics.Requests, Help: "r"}, read(&n.requests)),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: metrics.Items, Help: "i"}, read(&n.items)),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: metrics.Bytes, Help: "b"}, read(&n.bytes)),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: metrics.Capacity, Help: "c"}, read(&n.capacity)),
	)
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	n.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.mu.Lock()
		n.hits += n.step.hits
		n.misses += n.step.misses
		n.evictions += n.step.evictions
		n.requests += n.step.hits + n.step.misses
		n.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(n.srv.Close)
	return n
}

func (n *fakeNode) addr() string { return strings.TrimPrefix(n.srv.URL, "http://") }

const aptLine = "apt-get install -y prometheus"

// startPrometheus runs the real Debian prometheus on 127.0.0.1 with config
// cfg and a temporary TSDB, and returns its URL once it is ready.
func startPrometheus(t *testing.T, cfg string) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus binary not found (%v): install it with `%s` (as root)", err, aptLine)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var out bytes.Buffer
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+t.TempDir(),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("prometheus output:\n%s", out.String())
		}
	})
	url := "http://" + addr
	waitFor(t, 30*time.Second, "prometheus ready at "+url, func() (bool, error) {
		select {
		case err := <-exited:
			return false, fmt.Errorf("prometheus exited: %v\n%s", err, out.String())
		default:
		}
		resp, err := http.Get(url + "/-/ready")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	return url
}

// waitFor polls cond every 200 ms until it holds, fails, or limit passes.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: not within %s", what, limit)
		}
		<-tick.C
	}
}

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

// TestPrometheusWindowAndSeries runs the real prometheus against two fake
// nodes. Production scrapes every 5 s and reads 1-minute windows; here the
// config scrapes every 1 s and the window is 10 s, the same PromQL over a
// range 6× shorter, so the test has ten samples per node in seconds instead
// of a minute.
func TestPrometheusWindowAndSeries(t *testing.T) {
	// a: 9 hits + 1 miss per scrape (10%); b: 1 hit + 1 miss (50%) and an
	// eviction. Pooled over the gets: 2 misses of 12 = 1/6; a mean of the
	// per-node rates would say 0.3.
	a := newFakeNode(t, 9, 1, 0, 10, 1000, 4096)
	b := newFakeNode(t, 1, 1, 1, 20, 3000, 8192)
	dir := t.TempDir()
	targets := filepath.Join(dir, "targets.json")
	if err := WriteTargets(targets, []Target{{Node: "node-1", Addr: a.addr()}}); err != nil {
		t.Fatal(err)
	}
	cfg, err := RenderConfig(ConfigArgs{TargetsFile: targets, ScrapeInterval: time.Second, RefreshInterval: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	url := startPrometheus(t, cfgPath)
	st, err := New(url)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const d = 10 * time.Second

	// The manager adds node-2: prometheus follows the targets file.
	if err := WriteTargets(targets, []Target{{Node: "node-1", Addr: a.addr()}, {Node: "node-2", Addr: b.addr()}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 40*time.Second, "10 s of samples from both nodes", func() (bool, error) {
		n, err := st.instant(ctx, `count(count_over_time(`+metrics.Hits+`[10s]) >= 9)`, time.Now())
		return n == 2, err
	})
	// Both nodes have had samples since at least 8 s before now.
	ready := time.Now()

	end := time.Now()
	w, err := st.Window(ctx, end, d)
	if err != nil {
		t.Fatal(err)
	}
	if w.Reporting != 2 {
		t.Errorf("Reporting = %d, want 2", w.Reporting)
	}
	rate, ok := w.MissRate()
	if !ok || !near(rate, 1.0/6, 0.02) {
		t.Errorf("miss rate = %v (ok %v; window %+v), want 1/6 pooled over gets", rate, ok, w)
	}
	// About 10 scrapes of each node: a 90+10, b 10+10 gets.
	if !near(w.Gets(), 120, 30) || !near(w.Requests, w.Gets(), 1e-6) {
		t.Errorf("gets %v requests %v, want about 120 each", w.Gets(), w.Requests)
	}
	if !near(w.Evictions, 10, 3) {
		t.Errorf("evictions = %v, want about 10 (b evicts one per scrape)", w.Evictions)
	}
	if w.Items != 30 || w.Bytes != 4000 || w.CapacityPerNode != 4096 {
		t.Errorf("items %v bytes %v capacity %v, want 30, 4000 and the smaller capacity 4096", w.Items, w.Bytes, w.CapacityPerNode)
	}

	// The dashboard's series, at 5 s steps over the last 20 s. Node a's
	// items change first, so the points place each sample at its step:
	// points from when both nodes reported to the change say 30 items, the
	// last says 130.
	changed := time.Now()
	a.mu.Lock()
	a.items = 110
	a.mu.Unlock()
	waitFor(t, 20*time.Second, "prometheus to see 130 items", func() (bool, error) {
		n, err := st.instant(ctx, `sum(`+metrics.Items+`)`, time.Now())
		return n == 130, err
	})
	end = time.Now()
	s, err := st.PoolSeries(ctx, end.Add(-20*time.Second), end, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Points) != 5 {
		t.Fatalf("%d points, want 5 (20 s at 5 s steps, both ends)", len(s.Points))
	}
	before := 0
	for _, p := range s.Points {
		if p.Time.Before(changed) && !p.Time.Before(ready.Add(-5*time.Second)) {
			before++
			if p.Items != 30 {
				t.Errorf("point at %v, before the change: %v items, want 30", p.Time, p.Items)
			}
		}
	}
	if before == 0 {
		t.Errorf("no point between 5 s before both nodes had 10 s of samples (%v) and the change (%v): prometheus took over 5 s to see the change", ready, changed)
	}
	last := s.Points[4]
	if !last.Time.Equal(end) {
		t.Errorf("last point at %v, want %v", last.Time, end)
	}
	if last.Nodes != 2 || !last.HasRate || !near(last.MissRate, 1.0/6, 0.04) || !near(last.HitRate, 5.0/6, 0.04) ||
		last.Items != 130 || last.Bytes != 4000 || !(last.Requests > 0) {
		t.Errorf("last point %+v, want 2 nodes, miss rate 1/6, hit rate 5/6, 130 items, 4000 bytes, requests", last)
	}
}

func TestPrometheusNoData(t *testing.T) {
	// A prometheus with no targets: the window says no node reported, the
	// series has its points, all without rates.
	dir := t.TempDir()
	targets := filepath.Join(dir, "targets.json")
	if err := WriteTargets(targets, nil); err != nil {
		t.Fatal(err)
	}
	cfg, err := RenderConfig(ConfigArgs{TargetsFile: targets, ScrapeInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := New(startPrometheus(t, cfgPath))
	if err != nil {
		t.Fatal(err)
	}
	end := time.Now()
	w, err := st.Window(context.Background(), end, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := w.MissRate(); w.Reporting != 0 || ok {
		t.Errorf("window %+v: want no node reporting and no miss rate", w)
	}
	s, err := st.PoolSeries(context.Background(), end.Add(-30*time.Minute), end, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Points) != 31 {
		t.Fatalf("%d points, want 31 (30 minutes at 1-minute steps, both ends)", len(s.Points))
	}
	for _, p := range s.Points {
		if p.Nodes != 0 || p.HasRate {
			t.Errorf("point %+v: want no nodes and no rate", p)
		}
	}
}

func TestRenderConfig(t *testing.T) {
	b, err := RenderConfig(ConfigArgs{TargetsFile: "/var/lib/cloudlabs/targets.json"})
	if err != nil {
		t.Fatal(err)
	}
	var c promConfig
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("rendered config is not YAML: %v\n%s", err, b)
	}
	if len(c.ScrapeConfigs) != 1 {
		t.Fatalf("%d scrape configs, want 1:\n%s", len(c.ScrapeConfigs), b)
	}
	sc := c.ScrapeConfigs[0]
	if sc.ScrapeInterval != "5s" || sc.ScrapeTimeout != "5s" || c.Global.ScrapeInterval != "5s" {
		t.Errorf("scrape interval %q timeout %q global %q, want 5s (the lab's period)", sc.ScrapeInterval, sc.ScrapeTimeout, c.Global.ScrapeInterval)
	}
	if sc.JobName != "cachenode" || len(sc.FileSDConfigs) != 1 || len(sc.FileSDConfigs[0].Files) != 1 ||
		sc.FileSDConfigs[0].Files[0] != "/var/lib/cloudlabs/targets.json" {
		t.Errorf("scrape config %+v: want job cachenode reading the targets file", sc)
	}
	if _, err := RenderConfig(ConfigArgs{TargetsFile: "/t.json", ScrapeInterval: 1500 * time.Millisecond}); err == nil ||
		!strings.Contains(err.Error(), "ScrapeInterval = 1.5s") {
		t.Errorf("1.5s interval: err %v, want one naming ScrapeInterval = 1.5s", err)
	}
	if _, err := RenderConfig(ConfigArgs{}); err == nil || !strings.Contains(err.Error(), "TargetsFile") {
		t.Errorf("no targets file: err %v, want one naming TargetsFile", err)
	}
}

func TestWriteTargets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "targets.json")
	err := WriteTargets(path, []Target{{Node: "node-2", Addr: "10.0.0.2:9100"}, {Node: "node-1", Addr: "10.0.0.1:9100"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var groups []targetGroup
	if err := json.Unmarshal(b, &groups); err != nil {
		t.Fatalf("targets file is not file_sd JSON: %v\n%s", err, b)
	}
	if len(groups) != 2 {
		t.Fatalf("%d groups, want 2:\n%s", len(groups), b)
	}
	for i, want := range []string{"node-1", "node-2"} {
		g := groups[i]
		if g.Labels["node"] != want || len(g.Targets) != 1 || g.Targets[0] != "10.0.0."+want[5:]+":9100" {
			t.Errorf("group %d = %+v, want node %s at 10.0.0.%s:9100", i, g, want, want[5:])
		}
	}
	if err := WriteTargets(path, []Target{{Node: "a", Addr: "x:1"}, {Node: "a", Addr: "y:1"}}); err == nil {
		t.Error("duplicate node: err nil, want an error")
	}
	if b2, _ := os.ReadFile(path); !bytes.Equal(b, b2) {
		t.Error("a refused write changed the file")
	}
}
