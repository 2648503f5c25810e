package main

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudlabs/cloudlabs/internal/measure/load"
	"github.com/cloudlabs/cloudlabs/internal/measure/sweep"
)

// measureFakeSweep writes a sweep directory as if measured behind a load
// balancer with the given number of nodes: latency falls as nodes are added.
func measureFakeSweep(t *testing.T, nodes int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), fmt.Sprintf("nodes-%d", nodes))
	s := sweep.Summary{Method: "POST", Target: "http://lb/fibonacci", Requests: 100}
	for _, c := range []int{10, 100, 1000, 2000} {
		mean := float64(c) / float64(nodes) / 4
		s.Levels = append(s.Levels, sweep.Level{Concurrency: c, Result: load.Result{Requests: 100,
			Latency: load.Latency{Mean: mean, P98: mean * 1.2, Max: mean * 2}}})
	}
	if err := sweep.WriteDir(dir, s); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestChartCommand(t *testing.T) {
	var dirs []string
	for n := 1; n <= 5; n++ {
		dirs = append(dirs, measureFakeSweep(t, n))
	}
	svg := filepath.Join(t.TempDir(), "nodes.svg")
	args := append([]string{"chart"}, dirs...)
	args = append(args, "--out", svg, "--labels", "1 node,2 nodes,3 nodes,4 nodes,5 nodes", "--title", "Mean latency, 1..5 nodes",
		"--answer", "users=2000", "--sla", "mean=300ms,p98=400ms,max=1s")
	out, err := measureRun(t, args...)
	if err != nil {
		t.Fatalf("chart: %v\n%s", err, out)
	}
	// At 2000 users n nodes give mean 500/n, p98 600/n, max 1000/n ms: one
	// node misses every bound, two nodes (250, 300, 500) meet all three.
	if !strings.Contains(out, "1 node: misses") || !strings.Contains(out, "first run meeting mean=300ms,p98=400ms,max=1s at 2000 users: 2 nodes") {
		t.Fatalf("answer wrong:\n%s", out)
	}

	b, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(strings.NewReader(string(b)))
	polylines, legend, class := 0, []string{}, ""
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		switch e := tok.(type) {
		case xml.StartElement:
			class = ""
			if e.Name.Local == "polyline" {
				polylines++
				for _, a := range e.Attr {
					if a.Name.Local == "points" && len(strings.Fields(a.Value)) != 4 {
						t.Errorf("line with %q: want 4 levels", a.Value)
					}
				}
			}
			for _, a := range e.Attr {
				if a.Name.Local == "class" {
					class = a.Value
				}
			}
		case xml.CharData:
			if class == "legend-label" {
				legend = append(legend, string(e))
			}
		case xml.EndElement:
			class = ""
		}
	}
	if polylines != 5 || strings.Join(legend, ",") != "1 node,2 nodes,3 nodes,4 nodes,5 nodes" {
		t.Fatalf("got %d lines, legend %q; want 5 labelled by node count", polylines, legend)
	}
}

func TestChartRejectsUnknownMetric(t *testing.T) {
	dir := measureFakeSweep(t, 1)
	if _, err := measureRun(t, "chart", dir, "--out", filepath.Join(t.TempDir(), "x.svg"), "--metric", "p42"); err == nil {
		t.Fatal("metric p42 accepted")
	}
}
