package sweep

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/measure/load"
	"github.com/cloudlabs/cloudlabs/internal/measure/sla"
)

// level is what the fake measurement reports at one concurrency.
type level struct {
	mean, p98, max float64 // ms
	failed         int
}

// fakeMeasure stands in for load.Run: it reports fixed latencies per
// concurrency, so the SLA answer depends on the rule alone, never on how
// fast this machine is. It records the options each level was run with.
type fakeMeasure struct {
	levels map[int]level
	mu     sync.Mutex
	got    []load.Options
}

func (f *fakeMeasure) run(_ context.Context, o load.Options, src load.Source) (load.Result, error) {
	f.mu.Lock()
	f.got = append(f.got, o)
	f.mu.Unlock()
	lv, ok := f.levels[o.Concurrency]
	if !ok {
		return load.Result{}, fmt.Errorf("no fake level for concurrency %d", o.Concurrency)
	}
	if src(0) == nil {
		return load.Result{}, fmt.Errorf("concurrency %d: the source gave no request", o.Concurrency)
	}
	if o.Done != nil {
		o.Done.Add(int64(o.Requests))
	}
	res := load.Result{Requests: o.Requests, Responses: o.Requests - lv.failed, Failed: lv.failed, Errors: map[string]int{},
		ElapsedSeconds: 1, RPS: float64(o.Requests - lv.failed),
		Latency: load.Latency{Mean: lv.mean, P50: lv.mean, P90: lv.p98, P98: lv.p98, P99: lv.max, Max: lv.max}}
	if lv.failed > 0 {
		res.Errors[load.KindTimeout] = lv.failed
	}
	return res, nil
}

func mustParseSLA(t *testing.T, s string) sla.SLA {
	t.Helper()
	bounds, err := sla.Parse(s)
	if err != nil {
		t.Fatalf("sla.Parse(%q): %v", s, err)
	}
	return bounds
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// crowded is latency that grows with concurrency, plus the two edge cases of
// the rule: a mean exactly at its bound (not strictly below) and a fast level
// with failed requests.
var crowded = map[int]level{
	1:  {mean: 20, p98: 30, max: 40},
	2:  {mean: 20, p98: 30, max: 40},
	4:  {mean: 21, p98: 35, max: 60},
	8:  {mean: 100, p98: 150, max: 200}, // mean at the bound: fails
	16: {mean: 20, p98: 30, max: 40, failed: 3},
	32: {mean: 300, p98: 600, max: 900},
}

func TestSweepAnswersSLA(t *testing.T) {
	fake := &fakeMeasure{levels: crowded}
	cfg := Config{URL: "http://127.0.0.1:1/fibonacci", Method: "POST", Body: []byte(`{"fibonacci_number": 20}`), ContentType: "application/json",
		Levels: []int{1, 2, 4, 8, 16, 32}, Requests: 64, Timeout: 5 * time.Second, SLA: mustParseSLA(t, "mean=100ms,max=5s"),
		StdClient: true, measure: fake.run}
	s, err := Run(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s.SLAMax == nil || *s.SLAMax != 4 {
		got := "null"
		if s.SLAMax != nil {
			got = fmt.Sprint(*s.SLAMax)
		}
		t.Fatalf("sla_max_concurrency: got %s, want 4; levels %+v", got, s.Levels)
	}
	if len(s.Levels) != 6 {
		t.Fatalf("got %d levels, want 6", len(s.Levels))
	}
	wantMeets := map[int]bool{1: true, 2: true, 4: true, 8: false, 16: false, 32: false}
	wantViolation := map[int]string{8: "mean", 16: "3 failed", 32: "mean"}
	for _, lv := range s.Levels {
		if lv.MeetsSLA != wantMeets[lv.Concurrency] {
			t.Errorf("c=%d: meets %v, want %v (violations %q)", lv.Concurrency, lv.MeetsSLA, wantMeets[lv.Concurrency], lv.Violations)
		}
		if w := wantViolation[lv.Concurrency]; w != "" && !slices.ContainsFunc(lv.Violations, func(v string) bool { return strings.Contains(v, w) }) {
			t.Errorf("c=%d: violations %q do not name %q", lv.Concurrency, lv.Violations, w)
		}
	}
	if len(fake.got) != 6 {
		t.Fatalf("measured %d levels, want 6", len(fake.got))
	}
	for i, o := range fake.got {
		if o.Concurrency != cfg.Levels[i] || o.Requests != 64 || o.Timeout != 5*time.Second || !o.StdClient || o.Done == nil {
			t.Errorf("level %d run with %+v, want concurrency %d, 64 requests, 5s timeout, std client, progress", i, o, cfg.Levels[i])
		}
	}

	dir := t.TempDir()
	if err := WriteDir(dir, s); err != nil {
		t.Fatal(err)
	}
	t.Run("results.csv header and rows", func(t *testing.T) {
		b := readFile(t, filepath.Join(dir, "results.csv"))
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if lines[0] != "concurrency,requests,mean_ms,p98_ms,max_ms,rps,failed" {
			t.Fatalf("header: got %q", lines[0])
		}
		if len(lines) != 7 || lines[5] != "16,64,20.000,30.000,40.000,61.0,3" {
			t.Fatalf("got %q, want 6 rows, the 16 one \"16,64,20.000,30.000,40.000,61.0,3\"", lines)
		}
		rows, err := ReadCSV(filepath.Join(dir, "results.csv"))
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 6 || rows[5].Concurrency != 32 || rows[5].Requests != 64 || rows[5].Mean != 300 {
			t.Fatalf("got %+v; want 6 levels ending at 32 with mean 300", rows)
		}
	})
	t.Run("summary.json answers", func(t *testing.T) {
		b := readFile(t, filepath.Join(dir, "summary.json"))
		var got struct {
			Max    *int               `json:"sla_max_concurrency"`
			SLA    map[string]float64 `json:"sla"`
			Target string             `json:"target"`
			Levels []json.RawMessage  `json:"levels"`
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if got.Max == nil || *got.Max != 4 || got.SLA["mean"] != 100 || len(got.Levels) != 6 || got.Target != cfg.URL {
			t.Fatalf("summary.json: got %+v", got)
		}
	})
	t.Run("results.md has the table and answer", func(t *testing.T) {
		b := readFile(t, filepath.Join(dir, "results.md"))
		for _, want := range []string{"| Concurrency | Mean request time (ms) | Longest request (ms) | 98th percentile (ms)", "| 32 |", "**4** concurrent users"} {
			if !bytes.Contains(b, []byte(want)) {
				t.Errorf("results.md lacks %q:\n%s", want, b)
			}
		}
	})
	t.Run("chart.svg plots every level", func(t *testing.T) {
		b := readFile(t, filepath.Join(dir, "chart.svg"))
		if n := bytes.Count(b, []byte("<polyline")); n != 2 {
			t.Fatalf("got %d lines, want mean and p98", n)
		}
		if n := bytes.Count(b, []byte("<circle")); n != 12 {
			t.Fatalf("got %d points, want 2 x 6 levels", n)
		}
	})
}

// TestSweepAgainstServer runs the real load generator against a real server:
// every level sends its requests, which the server sees, with the body.
func TestSweepAgainstServer(t *testing.T) {
	var hits, badBody atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		b, err := io.ReadAll(r.Body)
		if err != nil || string(b) != `{"fibonacci_number": 20}` || r.Header.Get("Content-Type") != "application/json" {
			badBody.Add(1)
		}
		if _, err := fmt.Fprint(w, `{"value":6765}`); err != nil {
			t.Errorf("write reply: %v", err)
		}
	}))
	defer srv.Close()
	for _, std := range []bool{false, true} {
		t.Run(fmt.Sprintf("std client %v", std), func(t *testing.T) {
			hits.Store(0)
			s, err := Run(context.Background(), Config{URL: srv.URL + "/fibonacci", Method: "POST", Body: []byte(`{"fibonacci_number": 20}`),
				ContentType: "application/json", Levels: []int{1, 4}, Requests: 20, Timeout: time.Minute, StdClient: std}, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Levels) != 2 {
				t.Fatalf("got %d levels, want 2", len(s.Levels))
			}
			for _, lv := range s.Levels {
				if lv.Result.Requests != 20 || lv.Result.Responses != 20 || lv.Result.Failed != 0 {
					t.Errorf("c=%d: %+v, want 20 clean replies", lv.Concurrency, lv.Result)
				}
			}
			if n := hits.Load(); n != 40 {
				t.Errorf("server saw %d requests, want 40", n)
			}
			if n := badBody.Load(); n != 0 {
				t.Errorf("%d requests lacked the body or its Content-Type", n)
			}
		})
	}
}

func TestSweepNoLevelMeets(t *testing.T) {
	// Nothing listens on the port of a closed server: every request is
	// refused, every level counted, none meets, the sweep still completes.
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	s, err := Run(context.Background(), Config{URL: url, Method: "GET", Levels: []int{1, 2}, Requests: 5, Timeout: time.Second,
		SLA: mustParseSLA(t, "mean=200ms")}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s.SLAMax != nil || len(s.Levels) != 2 || s.Levels[1].Result.Errors["refused"] != 5 {
		t.Fatalf("got max %v, levels %+v; want no answer and 5 refused per level", s.SLAMax, s.Levels)
	}
	if !slices.Contains(s.Levels[0].Violations, "5 failed") {
		t.Fatalf("violations %q do not name the failures", s.Levels[0].Violations)
	}
}

func TestRaiseFDLimit(t *testing.T) {
	if ok, msg := RaiseFDLimit(64); !ok || msg == "" {
		t.Fatalf("64 descriptors: got %v %q", ok, msg)
	}
	if ok, msg := RaiseFDLimit(1 << 40); ok || !strings.Contains(msg, "below") {
		t.Fatalf("2^40 descriptors: got %v %q, want a refusal that says why", ok, msg)
	}
}
