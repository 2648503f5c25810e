package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/measure/chart"
)

// Monitor runs checks on an interval: the outside HTTP checks every tick,
// the verify checks every VerifyEvery ticks, and reports each change of a
// check's state once (to Out and, when set, to a webhook), never again
// while the state holds.
type Monitor struct {
	// HTTP are checked at every tick.
	HTTP []Check
	// Verify makes the slower checks (the stack's verify checks), run at
	// the first round and then every VerifyEvery ticks; nil runs none.
	Verify      func(ctx context.Context) ([]Check, error)
	VerifyEvery int
	Runner      Runner
	// Ticks drives the rounds (a time.Ticker's C; a test's channel).
	Ticks <-chan time.Time
	// Now stamps the first round (default time.Now).
	Now func() time.Time
	// Webhook, when set, receives each Alert as a JSON POST.
	Webhook string
	Client  *http.Client
	// Out receives one line per state change and per webhook failure.
	Out io.Writer
	// OnRound, when set, is called after each round with its results.
	OnRound func(n int, at time.Time, rs []Result)

	mu      sync.Mutex
	state   map[string]Status
	start   time.Time
	history map[string][]Sample
}

// Alert is one change of a check's state, the webhook's JSON body.
type Alert struct {
	Machine  string    `json:"machine"`
	Check    string    `json:"check"`
	ID       string    `json:"id"`
	From     Status    `json:"from"`
	To       Status    `json:"to"`
	Expected string    `json:"expected,omitempty"`
	Found    string    `json:"found,omitempty"`
	At       time.Time `json:"at"`
}

// Sample is one observation of one check, for its graph.
type Sample struct {
	At      time.Time
	Latency time.Duration
	Status  Status
}

// Run does a first round at once, then one per tick, until ctx ends.
func (m *Monitor) Run(ctx context.Context) error {
	now := m.Now
	if now == nil {
		now = time.Now
	}
	every := max(m.VerifyEvery, 1)
	n := 0
	m.Round(ctx, n, now(), true)
	for {
		select {
		case <-ctx.Done():
			return nil
		case at, ok := <-m.Ticks:
			if !ok {
				return nil
			}
			n++
			m.Round(ctx, n, at, n%every == 0)
		}
	}
}

// Round runs the checks once (the verify checks too when withVerify) and
// reports what changed since the last round.
func (m *Monitor) Round(ctx context.Context, n int, at time.Time, withVerify bool) []Result {
	checks := append([]Check(nil), m.HTTP...)
	var note []Result
	if withVerify && m.Verify != nil {
		vs, err := m.Verify(ctx)
		if err != nil {
			// The stack could not be read: one UNKNOWN result says so.
			note = append(note, Result{Machine: "stack", Check: "verify", Status: Unknown, Expected: "the stack's checks", Found: err.Error()})
		}
		checks = append(checks, vs...)
	}
	rs := append(m.Runner.Run(ctx, checks), note...)
	m.mu.Lock()
	if m.state == nil {
		m.state, m.history, m.start = map[string]Status{}, map[string][]Sample{}, at
	}
	var alerts []Alert
	for _, r := range rs {
		id := r.ID()
		m.history[id] = append(m.history[id], Sample{At: at, Latency: r.Duration, Status: r.Status})
		prev, seen := m.state[id]
		if !seen {
			prev = OK // a first observation alerts only when it is not OK
		}
		m.state[id] = r.Status
		if r.Status != prev {
			alerts = append(alerts, Alert{Machine: r.Machine, Check: r.Check, ID: id, From: prev, To: r.Status, Expected: r.Expected, Found: r.Found, At: at})
		}
	}
	m.mu.Unlock()
	for _, a := range alerts {
		m.alert(ctx, a)
	}
	if m.OnRound != nil {
		m.OnRound(n, at, rs)
	}
	return rs
}

func (m *Monitor) alert(ctx context.Context, a Alert) {
	out := m.Out
	if out == nil {
		out = io.Discard
	}
	line := fmt.Sprintf("%s %s %s -> %s", a.At.Format(time.RFC3339), a.ID, a.From, a.To)
	if a.To != OK {
		line += ": expected " + a.Expected + ", found " + a.Found
	}
	fmt.Fprintln(out, oneLine(line))
	if m.Webhook == "" {
		return
	}
	c := m.Client
	if c == nil {
		c = client
	}
	body, _ := json.Marshal(a)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.Webhook, bytes.NewReader(body))
	if err != nil {
		fmt.Fprintf(out, "webhook: %v\n", err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		fmt.Fprintf(out, "webhook %s: %v\n", m.Webhook, err)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		fmt.Fprintf(out, "webhook %s: status %d\n", m.Webhook, resp.StatusCode)
	}
}

// History returns each check's samples so far, by check ID.
func (m *Monitor) History() map[string][]Sample {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string][]Sample{}
	for k, v := range m.history {
		out[k] = append([]Sample(nil), v...)
	}
	return out
}

// WriteCharts writes one SVG per check into dir, munin-style: its latency
// over time and its status (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN, drawn
// ×100 on the same axis). It returns the files written.
func (m *Monitor) WriteCharts(dir string) ([]string, error) {
	h := m.History()
	m.mu.Lock()
	start := m.start
	m.mu.Unlock()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(h))
	for id := range h {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var files []string
	for _, id := range ids {
		lat := chart.Series{Label: "latency (ms)"}
		st := chart.Series{Label: "status ×100"}
		for _, s := range h[id] {
			x := s.At.Sub(start).Seconds()
			lat.Points = append(lat.Points, chart.Point{X: x, Y: float64(s.Latency) / float64(time.Millisecond)})
			st.Points = append(st.Points, chart.Point{X: x, Y: float64(s.Status) * 100})
		}
		var buf bytes.Buffer
		err := chart.Render(&buf, chart.Chart{
			Title: id, XLabel: "seconds since the monitor started", YLabel: "ms (status: 0 OK, 200 CRITICAL)",
			Series: []chart.Series{lat, st},
			Guides: []chart.Guide{{Label: "CRITICAL", Y: 200}},
		})
		if err != nil {
			return files, err
		}
		p := filepath.Join(dir, ChartFile(id))
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			return files, err
		}
		files = append(files, p)
	}
	return files, nil
}

// ChartFile is the file name of a check's chart.
func ChartFile(id string) string {
	r := strings.NewReplacer("/", "_", ":", "_", " ", "_")
	return strings.Trim(r.Replace(id), "_") + ".svg"
}
