package poolreport

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/measure/imageset"
	"github.com/cloudlabs/cloudlabs/internal/measure/poolreport/poolreporttest"
	"github.com/cloudlabs/cloudlabs/internal/pool/ring"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

// example, when set, also writes the report into docs/pool-report-example,
// the example the docs show: go test ./internal/measure/poolreport -run
// TestReportOnRealPool -example
var example = flag.Bool("example", false, "write TestReportOnRealPool's report into docs/pool-report-example")

// smallConfig keeps a full report to a few hundred requests per scenario.
func smallConfig(t *testing.T) Config {
	t.Helper()
	c := Defaults()
	sizes, err := imageset.ParseSizes("2KB:3,8KB:1")
	if err != nil {
		t.Fatal(err)
	}
	c.Seed, c.Images, c.Sizes = 42, 60, sizes
	c.Requests, c.Batch, c.Concurrency = 300, 30, 4
	c.N, c.M, c.Repeats = 3, 2, 2
	c.Sample, c.AutoTimeout, c.SettleChecks, c.PlainRule = 300*time.Millisecond, 2*time.Minute, 1, true
	c.HotKeys, c.MovementKeys, c.EpochWait = 10, 60, 30*time.Second
	return c
}

// TestReportOnRealPool runs every scenario against the real gallery,
// manager, autoscaler and cachenodes (4 slots, 2 active, lab scheme) and
// checks what the report says against what was sent, the ring's figures
// and the pool as it was left.
func TestReportOnRealPool(t *testing.T) {
	st := poolreporttest.Start(t, 4, 2, ring.SchemeLab)
	cfg := smallConfig(t)
	if *example {
		// Long enough runs for charts worth reading; still small SVGs.
		cfg.Images, cfg.MovementKeys, cfg.Requests, cfg.Batch, cfg.Concurrency = 200, 200, 4000, 100, 8
	}
	mgr := &Manager{URL: st.ManagerURL, Token: st.Token}
	gal := &Gallery{URL: st.GalleryURL}
	ctx := context.Background()
	found := readPoolState(t, mgr)

	var log strings.Builder
	r := &Runner{Config: cfg, Manager: mgr, Gallery: gal, Log: &log}
	rep, err := r.Run(ctx, nil)
	t.Logf("progress:\n%s", log.String())
	if err != nil {
		t.Fatal(err)
	}
	rep.Machine = ThisMachine()
	dir := t.TempDir()
	if err := WriteDir(dir, rep); err != nil {
		t.Fatal(err)
	}
	if *example {
		rep.Command = "go test ./internal/measure/poolreport -run TestReportOnRealPool -example (the test harness: real binaries on loopback)"
		if err := WriteDir(filepath.Join(testkit.ModuleRoot(t), "docs", "pool-report-example"), rep); err != nil {
			t.Fatal(err)
		}
	}
	if len(rep.Errors) != 0 || rep.Interrupted || len(rep.Left) != 0 {
		t.Fatalf("errors %q, interrupted %v, not restored %q", rep.Errors, rep.Interrupted, rep.Left)
	}

	t.Run("pool put back as found", func(t *testing.T) { found.check(t, mgr) })

	t.Run("manual runs count what was sent", func(t *testing.T) {
		ops, _ := Ops(int64(cfg.Seed), cfg.Images, cfg.Requests, Mix{ZipfS: cfg.ZipfS, Reads: cfg.Reads, Writes: cfg.Writes})
		reads := 0
		for _, op := range ops {
			if !op.Write {
				reads++
			}
		}
		if len(rep.Manual) != cfg.Repeats+2 {
			t.Fatalf("%d manual runs, want %d constant + shrink + grow", len(rep.Manual), cfg.Repeats)
		}
		for _, m := range rep.Manual {
			if len(m.Batches) != cfg.Requests/cfg.Batch {
				t.Errorf("%s run %d: %d latency points, want %d", m.Scenario, m.Run, len(m.Batches), cfg.Requests/cfg.Batch)
			}
			if m.Requests != cfg.Requests || m.Responses != cfg.Requests || m.Failed != 0 {
				t.Errorf("%s run %d: %d sent, %d answered, %d failed; want %d, %d, 0", m.Scenario, m.Run, m.Requests, m.Responses, m.Failed, cfg.Requests, cfg.Requests)
			}
			if last := m.Batches[len(m.Batches)-1].EndCount; last != int64(cfg.Requests) {
				t.Errorf("%s run %d: last point at %d requests, want %d", m.Scenario, m.Run, last, cfg.Requests)
			}
			// Every read is one cache get: a hit, a miss or an error;
			// uploads get nothing. A fill can fail too (the node left
			// mid-request during a resize), which also counts an error.
			hm := m.Cache.Hits + m.Cache.Misses
			if hm > float64(reads) || hm+m.Cache.Errors < float64(reads) || m.Scenario == Constant && hm != float64(reads) {
				t.Errorf("%s run %d: the gallery counted %.0f hits, %.0f misses, %.0f errors; the workload has %d reads", m.Scenario, m.Run, m.Cache.Hits, m.Cache.Misses, m.Cache.Errors, reads)
			}
			prev := int64(0)
			for _, tp := range m.Throughput {
				if tp.Most < prev || tp.Most < tp.FromStart || tp.Most > int64(cfg.Requests) {
					t.Errorf("%s run %d: window %.2fs: most %d, from start %d (previous most %d)", m.Scenario, m.Run, tp.WindowS, tp.Most, tp.FromStart, prev)
				}
				prev = tp.Most
			}
			wantResizes := map[string][2]int{Constant: {0, 0}, Shrink: {3, 2}, Grow: {2, 3}}[m.Scenario]
			if n := len(m.Resizes); n != abs(wantResizes[0]-wantResizes[1]) {
				t.Errorf("%s: %d resizes, want %d", m.Scenario, n, abs(wantResizes[0]-wantResizes[1]))
			}
			for _, z := range m.Resizes {
				if z.FromN != wantResizes[0] || z.ToN != wantResizes[1] || z.AtRequest < int64(cfg.Requests/2) || z.SwitchedS < z.DoneS {
					t.Errorf("%s: resize %+v: want %d→%d asked at request %d or later, switched after the manager answered", m.Scenario, z, wantResizes[0], wantResizes[1], cfg.Requests/2)
				}
			}
		}
		if rep.Noise == nil || rep.Noise.Runs != cfg.Repeats {
			t.Errorf("noise %+v: want %d runs", rep.Noise, cfg.Repeats)
		}
	})

	t.Run("autoscaler grows then shrinks", func(t *testing.T) {
		if len(rep.Auto) != 2 {
			t.Fatalf("%d automatic runs, want 2", len(rep.Auto))
		}
		for _, a := range rep.Auto {
			grow := a.Scenario == AutoGrow
			resized := 0
			for _, d := range a.Decisions {
				if d.Resized {
					resized++
					if (d.To > d.From) != grow {
						t.Errorf("%s: decision %d→%d goes the wrong way", a.Scenario, d.From, d.To)
					}
				}
			}
			if resized == 0 || !a.Settled {
				t.Errorf("%s: %d resizes, settled %v; decisions %+v", a.Scenario, resized, a.Settled, a.Decisions)
			}
			if grow && !(a.StartNodes == 1 && a.EndNodes > 1) || !grow && !(a.StartNodes == cfg.N && a.EndNodes < cfg.N) {
				t.Errorf("%s: %d → %d nodes", a.Scenario, a.StartNodes, a.EndNodes)
			}
			if a.Failed != 0 || a.Responses != a.Requests || a.Requests == 0 {
				t.Errorf("%s: %d sent, %d answered, %d failed", a.Scenario, a.Requests, a.Responses, a.Failed)
			}
			doc := parseSVG(t, readFile(t, dir, a.Scenario+".svg"))
			if doc.markers != resized {
				t.Errorf("%s.svg: %d markers, the log has %d resizes", a.Scenario, doc.markers, resized)
			}
			if doc.points["nodes"] != len(a.Points) || doc.points["autoscaler check"] != len(a.Decisions) {
				t.Errorf("%s.svg: points %v; %d samples, %d decisions", a.Scenario, doc.points, len(a.Points), len(a.Decisions))
			}
			if g := strings.Join(doc.texts["guide-label"], ","); !strings.Contains(g, "max threshold 0.50") || !strings.Contains(g, "min threshold 0.10") {
				t.Errorf("%s.svg: guides %q: want both thresholds", a.Scenario, g)
			}
		}
	})

	t.Run("measured movement is the ring's for these keys", func(t *testing.T) {
		mv := rep.Movement
		if mv == nil || mv.Scheme != ring.SchemeLab {
			t.Fatalf("movement %+v: want the lab scheme measured", mv)
		}
		// 4 slots: 1→2, 2→3, 3→4, 4→3, 3→2, 2→1.
		if len(mv.Measured) != 6 {
			t.Fatalf("%d measured resizes, want 6", len(mv.Measured))
		}
		for _, m := range mv.Measured {
			if m.WarmMisses != float64(cfg.MovementKeys) || m.Lookups != float64(cfg.MovementKeys) || m.Errors != 0 || !m.RoutingMatches {
				t.Errorf("%d→%d: warm misses %.0f, lookups %.0f, errors %.0f, routing matches %v (%s); want %d, %d, 0, true",
					m.FromN, m.ToN, m.WarmMisses, m.Lookups, m.Errors, m.RoutingMatches, m.Routing, cfg.MovementKeys, cfg.MovementKeys)
			}
			if m.Share != m.Predicted {
				t.Errorf("%d→%d: %.0f of %d keys missed (%.4f), the ring moves %.4f of them", m.FromN, m.ToN, m.Misses, cfg.MovementKeys, m.Share, m.Predicted)
			}
			if want, _ := ring.Moved(ring.SchemeLab, m.FromN, m.ToN); m.Computed != want {
				t.Errorf("%d→%d: computed %.4f, ring.Moved %.4f", m.FromN, m.ToN, m.Computed, want)
			}
		}
		rows := readCSV(t, dir, "movement-measured.csv")
		if len(rows) != 7 {
			t.Errorf("movement-measured.csv: %d rows, want a header and 6", len(rows))
		}
	})

	t.Run("files", func(t *testing.T) {
		for _, name := range []string{Constant, Shrink, Grow} {
			runs := manualRuns(rep, name)
			lat := parseSVG(t, readFile(t, dir, "manual-"+name+"-latency.svg"))
			for _, m := range runs {
				label := "mean"
				if len(runs) > 1 {
					label = "mean, run " + itoa(m.Run)
				}
				if lat.points[label] != len(m.Batches) {
					t.Errorf("%s latency: %q has %d points, want %d", name, label, lat.points[label], len(m.Batches))
				}
			}
			if lat.markers != len(runs[0].Resizes) {
				t.Errorf("%s latency: %d markers, %d resizes", name, lat.markers, len(runs[0].Resizes))
			}
			if x := lat.texts["x-label"]; len(x) != 1 || x[0] != "requests finished (count)" {
				t.Errorf("%s latency x label %q", name, x)
			}
			tp := parseSVG(t, readFile(t, dir, "manual-"+name+"-throughput.svg"))
			if tp.markers != len(runs[0].Resizes) {
				t.Errorf("%s throughput: %d markers, %d resizes", name, tp.markers, len(runs[0].Resizes))
			}
			if y := tp.texts["y-label"]; len(y) != 1 || y[0] != "requests finished in the window (count)" {
				t.Errorf("%s throughput y label %q", name, y)
			}
			if rows := readCSV(t, dir, "manual-"+name+"-latency.csv"); len(rows) != 1+len(runs)*cfg.Requests/cfg.Batch {
				t.Errorf("manual-%s-latency.csv: %d rows", name, len(rows))
			}
		}
		if rows := readCSV(t, dir, "images.csv"); len(rows) != cfg.Images+1 {
			t.Errorf("images.csv: %d rows, want %d images and a header", len(rows), cfg.Images)
		}
		md := string(readFile(t, dir, ReportMD))
		for _, want := range []string{"| seed | 42 |", "read:write 9:1", "Zipf popularity s=1.10", "![latency](manual-shrink-latency.svg)",
			"![auto-grow](auto-grow.svg)", "![movement](movement.svg)", "restored pool size 2", "Run-to-run noise", LatencyDefinition} {
			if !strings.Contains(md, want) {
				t.Errorf("report.md lacks %q", want)
			}
		}
		var back Report
		if err := json.Unmarshal(readFile(t, dir, ReportJSON), &back); err != nil {
			t.Fatalf("report.json: %v", err)
		}
		if back.Config.Seed != 42 || len(back.Manual) != len(rep.Manual) || back.ImageSet.Count != cfg.Images || back.Machine.CPUs == 0 {
			t.Errorf("report.json: seed %d, %d manual runs, %d images, %d CPUs", back.Config.Seed, len(back.Manual), back.ImageSet.Count, back.Machine.CPUs)
		}
	})
}

func abs(n int) int { return max(n, -n) }

// poolState is what a run must put back.
type poolState struct {
	pool   Pool
	policy Policy
	config NodeConfig
}

func readPoolState(t *testing.T, mgr *Manager) poolState {
	t.Helper()
	ctx := context.Background()
	var s poolState
	var err error
	if s.pool, err = mgr.Pool(ctx); err != nil {
		t.Fatal(err)
	}
	if s.policy, err = mgr.Policy(ctx); err != nil {
		t.Fatal(err)
	}
	if s.config, err = mgr.Config(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// check fails unless the pool has the size, mode, policy and node
// configuration it had when s was read.
func (s poolState) check(t *testing.T, mgr *Manager) {
	t.Helper()
	now := readPoolState(t, mgr)
	if len(now.pool.Nodes) != len(s.pool.Nodes) || now.pool.Mode != s.pool.Mode {
		t.Errorf("pool after: %d nodes, %s mode; before: %d nodes, %s mode", len(now.pool.Nodes), now.pool.Mode, len(s.pool.Nodes), s.pool.Mode)
	}
	if now.policy != s.policy {
		t.Errorf("policy after %+v, before %+v", now.policy, s.policy)
	}
	if now.config != s.config {
		t.Errorf("node config after %+v, before %+v", now.config, s.config)
	}
}

func readFile(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readCSV(t *testing.T, dir, name string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(string(readFile(t, dir, name)))).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return rows
}
