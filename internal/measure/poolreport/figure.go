package poolreport

import (
	"github.com/cloudlabs/cloudlabs/internal/measure/chart"

	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/template"
)

// Figure is a chart of one or more panels stacked over a shared x axis,
// with vertical markers (resizes, autoscaler decisions) across all of them.
// internal/measure/chart draws single-panel line charts with horizontal
// guides; the pool's charts also need markers and a second panel (node
// count under miss rate), so they are drawn here.
type Figure struct {
	Title    string
	Subtitle string // the definition, in one line under the title
	XLabel   string
	Panels   []Panel
	Markers  []Marker
	// XMin and XMax, when XMax > XMin, fix the x range; XStep, when
	// positive, is the least step between x ticks (1 for node counts).
	XMin, XMax, XStep float64
}

// Panel is one plot area with its own y axis.
type Panel struct {
	YLabel string
	Series []Series
	Guides []Guide
	// YMax, when positive, is the least top of the y axis (1 for rates).
	YMax float64
}

// Series is one line (or, with Dots, unconnected points).
type Series struct {
	Label  string
	Points []Point
	Dots   bool
	Dashed bool
}

// Point is one (x, y) value.
type Point struct{ X, Y float64 }

// Guide is a horizontal line, such as a threshold.
type Guide struct {
	Label string
	Y     float64
}

// Marker is a vertical line at X, such as a resize.
type Marker struct {
	Label string
	X     float64
}

const (
	figW              = 900
	figLeft, figRight = 80, 220
	figTop, figBottom = 70, 60
	panelH, panelGap  = 300, 40
)

var figPalette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"}

// Render writes f as a standalone SVG document.
func (f Figure) Render(w io.Writer) error {
	xs := f.xAxis()
	plotW := float64(figW - figLeft - figRight)
	sx := func(x float64) float64 { return figLeft + (x-xs.Lo())/(xs.Hi()-xs.Lo())*plotW }
	v := figView{Title: f.Title, Subtitle: f.Subtitle, XLabel: f.XLabel, W: figW, HalfW: figW / 2,
		Left: figLeft, Right: figLeft + plotW, MidX: figLeft + plotW/2, LegendX: figLeft + plotW + 20}
	y := float64(figTop)
	for _, p := range f.Panels {
		// Colours restart in each panel: a series drawn in two panels
		// (a scheme growing and shrinking) keeps its colour.
		color := 0
		ys := p.yAxis()
		top, bottom := y, y+panelH
		sy := func(v float64) float64 { return bottom - (v-ys.Lo())/(ys.Hi()-ys.Lo())*panelH }
		pv := panelView{YLabel: p.YLabel, Top: top, Bottom: bottom, MidY: (top + bottom) / 2}
		for _, t := range ys.Ticks() {
			pv.YTicks = append(pv.YTicks, tickView{Pos: sy(t), Label: ys.label(t)})
		}
		for i, s := range p.Series {
			sv := seriesView{Label: s.Label, Color: figPalette[color%len(figPalette)], Dots: s.Dots, LegendY: top + 10 + 22*float64(i)}
			if s.Dashed {
				sv.Dash = "6 4"
			}
			color++
			var pts []string
			for _, pt := range s.Points {
				px, py := sx(pt.X), sy(pt.Y)
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", px, py))
				sv.Marks = append(sv.Marks, markView{X: px, Y: py, Title: fmt.Sprintf("%s: %s, %s", s.Label, num(pt.X), num(pt.Y))})
			}
			sv.Points = strings.Join(pts, " ")
			pv.Series = append(pv.Series, sv)
		}
		for _, g := range p.Guides {
			pv.Guides = append(pv.Guides, guideView{Y: sy(g.Y), Label: g.Label})
		}
		v.Panels = append(v.Panels, pv)
		y = bottom + panelGap
	}
	v.Bottom = y - panelGap
	v.H = v.Bottom + figBottom
	for _, t := range xs.Ticks() {
		v.XTicks = append(v.XTicks, tickView{Pos: sx(t), Label: xs.label(t)})
	}
	for i, m := range f.Markers {
		v.Markers = append(v.Markers, markerView{X: sx(m.X), Label: m.Label, LabelY: figTop - 4 + float64(i%3)*12 - 20})
	}
	if err := figTemplate.Execute(w, v); err != nil {
		return fmt.Errorf("render figure %q: %w", f.Title, err)
	}
	return nil
}

func (f Figure) xAxis() axis {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range f.Panels {
		for _, s := range p.Series {
			for _, pt := range s.Points {
				lo, hi = math.Min(lo, pt.X), math.Max(hi, pt.X)
			}
		}
	}
	for _, m := range f.Markers {
		lo, hi = math.Min(lo, m.X), math.Max(hi, m.X)
	}
	if f.XMax > f.XMin {
		lo, hi = f.XMin, f.XMax
	}
	a := niceAxis(lo, hi, false)
	if f.XStep > a.Step() {
		a = axis{chart.StepAxis(lo, hi, f.XStep)}
	}
	return a
}

func (p Panel) yAxis() axis {
	lo, hi := 0.0, math.Inf(-1)
	for _, s := range p.Series {
		for _, pt := range s.Points {
			lo, hi = math.Min(lo, pt.Y), math.Max(hi, pt.Y)
		}
	}
	for _, g := range p.Guides {
		hi = math.Max(hi, g.Y)
	}
	hi = math.Max(hi, p.YMax)
	return niceAxis(lo, hi, true)
}

// axis is internal/measure/chart's: the same ticks and labels as every
// other chart of the project.
type axis struct{ chart.Axis }

func niceAxis(lo, hi float64, fromZero bool) axis {
	if fromZero && !math.IsInf(lo, 0) {
		lo = math.Min(lo, 0)
	}
	a := chart.NiceAxis(lo, hi)
	return axis{a}
}

func (a axis) label(v float64) string { return a.Label(v) }

func num(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

type figView struct {
	Title, Subtitle, XLabel                  string
	W, H, Left, Right, Bottom, MidX, LegendX float64
	HalfW                                    float64
	Panels                                   []panelView
	XTicks                                   []tickView
	Markers                                  []markerView
}

type panelView struct {
	YLabel            string
	Top, Bottom, MidY float64
	YTicks            []tickView
	Series            []seriesView
	Guides            []guideView
}

type tickView struct {
	Pos   float64
	Label string
}

type seriesView struct {
	Label, Color, Points, Dash string
	Dots                       bool
	LegendY                    float64
	Marks                      []markView
}

type markView struct {
	X, Y  float64
	Title string
}

type guideView struct {
	Y     float64
	Label string
}

type markerView struct {
	X, LabelY float64
	Label     string
}

// text/template with every caller-given string escaped ("xml"), as
// internal/measure/chart does: html/template knows HTML, not SVG.
var figTemplate = template.Must(template.New("figure").Funcs(template.FuncMap{
	"f":   func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
	"xml": chart.Escape,
}).Parse(`<svg xmlns="http://www.w3.org/2000/svg" width="{{f .W}}" height="{{f .H}}" viewBox="0 0 {{f .W}} {{f .H}}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text class="title" x="{{f .MidX}}" y="22" text-anchor="middle" font-size="16">{{xml .Title}}</text>
<text class="subtitle" x="{{f .HalfW}}" y="40" text-anchor="middle" font-size="11" fill="#444">{{xml .Subtitle}}</text>
{{- range .Panels}}
<g class="panel">
<g class="grid" stroke="#e5e5e5">
{{- range .YTicks}}
<line x1="{{f $.Left}}" y1="{{f .Pos}}" x2="{{f $.Right}}" y2="{{f .Pos}}"/>
{{- end}}
</g>
<line class="x-axis" x1="{{f $.Left}}" y1="{{f .Bottom}}" x2="{{f $.Right}}" y2="{{f .Bottom}}" stroke="black"/>
<line class="y-axis" x1="{{f $.Left}}" y1="{{f .Top}}" x2="{{f $.Left}}" y2="{{f .Bottom}}" stroke="black"/>
{{- range .YTicks}}
<text class="y-tick" x="{{f $.Left}}" y="{{f .Pos}}" dx="-6" dy="4" text-anchor="end">{{.Label}}</text>
{{- end}}
<text class="y-label" x="20" y="{{f .MidY}}" text-anchor="middle" transform="rotate(-90 20 {{f .MidY}})">{{xml .YLabel}}</text>
{{- range .Guides}}
<line class="guide" x1="{{f $.Left}}" y1="{{f .Y}}" x2="{{f $.Right}}" y2="{{f .Y}}" stroke="#888" stroke-dasharray="6 4"/>
<text class="guide-label" x="{{f $.Right}}" y="{{f .Y}}" dx="-4" dy="-4" text-anchor="end" fill="#555">{{xml .Label}}</text>
{{- end}}
{{- range .Series}}
<g class="series" data-label="{{xml .Label}}">
{{- if not .Dots}}
<polyline fill="none" stroke="{{.Color}}" stroke-width="2"{{if .Dash}} stroke-dasharray="{{.Dash}}"{{end}} points="{{.Points}}"/>
{{- end}}
{{- $c := .Color}}
{{- range .Marks}}
<circle class="point" cx="{{f .X}}" cy="{{f .Y}}" r="3" fill="{{$c}}"><title>{{xml .Title}}</title></circle>
{{- end}}
</g>
{{- end}}
<g class="legend">
{{- range .Series}}
<rect x="{{f $.LegendX}}" y="{{f .LegendY}}" width="16" height="3" fill="{{.Color}}"/>
<text class="legend-label" x="{{f $.LegendX}}" y="{{f .LegendY}}" dx="22" dy="4">{{xml .Label}}</text>
{{- end}}
</g>
</g>
{{- end}}
{{- range .XTicks}}
<text class="x-tick" x="{{f .Pos}}" y="{{f $.Bottom}}" dy="18" text-anchor="middle">{{.Label}}</text>
{{- end}}
<text class="x-label" x="{{f .MidX}}" y="{{f .H}}" dy="-12" text-anchor="middle">{{xml .XLabel}}</text>
{{- range .Markers}}
<g class="marker">
<line x1="{{f .X}}" y1="50" x2="{{f .X}}" y2="{{f $.Bottom}}" stroke="#6a3d9a" stroke-width="1.5" stroke-dasharray="3 3"/>
<text class="marker-label" x="{{f .X}}" y="{{f .LabelY}}" dy="30" text-anchor="middle" fill="#6a3d9a" font-size="11">{{xml .Label}}</text>
</g>
{{- end}}
</svg>
`))
