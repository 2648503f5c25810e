// Package chart draws line charts as plain SVG (axes, tick labels, legend,
// title, optional dashed guide lines), enough for the labs' latency-against-
// concurrency plots without a charting dependency.
package chart

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/template"
)

// Point is one (x, y) value.
type Point struct{ X, Y float64 }

// Series is one line.
type Series struct {
	Label  string
	Points []Point
}

// Guide is a horizontal reference line, such as an SLA bound.
type Guide struct {
	Label string
	Y     float64
}

// Chart is what to draw.
type Chart struct {
	Title, XLabel, YLabel string
	Series                []Series
	Guides                []Guide
}

const (
	width, height            = 800, 500
	left, right, top, bottom = 80, 190, 50, 60
	plotW, plotH             = width - left - right, height - top - bottom
)

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"}

// Render writes c as a standalone SVG document.
func Render(w io.Writer, c Chart) error {
	xs, ys := axisRange(c, func(p Point) float64 { return p.X }, false), axisRange(c, func(p Point) float64 { return p.Y }, true)
	sx := func(x float64) float64 { return left + (x-xs.lo)/(xs.hi-xs.lo)*plotW }
	sy := func(y float64) float64 { return top + plotH - (y-ys.lo)/(ys.hi-ys.lo)*plotH }

	v := view{Chart: c, W: width, H: height, Left: left, Top: top, Right: left + plotW, Bottom: top + plotH,
		MidX: left + plotW/2, MidY: top + plotH/2, LegendX: left + plotW + 20}
	for _, t := range xs.ticks {
		v.XTicks = append(v.XTicks, tick{Pos: sx(t), Label: xs.label(t)})
	}
	for _, t := range ys.ticks {
		v.YTicks = append(v.YTicks, tick{Pos: sy(t), Label: ys.label(t)})
	}
	for i, s := range c.Series {
		ls := line{Label: s.Label, Color: palette[i%len(palette)], LegendY: float64(top + 10 + 22*i)}
		var pts []string
		for _, p := range s.Points {
			x, y := sx(p.X), sy(p.Y)
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
			ls.Marks = append(ls.Marks, mark{X: x, Y: y, Title: fmt.Sprintf("%s: %s, %s", s.Label, label(p.X), label(p.Y))})
		}
		ls.Points = strings.Join(pts, " ")
		v.Lines = append(v.Lines, ls)
	}
	for _, g := range c.Guides {
		if g.Y >= ys.lo && g.Y <= ys.hi {
			v.GuideLines = append(v.GuideLines, guide{Y: sy(g.Y), Label: g.Label})
		}
	}
	if err := svg.Execute(w, v); err != nil {
		return fmt.Errorf("render chart %q: %w", c.Title, err)
	}
	return nil
}

type view struct {
	Chart
	W, H, Left, Top, Right, Bottom, MidX, MidY, LegendX float64
	XTicks, YTicks                                      []tick
	Lines                                               []line
	GuideLines                                          []guide
}

type tick struct {
	Pos   float64
	Label string
}

type line struct {
	Label, Color, Points string
	LegendY              float64
	Marks                []mark
}

type mark struct {
	X, Y  float64
	Title string
}

type guide struct {
	Y     float64
	Label string
}

type axis = Axis

// Axis is a numeric axis with "nice" ticks: 1, 2 or 5 times a power of
// ten, spanning its data. Other figure makers (poolreport) share it.
type Axis struct {
	lo, hi float64
	ticks  []float64
	step   float64
}

// Lo and Hi are the axis's ends; Ticks its tick values.
func (a Axis) Lo() float64            { return a.lo }
func (a Axis) Hi() float64            { return a.hi }
func (a Axis) Ticks() []float64       { return a.ticks }
func (a Axis) Label(v float64) string { return a.label(v) }

// axisRange spans every point (and guide, for y) with "nice" ticks; the y
// axis starts at zero so latency lines are not exaggerated.
func axisRange(c Chart, get func(Point) float64, isY bool) axis {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range c.Series {
		for _, p := range s.Points {
			lo, hi = math.Min(lo, get(p)), math.Max(hi, get(p))
		}
	}
	if isY {
		for _, g := range c.Guides {
			hi = math.Max(hi, g.Y)
		}
		lo = math.Min(lo, 0)
	}
	return NiceAxis(lo, hi)
}

// NiceAxis spans lo..hi (0..1 when either is infinite: no data) with
// about six ticks.
func NiceAxis(lo, hi float64) Axis {
	if math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		lo, hi = 0, 1
	}
	if hi <= lo {
		hi = lo + 1
	}
	return StepAxis(lo, hi, niceStep((hi-lo)/6))
}

// StepAxis spans lo..hi with ticks every step (node counts tick by 1).
func StepAxis(lo, hi, step float64) Axis {
	a := Axis{lo: math.Floor(lo/step) * step, hi: math.Ceil(hi/step) * step, step: step}
	// Each tick from its index, not by adding steps: no drift to carry.
	for i := 0; a.lo+float64(i)*step <= a.hi+step/2; i++ {
		a.ticks = append(a.ticks, a.lo+float64(i)*step)
	}
	return a
}

// Step is the distance between the axis's ticks.
func (a Axis) Step() float64 { return a.step }

// NiceStep rounds raw up to 1, 2 or 5 times a power of ten.
func NiceStep(raw float64) float64 { return niceStep(raw) }

// label writes a tick with the decimals its step has and no more: 0.6,
// not 0.6000000000000001.
func (a axis) label(v float64) string {
	decimals := max(0, int(-math.Floor(math.Log10(a.step)+1e-9)))
	return strconv.FormatFloat(v, 'f', decimals, 64)
}

// niceStep rounds raw up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

func label(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

var svg = template.Must(template.New("svg").Funcs(template.FuncMap{
	"f":   func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
	"xml": escape,
}).Parse(svgTemplate))

// Escape makes s safe as SVG text or an attribute value.
func Escape(s string) string { return escape(s) }

func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder never fails
	return b.String()
}

// text/template, not html/template (which knows HTML, not SVG): every
// caller-given string goes through escape ("xml" in the template).
const svgTemplate = `<svg xmlns="http://www.w3.org/2000/svg" width="{{f .W}}" height="{{f .H}}" viewBox="0 0 {{f .W}} {{f .H}}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text class="title" x="{{f .MidX}}" y="28" text-anchor="middle" font-size="16">{{xml .Title}}</text>
<g class="grid" stroke="#e5e5e5">
{{- range .YTicks}}
<line x1="{{f $.Left}}" y1="{{f .Pos}}" x2="{{f $.Right}}" y2="{{f .Pos}}"/>
{{- end}}
</g>
<g class="axes" stroke="black">
<line class="x-axis" x1="{{f .Left}}" y1="{{f .Bottom}}" x2="{{f .Right}}" y2="{{f .Bottom}}"/>
<line class="y-axis" x1="{{f .Left}}" y1="{{f .Top}}" x2="{{f .Left}}" y2="{{f .Bottom}}"/>
</g>
{{- range .XTicks}}
<text class="x-tick" x="{{f .Pos}}" y="{{f $.Bottom}}" dy="18" text-anchor="middle">{{.Label}}</text>
{{- end}}
{{- range .YTicks}}
<text class="y-tick" x="{{f $.Left}}" y="{{f .Pos}}" dx="-6" dy="4" text-anchor="end">{{.Label}}</text>
{{- end}}
<text class="x-label" x="{{f .MidX}}" y="{{f .H}}" dy="-12" text-anchor="middle">{{xml .XLabel}}</text>
<text class="y-label" x="20" y="{{f .MidY}}" text-anchor="middle" transform="rotate(-90 20 {{f .MidY}})">{{xml .YLabel}}</text>
{{- range .GuideLines}}
<line class="guide" x1="{{f $.Left}}" y1="{{f .Y}}" x2="{{f $.Right}}" y2="{{f .Y}}" stroke="#888" stroke-dasharray="6 4"/>
<text class="guide-label" x="{{f $.Right}}" y="{{f .Y}}" dx="-4" dy="-4" text-anchor="end" fill="#555">{{xml .Label}}</text>
{{- end}}
{{- range .Lines}}
<g class="series">
<polyline fill="none" stroke="{{.Color}}" stroke-width="2" points="{{.Points}}"/>
{{- $c := .Color}}
{{- range .Marks}}
<circle cx="{{f .X}}" cy="{{f .Y}}" r="3" fill="{{$c}}"><title>{{xml .Title}}</title></circle>
{{- end}}
</g>
{{- end}}
<g class="legend">
{{- range .Lines}}
<rect x="{{f $.LegendX}}" y="{{f .LegendY}}" width="16" height="3" fill="{{.Color}}"/>
<text class="legend-label" x="{{f $.LegendX}}" y="{{f .LegendY}}" dx="22" dy="4">{{xml .Label}}</text>
{{- end}}
</g>
</svg>
`
