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
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/measure/sla"
)

// crowdedServer takes 20 ms while at most 4 requests are in flight and
// 300 ms when more are: latency that grows with concurrency, with a
// margin wide enough that a busy machine cannot flip the SLA answer.
func crowdedServer(t *testing.T) *httptest.Server {
	var inflight atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer inflight.Add(-1)
		d := 20 * time.Millisecond
		if inflight.Add(1) > 4 {
			d = 300 * time.Millisecond
		}
		time.Sleep(d)
		io.Copy(io.Discard, r.Body)
		fmt.Fprint(w, `{"value":6765}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestSweepAnswersSLA(t *testing.T) {
	srv := crowdedServer(t)
	bounds, _ := sla.Parse("mean=100ms,max=5s")
	cfg := Config{URL: srv.URL + "/fibonacci", Method: "POST", Body: []byte(`{"fibonacci_number": 20}`), ContentType: "application/json",
		Levels: []int{1, 2, 4, 16, 32}, Requests: 64, Timeout: 5 * time.Second, SLA: bounds}
	s, err := Run(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s.SLAMax == nil || *s.SLAMax != 4 {
		t.Fatalf("sla_max_concurrency: got %v, want 4; levels %+v", s.SLAMax, s.Levels)
	}
	dir := t.TempDir()
	if err := WriteDir(dir, s); err != nil {
		t.Fatal(err)
	}

	t.Run("results.csv header and rows", func(t *testing.T) {
		b, _ := os.ReadFile(filepath.Join(dir, "results.csv"))
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if lines[0] != "concurrency,requests,mean_ms,p98_ms,max_ms,rps,failed" {
			t.Fatalf("header: got %q", lines[0])
		}
		rows, err := ReadCSV(filepath.Join(dir, "results.csv"))
		if err != nil || len(rows) != 5 || rows[4].Concurrency != 32 || rows[4].Requests != 64 {
			t.Fatalf("got %+v, %v; want 5 levels ending at 32", rows, err)
		}
	})
	t.Run("summary.json answers", func(t *testing.T) {
		b, _ := os.ReadFile(filepath.Join(dir, "summary.json"))
		var got struct {
			Max    *int               `json:"sla_max_concurrency"`
			SLA    map[string]float64 `json:"sla"`
			Target string             `json:"target"`
			Levels []json.RawMessage  `json:"levels"`
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if got.Max == nil || *got.Max != 4 || got.SLA["mean"] != 100 || len(got.Levels) != 5 || got.Target != cfg.URL {
			t.Fatalf("summary.json: got %+v", got)
		}
	})
	t.Run("results.md has the table and answer", func(t *testing.T) {
		b, _ := os.ReadFile(filepath.Join(dir, "results.md"))
		for _, want := range []string{"| Concurrency | Mean request time (ms) | Longest request (ms) | 98th percentile (ms)", "| 32 |", "**4** concurrent users"} {
			if !bytes.Contains(b, []byte(want)) {
				t.Errorf("results.md lacks %q:\n%s", want, b)
			}
		}
	})
	t.Run("chart.svg plots every level", func(t *testing.T) {
		b, _ := os.ReadFile(filepath.Join(dir, "chart.svg"))
		if n := bytes.Count(b, []byte("<polyline")); n != 2 {
			t.Fatalf("got %d lines, want mean and p98", n)
		}
		if n := bytes.Count(b, []byte("<circle")); n != 10 {
			t.Fatalf("got %d points, want 2 x 5 levels", n)
		}
	})
}

func TestSweepNoLevelMeets(t *testing.T) {
	// Nothing listens on the port of a closed server: every request is
	// refused, every level counted, none meets, the sweep still completes.
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	bounds, _ := sla.Parse("mean=200ms")
	s, err := Run(context.Background(), Config{URL: url, Method: "GET", Levels: []int{1, 2}, Requests: 5, Timeout: time.Second, SLA: bounds}, io.Discard)
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
