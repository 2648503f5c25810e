package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudlabs/cloudlabs/internal/measure/load"
	"github.com/cloudlabs/cloudlabs/internal/measure/replay"
)

func measureFakeReplay(t *testing.T, dir, name string, mean, rps float64) string {
	t.Helper()
	p := filepath.Join(dir, name)
	rep := replay.Report{Kind: "replay", Result: load.Result{Requests: 500, Responses: 500, RPS: rps,
		Latency: load.Latency{Mean: mean, P50: mean, P90: mean, P98: mean, P99: mean, Max: mean}}}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCompareCommand(t *testing.T) {
	dir := t.TempDir()
	for i, m := range []float64{100, 104, 97} {
		measureFakeReplay(t, dir, fmt.Sprintf("before-%d.json", i), m, 1000)
	}
	for i, m := range []float64{50, 53} {
		measureFakeReplay(t, dir, fmt.Sprintf("after-%d.json", i), m, 1002)
	}
	measureFakeReplay(t, dir, "same.json", 100, 1000)
	cases := []struct {
		name  string
		args  []string
		wants []string
	}{
		{"repeated runs, globs", []string{"compare", "--a", filepath.Join(dir, "before-*.json"), "--b", filepath.Join(dir, "after-*.json")},
			[]string{"A: 3 run(s), B: 2 run(s)", "faster", "[97.00..104.00]", "within noise"}},
		{"positional, no change", []string{"compare", filepath.Join(dir, "before-0.json"), filepath.Join(dir, "same.json")},
			[]string{"within noise"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := measureRun(t, c.args...)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range c.wants {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if c.name == "positional, no change" && (strings.Contains(out, "faster") || strings.Contains(out, "slower")) {
				t.Errorf("identical runs got a verdict:\n%s", out)
			}
		})
	}
	t.Run("json", func(t *testing.T) {
		out, err := measureRun(t, "compare", "--json", "--a", filepath.Join(dir, "before-*.json"), "--b", filepath.Join(dir, "after-*.json"))
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Metrics []struct{ Metric, Verdict string }
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatal(err)
		}
		verdicts := map[string]string{}
		for _, m := range got.Metrics {
			verdicts[m.Metric] = m.Verdict
		}
		if verdicts["mean_ms"] != "faster" || verdicts["rps"] != "within noise" {
			t.Fatalf("verdicts %v: want mean faster, rps within noise", verdicts)
		}
	})
}
