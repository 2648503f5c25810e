package poolreport

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

// svgDoc is what a test reads back from a rendered chart: the text of
// each class of <text>, the points per series, the markers.
type svgDoc struct {
	texts   map[string][]string // class -> texts, in order
	points  map[string]int      // series data-label -> circles
	markers int
}

// ParseSVG parses b as XML (failing on anything malformed) and gathers
// the chart's parts by class.
func parseSVG(t *testing.T, b []byte) svgDoc {
	t.Helper()
	d := svgDoc{texts: map[string][]string{}, points: map[string]int{}}
	dec := xml.NewDecoder(bytes.NewReader(b))
	var stack []xml.StartElement
	series := ""
	root := ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("chart is not well-formed XML: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = e.Name.Local
			}
			stack = append(stack, e)
			switch attr(e, "class") {
			case "series":
				series = attr(e, "data-label")
			case "point":
				d.points[series]++
			case "marker":
				d.markers++
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 && stack[len(stack)-1].Name.Local == "text" {
				c := attr(stack[len(stack)-1], "class")
				d.texts[c] = append(d.texts[c], strings.TrimSpace(string(e)))
			}
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q, want svg", root)
	}
	return d
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func render(t *testing.T, f Figure) svgDoc {
	t.Helper()
	var b bytes.Buffer
	if err := f.Render(&b); err != nil {
		t.Fatal(err)
	}
	return parseSVG(t, b.Bytes())
}

func TestLatencyAndThroughputChartsMarkResizes(t *testing.T) {
	run := ManualRun{Scenario: Shrink, Run: 1, From: 4, To: 2,
		Batches:    []Batch{{EndCount: 100, MeanMs: 2, P99Ms: 5}, {EndCount: 200, MeanMs: 3, P99Ms: 9}, {EndCount: 300, MeanMs: 2.5, P99Ms: 6}},
		Throughput: []ThroughputPoint{{WindowS: 1, Most: 150, FromStart: 120}, {WindowS: 2, Most: 300, FromStart: 300}},
		Resizes:    []Resize{{FromN: 4, ToN: 3, AtRequest: 100, AtS: 0.7}, {FromN: 3, ToN: 2, AtRequest: 200, AtS: 1.4}}}
	lat := render(t, LatencyFigure("Latency, pool shrinking 4 → 2 nodes", []ManualRun{run}))
	if lat.points["mean"] != 3 || lat.points["p99"] != 3 {
		t.Errorf("latency points %v: want 3 mean and 3 p99", lat.points)
	}
	if lat.markers != 2 || strings.Join(lat.texts["marker-label"], ",") != "shrink 4→3,shrink 3→2" {
		t.Errorf("latency markers %d %q: want shrink 4→3 and shrink 3→2", lat.markers, lat.texts["marker-label"])
	}
	if got := lat.texts["x-label"]; len(got) != 1 || got[0] != "requests finished (count)" {
		t.Errorf("latency x label %q", got)
	}
	if got := lat.texts["y-label"]; len(got) != 1 || got[0] != "time per request (ms)" {
		t.Errorf("latency y label %q", got)
	}
	if got := lat.texts["subtitle"]; len(got) != 1 || got[0] != LatencyDefinition {
		t.Errorf("latency subtitle %q: want the definition", got)
	}
	tp := render(t, ThroughputFigure("Throughput", []ManualRun{run}))
	if tp.points["most in any window"] != 2 || tp.points["first w seconds"] != 2 || tp.markers != 2 {
		t.Errorf("throughput points %v, markers %d: want 2+2 points and 2 markers", tp.points, tp.markers)
	}
	if got := tp.texts["x-label"]; len(got) != 1 || got[0] != "time window w (s)" {
		t.Errorf("throughput x label %q", got)
	}
	if got := tp.texts["y-label"]; len(got) != 1 || got[0] != "requests finished in the window (count)" {
		t.Errorf("throughput y label %q", got)
	}
}

func TestAutoChartDrawsThresholdsAndDecisions(t *testing.T) {
	a := AutoRun{Scenario: AutoGrow, Policy: Policy{MaxMissRate: 0.5, MinMissRate: 0.1, ExpandRatio: 2, ShrinkRatio: 0.5, MaxNodes: 8},
		Points: []AutoPoint{{TS: 1, MissRate: 0.8, HasRate: true, Nodes: 1}, {TS: 2, MissRate: 0.7, HasRate: true, Nodes: 2}, {TS: 3, Nodes: 2}},
		Decisions: []AutoDecision{{TS: 1.5, From: 1, To: 2, Outcome: "resized", Resized: true, MissRate: 0.8, HasMissRate: true},
			{TS: 2.5, From: 2, To: 2, Outcome: "held", MissRate: 0.6, HasMissRate: true}}}
	d := render(t, AutoFigure(autoTitle(a), a))
	if d.points["miss rate (gallery)"] != 2 || d.points["nodes"] != 3 {
		t.Errorf("points %v: want 2 miss rates (one sample had no lookups) and 3 node counts", d.points)
	}
	if d.points["autoscaler's miss rate"] != 2 || d.points["autoscaler check"] != 2 {
		t.Errorf("points %v: want both decisions drawn", d.points)
	}
	if d.markers != 1 || len(d.texts["marker-label"]) != 1 || d.texts["marker-label"][0] != "autoscaler: grow 1→2" {
		t.Errorf("markers %d %q: want the one resize", d.markers, d.texts["marker-label"])
	}
	guides := strings.Join(d.texts["guide-label"], ",")
	if guides != "max threshold 0.50 (grow above),min threshold 0.10 (shrink below)" {
		t.Errorf("guides %q: want both thresholds", guides)
	}
	if got := strings.Join(d.texts["y-label"], ","); got != "miss rate (misses / lookups),pool size (nodes)" {
		t.Errorf("y labels %q", got)
	}
}

func TestMovementChartHasEverySchemeAndTheMeasuredPoints(t *testing.T) {
	mv, err := ComputedOnly(8)
	if err != nil {
		t.Fatal(err)
	}
	mv.Scheme = "lab"
	mv.Measured = []MeasuredMove{{FromN: 1, ToN: 2, Share: 0.5}, {FromN: 2, ToN: 1, Share: 0.5}, {FromN: 2, ToN: 3, Share: 0.6}}
	d := render(t, MovementFigure(mv))
	// Each computed series appears in both panels: 7 points growing, 7 shrinking.
	for _, s := range []string{"lab (computed)", "jump (computed)", "rendezvous (computed)", "minimum"} {
		if d.points[s] != 14 {
			t.Errorf("%s: %d points, want 14", s, d.points[s])
		}
	}
	if d.points["lab (measured)"] != 3 {
		t.Errorf("measured: %d points, want 3", d.points["lab (measured)"])
	}
}
