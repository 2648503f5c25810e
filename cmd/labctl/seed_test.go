package main

import (
	"encoding/json"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cloudlabs/cloudlabs/internal/measure/contactgen"
	"github.com/cloudlabs/cloudlabs/internal/measure/replay"
	"github.com/cloudlabs/cloudlabs/internal/testing/fakephonebook"
)

func TestSeedWorkloadReplay(t *testing.T) {
	book := fakephonebook.New()
	srv := httptest.NewServer(book)
	defer srv.Close()

	t.Run("seed stores the seeded contacts", func(t *testing.T) {
		out, err := measureRun(t, "seed", "--target", srv.URL, "--contacts", "300", "--seed", "5", "--concurrency", "8")
		if err != nil {
			t.Fatalf("seed: %v\n%s", err, out)
		}
		if !strings.Contains(out, "300 stored, 0 errors") {
			t.Errorf("report %q lacks the count", out)
		}
		want := contactgen.Generate(5, 300)
		if book.Len() != 300 {
			t.Fatalf("book has %d contacts, want 300", book.Len())
		}
		for _, c := range want {
			if got, ok := book.Number(c.Name); !ok || got != c.Number {
				t.Fatalf("%q stored as %q (found: %v), want %q", c.Name, got, ok, c.Number)
			}
		}
	})

	dir := t.TempDir()
	csv := filepath.Join(dir, "workload.csv")
	t.Run("workload is byte-for-byte repeatable", func(t *testing.T) {
		args := []string{"workload", "--requests", "100", "--adds", "20", "--seed", "5", "--contacts", "300"}
		a, err := measureRun(t, args...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := measureRun(t, append(args, "--out", csv)...); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(csv)
		if err != nil {
			t.Fatal(err)
		}
		if a != string(b) {
			t.Fatal("stdout and --out differ for the same arguments")
		}
		if !strings.HasPrefix(a, "method,path,body,name,number\n") || strings.Count(a, "\n") != 101 {
			t.Fatalf("want the header and 100 rows, got:\n%.200s", a)
		}
	})

	t.Run("replay checks every reply", func(t *testing.T) {
		js := filepath.Join(dir, "replay.json")
		out, err := measureRun(t, "replay", "--target", srv.URL, "--concurrency", "4", "--json", js, csv)
		if err != nil {
			t.Fatalf("replay: %v\n%s", err, out)
		}
		var rep replay.Report
		b, err := os.ReadFile(js)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Kind != "replay" || rep.Adds != 20 || rep.Gets != 80 || rep.Result.Requests != 100 || rep.Result.Failed != 0 {
			t.Fatalf("report %+v, want 20 adds, 80 gets, no failure", rep)
		}
		for _, want := range []string{"p98", "p99", "throughput"} {
			if !strings.Contains(out, want) {
				t.Errorf("text report lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("replay against other data counts mismatches and 404s", func(t *testing.T) {
		cases := []struct {
			name string
			fill func(*fakephonebook.Server)
			kind string
		}{
			{"same names, other numbers", func(b *fakephonebook.Server) {
				for _, c := range contactgen.Generate(5, 300) {
					b.Set(c.Name, "+10")
				}
			}, "body mismatch"},
			{"empty book", func(*fakephonebook.Server) {}, "status 404"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				other := fakephonebook.New()
				c.fill(other)
				srv2 := httptest.NewServer(other)
				defer srv2.Close()
				js := filepath.Join(t.TempDir(), "bad.json")
				if _, err := measureRun(t, "replay", "--target", srv2.URL, "--json", js, csv); err != nil {
					t.Fatal(err)
				}
				var rep replay.Report
				b, err := os.ReadFile(js)
				if err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(b, &rep); err != nil {
					t.Fatal(err)
				}
				if rep.Result.Errors[c.kind] != 80 || rep.Result.Failed != 80 {
					t.Fatalf("errors %v, want 80 %q (every get, no add)", rep.Result.Errors, c.kind)
				}
			})
		}
	})
}

func TestSeedFailsOverThreshold(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	out, err := measureRun(t, "seed", "--target", url, "--contacts", "10", "--max-errors", "3")
	if err == nil || !strings.Contains(err.Error(), "10 requests failed") {
		t.Fatalf("got %v, want a failure naming 10 failed requests", err)
	}
	// Every request failed, was counted as failed, and by its kind: the
	// report is whole though nothing answered.
	if !strings.Contains(out, ": 0 stored, 10 errors,") {
		t.Errorf("report does not count 10 failures and nothing stored:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^\s+refused\s+10\s`).MatchString(out) {
		t.Errorf("output does not count the 10 failures by their kind, refused:\n%s", out)
	}
}
