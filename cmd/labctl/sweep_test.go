package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

func TestSweepCommand(t *testing.T) {
	var n, served500, stalled atomic.Int64
	release := make(chan struct{})
	// Every 10th request fails with 500 and every 13th is never answered
	// (its handler waits for the client to give up, so the timeout is
	// certain): the sweep must count both and finish every level.
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch i := n.Add(1); {
		case i%10 == 0:
			served500.Add(1)
			http.Error(w, "boom", http.StatusInternalServerError)
		case i%13 == 0:
			stalled.Add(1)
			select {
			case <-r.Context().Done():
			case <-release:
			}
		default:
			if _, err := fmt.Fprint(w, `{"fibonacci_number": 20, "value": 6765}`); err != nil {
				t.Errorf("write reply: %v", err)
			}
		}
	}))
	defer flaky.Close()
	defer close(release) // before Close, which waits for the handlers
	dir := t.TempDir()
	out, err := measureRun(t, "sweep", "--target", flaky.URL, "--path", "/fibonacci", "--method", "POST", "--body", `{"fibonacci_number": 20}`,
		"--concurrency", "1,4,8", "--requests", "60", "--timeout", "500ms", "--out", dir)
	if err != nil {
		t.Fatalf("sweep: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "results.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if lines[0] != "concurrency,requests,mean_ms,p98_ms,max_ms,rps,failed" || len(lines) != 4 {
		t.Fatalf("results.csv:\n%s", b)
	}
	var s struct {
		Max    *int `json:"sla_max_concurrency"`
		Levels []struct {
			Concurrency int
			Result      struct {
				Requests int
				Errors   map[string]int
			}
		}
	}
	b, err = os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if s.Max != nil {
		t.Errorf("sla_max_concurrency %d: no level is free of failures", *s.Max)
	}
	if len(s.Levels) != 3 {
		t.Fatalf("summary.json has %d levels, want 3", len(s.Levels))
	}
	sum500, sumTimeouts := 0, 0
	for _, lv := range s.Levels {
		if lv.Result.Requests != 60 || lv.Result.Errors["status 500"] == 0 || lv.Result.Errors["timeout"] == 0 {
			t.Errorf("level %d: %+v, want 60 requests with 500s and timeouts counted", lv.Concurrency, lv.Result)
		}
		sum500 += lv.Result.Errors["status 500"]
		sumTimeouts += lv.Result.Errors["timeout"]
	}
	// Each unanswered request is a certain timeout; an answered one slower
	// than 500ms on a crowded machine would only add to them.
	if got, want := sum500, int(served500.Load()); got != want {
		t.Errorf("%d 500s counted, the server sent %d", got, want)
	}
	if got, want := sumTimeouts, int(stalled.Load()); got < want {
		t.Errorf("%d timeouts counted, want at least the %d requests never answered", got, want)
	}
	for _, f := range []string{"results.md", "chart.svg"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
}

func TestSweepRejectsBadFlags(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"bad level", []string{"--concurrency", "10,x"}, "not a positive integer"},
		{"bad sla", []string{"--sla", "p97=1s"}, "p97"},
		{"no out", []string{"--out", ""}, "--out"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"sweep", "--target", "http://127.0.0.1:1", "--out", t.TempDir()}, c.args...)
			if _, err := measureRun(t, args...); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, c.want)
			}
		})
	}
}
