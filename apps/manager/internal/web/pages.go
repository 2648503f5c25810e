package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cloudlabs/cloudlabs/apps/manager/internal/control"
	"github.com/cloudlabs/cloudlabs/apps/manager/internal/store"
	"github.com/cloudlabs/cloudlabs/internal/measure/chart"
	"github.com/cloudlabs/cloudlabs/internal/pool/autoscale"
	"github.com/cloudlabs/cloudlabs/internal/pool/metrics"
)

// series reads the last minutes at 1-minute steps from the metric store.
func (s *Server) series(ctx context.Context, minutes int) ([]metrics.Point, error) {
	if s.Metrics == nil {
		return nil, errors.New("no metric store configured (--prometheus or --cloudwatch-namespace)")
	}
	to := s.now().Truncate(time.Minute)
	sr, err := s.Metrics.PoolSeries(ctx, to.Add(-time.Duration(minutes)*time.Minute), to, time.Minute)
	return sr.Points, err
}

// Chart is one dashboard chart: the SVG and the current value as text.
type Chart struct {
	ID, Title, Current string
	SVG                template.HTML
}

type chartDef struct {
	id, title, unit string
	value           func(metrics.Point) (float64, bool)
	format          func(float64) string
}

func count(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }
func pct(v float64) string   { return strconv.FormatFloat(v*100, 'f', 1, 64) + "%" }

var chartDefs = []chartDef{
	{"nodes", "Active nodes", "nodes", func(p metrics.Point) (float64, bool) { return float64(p.Nodes), true }, count},
	{"miss-rate", "Miss rate", "misses / gets", func(p metrics.Point) (float64, bool) { return p.MissRate, p.HasRate }, pct},
	{"hit-rate", "Hit rate", "hits / gets", func(p metrics.Point) (float64, bool) { return p.HitRate, p.HasRate }, pct},
	{"items", "Items in cache", "items", func(p metrics.Point) (float64, bool) { return p.Items, true }, count},
	{"bytes", "Bytes stored", "bytes", func(p metrics.Point) (float64, bool) { return p.Bytes, true }, humanBytes},
	{"requests", "Requests per minute", "requests / min", func(p metrics.Point) (float64, bool) { return p.Requests, true }, count},
}

func humanBytes(v float64) string {
	for _, u := range []string{"B", "KB", "MB", "GB"} {
		if v < 1024 || u == "GB" {
			return strconv.FormatFloat(v, 'f', 1, 64) + " " + u
		}
		v /= 1024
	}
	return ""
}

// charts draws the six dashboard charts over pts, x in minutes before now.
func charts(pts []metrics.Point, now time.Time) ([]Chart, error) {
	out := make([]Chart, 0, len(chartDefs))
	for _, d := range chartDefs {
		var line chart.Series
		line.Label = d.unit
		cur := "no data"
		for _, p := range pts {
			v, ok := d.value(p)
			if !ok {
				continue
			}
			line.Points = append(line.Points, chart.Point{X: p.Time.Sub(now).Minutes(), Y: v})
			cur = d.format(v)
		}
		var b bytes.Buffer
		if err := chart.Render(&b, chart.Chart{Title: d.title, XLabel: "minutes ago", YLabel: d.unit, Series: []chart.Series{line}}); err != nil {
			return nil, err
		}
		// The SVG comes from internal/measure/chart, which escapes every
		// string it is given; our titles are constants.
		out = append(out, Chart{ID: d.id, Title: d.title, Current: cur, SVG: template.HTML(b.String())}) //nolint:gosec
	}
	return out, nil
}

type dashboard struct {
	Title, CSRF, Flash string
	Pool               PoolView
	Policy             PolicyJSON
	Auto, CanGrow      bool
	CanShrink          bool
	CapacityMB         int64
	Policies           []string
	Charts             []Chart
	MetricsErr         string
	Decisions          []store.Decision
	ETag               string
}

var flashes = map[string]string{
	"grew": "The pool grew by one node.", "shrank": "The pool shrank by one node.",
	"policy": "The resizing mode and policy were saved.", "config": "Every node has the new capacity and policy.",
	"cleared": "Every node's cache was cleared.", "deleted": "All data was deleted.",
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, sess string) {
	p, err := s.Control.Store.Get(r.Context())
	if err != nil {
		s.pageError(w, http.StatusInternalServerError, err.Error())
		return
	}
	v := s.view(p)
	d := dashboard{Title: "Cache pool", CSRF: s.csrfToken(sess), Flash: flashes[r.URL.Query().Get("done")],
		Pool: v, Policy: toJSON(p.Policy), Auto: p.Policy.Mode == autoscale.Auto,
		CapacityMB: p.CapacityBytes >> 20, Policies: control.Policies, ETag: etag(v)}
	d.CanGrow = !d.Auto && len(v.Nodes) < v.MaxNodes
	d.CanShrink = !d.Auto && len(v.Nodes) > autoscale.MinPoolSize
	pts, err := s.series(r.Context(), 30)
	if err != nil {
		d.MetricsErr = err.Error()
	}
	if d.Charts, err = charts(pts, s.now().Truncate(time.Minute)); err != nil {
		s.pageError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if d.Decisions, err = s.Control.Store.Decisions(r.Context(), 10); err != nil {
		s.pageError(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.render(w, http.StatusOK, "dashboard.html", d)
}

func (s *Server) decisionsPage(w http.ResponseWriter, r *http.Request, _ string) {
	ds, err := s.Control.Store.Decisions(r.Context(), 200)
	if err != nil {
		s.pageError(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.render(w, http.StatusOK, "decisions.html", map[string]any{"Title": "Decision log", "Decisions": ds})
}

func (s *Server) deletePage(w http.ResponseWriter, r *http.Request, sess string) {
	s.render(w, http.StatusOK, "delete.html", map[string]any{"Title": "Delete all data", "CSRF": s.csrfToken(sess), "Gallery": s.DeleteData != nil})
}

func (s *Server) done(w http.ResponseWriter, r *http.Request, what string) {
	http.Redirect(w, r, "/?done="+what, http.StatusSeeOther)
}

func (s *Server) formStep(delta int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, err := s.step(r.Context(), delta, "button")
		switch {
		case errors.Is(err, control.ErrBound), errors.Is(err, control.ErrMode):
			s.pageError(w, http.StatusConflict, err.Error())
		case err != nil:
			s.pageError(w, http.StatusBadGateway, err.Error())
		case delta > 0:
			s.done(w, r, "grew")
		default:
			s.done(w, r, "shrank")
		}
	}
}

func (s *Server) formPolicy(w http.ResponseWriter, r *http.Request) {
	cur, err := s.Control.Store.Get(r.Context())
	if err != nil {
		s.pageError(w, http.StatusInternalServerError, err.Error())
		return
	}
	p := cur.Policy
	f := r.PostForm
	p.Mode = autoscale.Mode(f.Get("mode"))
	var bad []string
	num := func(name string, dst *float64) {
		if v := strings.TrimSpace(f.Get(name)); v != "" {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				bad = append(bad, fmt.Sprintf("%s = %q: want a number", name, v))
				return
			}
			*dst = n
		}
	}
	num("max_miss_rate", &p.MaxMissRate)
	num("min_miss_rate", &p.MinMissRate)
	num("expand_ratio", &p.ExpandRatio)
	num("shrink_ratio", &p.ShrinkRatio)
	if len(bad) > 0 {
		s.pageError(w, http.StatusBadRequest, strings.Join(bad, "; "))
		return
	}
	if _, err := s.setPolicy(r.Context(), p); err != nil {
		s.pageError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.done(w, r, "policy")
}

func (s *Server) formConfig(w http.ResponseWriter, r *http.Request) {
	mb, err := strconv.ParseInt(strings.TrimSpace(r.PostForm.Get("capacity_mb")), 10, 64)
	if err != nil {
		s.pageError(w, http.StatusBadRequest, fmt.Sprintf("capacity = %q: want a whole number of MB", r.PostForm.Get("capacity_mb")))
		return
	}
	if _, err := s.Control.Configure(r.Context(), mb<<20, r.PostForm.Get("policy")); err != nil {
		s.pageError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.done(w, r, "config")
}

func (s *Server) formClear(w http.ResponseWriter, r *http.Request) {
	if _, err := s.Control.Clear(r.Context()); err != nil {
		s.pageError(w, http.StatusBadGateway, err.Error())
		return
	}
	s.done(w, r, "cleared")
}

func (s *Server) formDelete(w http.ResponseWriter, r *http.Request) {
	if r.PostForm.Get("confirm") != "delete all data" {
		s.pageError(w, http.StatusBadRequest, `Type "delete all data" to confirm; nothing was deleted.`)
		return
	}
	if _, err := s.deleteAll(r.Context()); err != nil {
		s.pageError(w, http.StatusBadGateway, err.Error())
		return
	}
	s.done(w, r, "deleted")
}
