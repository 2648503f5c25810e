package chart

import (
	"bytes"
	"encoding/xml"
	"regexp"
	"strings"
	"testing"
)

// parsed is what the tests read back from the SVG.
type parsed struct {
	texts     map[string][]string // class -> text contents
	polylines []int               // vertex count per polyline
	guides    int
}

func parse(t *testing.T, b []byte) parsed {
	t.Helper()
	p := parsed{texts: map[string][]string{}}
	d := xml.NewDecoder(bytes.NewReader(b))
	var class string
	for {
		tok, err := d.Token()
		if err != nil {
			if err.Error() == "EOF" {
				return p
			}
			t.Fatalf("SVG does not parse as XML: %v\n%s", err, b)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			class = ""
			for _, a := range e.Attr {
				switch {
				case a.Name.Local == "class":
					class = a.Value
					if e.Name.Local == "line" && a.Value == "guide" {
						p.guides++
					}
				case e.Name.Local == "polyline" && a.Name.Local == "points":
					p.polylines = append(p.polylines, len(strings.Fields(a.Value)))
				}
			}
		case xml.CharData:
			if class != "" && strings.TrimSpace(string(e)) != "" {
				p.texts[class] = append(p.texts[class], string(e))
			}
		case xml.EndElement:
			class = ""
		}
	}
}

func TestRender(t *testing.T) {
	levels := []float64{10, 20, 50, 100, 200, 500, 700, 1000, 1200, 1500, 2000, 2500, 3000}
	var mean, p98 []Point
	for _, c := range levels {
		mean = append(mean, Point{c, c / 10})
		p98 = append(p98, Point{c, c / 5})
	}
	c := Chart{
		Title: "Latency <1 node> & more", XLabel: "concurrent users", YLabel: "latency (ms)",
		Series: []Series{{Label: "mean", Points: mean}, {Label: "p98", Points: p98}},
		Guides: []Guide{{Label: "SLA p98 300ms", Y: 300}},
	}
	var b bytes.Buffer
	if err := Render(&b, c); err != nil {
		t.Fatal(err)
	}
	p := parse(t, b.Bytes())

	t.Run("one vertex per level per series", func(t *testing.T) {
		if len(p.polylines) != 2 || p.polylines[0] != len(levels) || p.polylines[1] != len(levels) {
			t.Fatalf("got polylines with %v vertices, want 2 of %d", p.polylines, len(levels))
		}
	})
	t.Run("title and axis labels, escaped", func(t *testing.T) {
		for class, want := range map[string]string{"title": c.Title, "x-label": c.XLabel, "y-label": c.YLabel} {
			if got := p.texts[class]; len(got) != 1 || got[0] != want {
				t.Errorf("%s: got %q, want %q", class, got, want)
			}
		}
	})
	t.Run("legend names every series", func(t *testing.T) {
		if got := strings.Join(p.texts["legend-label"], ","); got != "mean,p98" {
			t.Fatalf("got legend %q, want %q", got, "mean,p98")
		}
	})
	t.Run("ticks span the data", func(t *testing.T) {
		x, y := p.texts["x-tick"], p.texts["y-tick"]
		if len(x) < 3 || x[0] != "0" || x[len(x)-1] != "3000" {
			t.Errorf("x ticks %q: want 0 .. 3000", x)
		}
		if len(y) < 3 || y[0] != "0" || y[len(y)-1] != "600" {
			t.Errorf("y ticks %q: want 0 .. 600", y)
		}
	})
	t.Run("guide drawn", func(t *testing.T) {
		if p.guides != 1 || len(p.texts["guide-label"]) != 1 {
			t.Fatalf("got %d guides, want 1", p.guides)
		}
	})
}

func TestRenderEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := Render(&b, Chart{Title: "nothing"}); err != nil {
		t.Fatal(err)
	}
	parse(t, b.Bytes())
}

// TestTickLabelsAreRound: ticks of fractional steps read as people write
// them (0.6), never with float drift (0.6000000000000001).
func TestTickLabelsAreRound(t *testing.T) {
	var pts []Point
	for i := range 14 {
		pts = append(pts, Point{X: float64(i) * 0.1, Y: float64(i) * 0.05})
	}
	var b strings.Builder
	if err := Render(&b, Chart{Title: "miss rate", Series: []Series{{Label: "miss", Points: pts}}}); err != nil {
		t.Fatal(err)
	}
	labels := regexp.MustCompile(`>(-?[0-9]+\.[0-9]+)<`).FindAllStringSubmatch(b.String(), -1)
	if len(labels) < 6 {
		t.Fatalf("%d fractional tick labels, want the ticks of both axes:\n%s", len(labels), b.String())
	}
	for _, l := range labels {
		if len(strings.SplitN(l[1], ".", 2)[1]) > 2 {
			t.Errorf("tick label %q: want at most the step's decimals", l[1])
		}
	}
}
