package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/cloudlabs/cloudlabs/internal/measure/poolreport"
	"github.com/cloudlabs/cloudlabs/internal/measure/poolreport/poolreporttest"
	"github.com/cloudlabs/cloudlabs/internal/pool/ring"
)

// The computed table needs no pool: every row is ring.Moved's figure for
// its scheme and step (the lab's exact, 4 decimals in the CSV).
func TestPoolReportComputedMovementIsTheRingsTable(t *testing.T) {
	dir := t.TempDir()
	out, err := measureRun(t, "pool-report", "movement", "--computed-only", "--out", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, filepath.Join(dir, "report.md")) {
		t.Errorf("stdout %q does not name the report", out)
	}
	rows := readCSVFile(t, filepath.Join(dir, "movement-computed.csv"))
	if len(rows) != 15 {
		t.Fatalf("movement-computed.csv: %d rows, want a header and 14 (1→2..7→8, 8→7..2→1)", len(rows))
	}
	head := rows[0]
	for _, row := range rows[1:] {
		from, _ := strconv.Atoi(row[0])
		to, _ := strconv.Atoi(row[1])
		if parts, _ := strconv.Atoi(row[2]); parts != ring.MovedPartitions(from, to) {
			t.Errorf("%d→%d: %d lab partitions, ring says %d", from, to, parts, ring.MovedPartitions(from, to))
		}
		for i, s := range ring.Schemes() {
			if head[3+i] != s+"_computed" {
				t.Fatalf("column %d is %q, want %s_computed", 3+i, head[3+i], s)
			}
			want, _ := ring.Moved(s, from, to)
			if row[3+i] != strconv.FormatFloat(want, 'f', 4, 64) {
				t.Errorf("%d→%d %s: %s, ring.Moved says %.4f", from, to, s, row[3+i], want)
			}
		}
		if row[6] != strconv.FormatFloat(ring.MinimalShare(from, to), 'f', 4, 64) {
			t.Errorf("%d→%d minimum: %s", from, to, row[6])
		}
	}
	wellFormedSVG(t, filepath.Join(dir, "movement.svg"))
	if _, err := measureRun(t, "pool-report", "constant", "--computed-only", "--out", dir); err == nil || !strings.Contains(err.Error(), "movement") {
		t.Errorf("--computed-only with constant: err %v, want it refused naming movement", err)
	}
	if _, err := measureRun(t, "pool-report", "movement", "--computed-only"); err == nil || !strings.Contains(err.Error(), "--out") {
		t.Errorf("no --out: err %v, want it named", err)
	}
}

// The command against a real pool named by flags (no stack): its report
// folder, its numbers and the pool it leaves behind.
func TestPoolReportCommandAgainstRealPool(t *testing.T) {
	st := poolreporttest.Start(t, 3, 2, ring.SchemeLab)
	dir := t.TempDir()
	out, err := measureRun(t, "pool-report", "constant", "grow", "movement", "--out", dir,
		"--gallery", st.GalleryURL, "--manager", st.ManagerURL, "--token-file", st.TokenFile,
		"--seed", "7", "--images", "40", "--image-sizes", "2KB:1", "--requests", "200", "--batch", "20", "--concurrency", "4",
		"--n", "3", "--m", "2", "--repeats", "1", "--movement-keys", "40", "--epoch-wait", "30s")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, filepath.Join(dir, "report.md")) {
		t.Errorf("stdout %q does not name the report", out)
	}
	var rep poolreport.Report
	if err := json.Unmarshal(readFileT(t, filepath.Join(dir, "report.json")), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Manual) != 2 || rep.Movement == nil || len(rep.Movement.Measured) != 4 {
		t.Fatalf("%d manual runs, movement %+v: want constant and grow, 4 measured resizes", len(rep.Manual), rep.Movement)
	}
	for _, m := range rep.Manual {
		if m.Requests != 200 || m.Responses != 200 || m.Failed != 0 || len(m.Batches) != 10 {
			t.Errorf("%s: %d sent, %d answered, %d failed, %d points; want 200, 200, 0, 10", m.Scenario, m.Requests, m.Responses, m.Failed, len(m.Batches))
		}
	}
	if g := rep.Manual[1]; g.Scenario != poolreport.Grow || len(g.Resizes) != 1 || g.Resizes[0].FromN != 2 || g.Resizes[0].ToN != 3 {
		t.Errorf("grow run %+v: want one resize 2→3", g.Resizes)
	}
	for _, m := range rep.Movement.Measured {
		if m.Share != m.Predicted || !m.RoutingMatches {
			t.Errorf("%d→%d: measured %.4f, ring %.4f, routing %s", m.FromN, m.ToN, m.Share, m.Predicted, m.Routing)
		}
	}
	if rep.Config.Seed != 7 || rep.Target.GalleryURL != st.GalleryURL || rep.Target.ManagerURL != st.ManagerURL || rep.Scheme != ring.SchemeLab {
		t.Errorf("report: seed %d, target %+v, scheme %q", rep.Config.Seed, rep.Target, rep.Scheme)
	}
	if !strings.HasPrefix(rep.Command, "labctl pool-report constant grow movement ") || !strings.Contains(rep.Command, "--seed=7") || strings.Contains(rep.Command, st.Token) {
		t.Errorf("command %q: want the scenarios and flags, never the token", rep.Command)
	}
	for _, f := range []string{"manual-constant-latency.svg", "manual-constant-throughput.svg", "manual-grow-latency.svg", "manual-grow-throughput.svg", "movement.svg"} {
		wellFormedSVG(t, filepath.Join(dir, f))
	}
	mgr := &poolreport.Manager{URL: st.ManagerURL, Token: st.Token}
	p, err := mgr.Pool(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Nodes) != 2 || p.Mode != "manual" {
		t.Errorf("pool left at %d nodes, %s mode; found at 2, manual", len(p.Nodes), p.Mode)
	}
}

func readFileT(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readCSVFile(t *testing.T, path string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(string(readFileT(t, path)))).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

// wellFormedSVG parses path as XML and checks its root is svg with axis
// labels.
func wellFormedSVG(t *testing.T, path string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(string(readFileT(t, path))))
	root, labels := "", 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: not well-formed: %v", path, err)
		}
		if e, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = e.Name.Local
			}
			for _, a := range e.Attr {
				if a.Name.Local == "class" && (a.Value == "x-label" || a.Value == "y-label") {
					labels++
				}
			}
		}
	}
	if root != "svg" || labels < 2 {
		t.Errorf("%s: root %q, %d axis labels; want svg with both axes labelled", path, root, labels)
	}
}

// The stack's outputs fill what the flags leave out; the flags win; a
// missing value is named with its flag.
func TestPoolReportTargetFromOutputs(t *testing.T) {
	outs := auto.OutputMap{
		"galleryUrl":   {Value: "http://127.0.0.5:8080"},
		"managerUrl":   {Value: "http://127.0.0.6:8090"},
		"managerToken": {Value: "s3cret", Secret: true},
	}
	tg, err := fillFromOutputs(poolReportTarget{}, outs)
	if err != nil {
		t.Fatal(err)
	}
	if tg.GalleryURL != "http://127.0.0.5:8080" || tg.ManagerURL != "http://127.0.0.6:8090" || tg.token != "s3cret" {
		t.Errorf("from outputs: %+v, token %q", tg.Target, tg.token)
	}
	tg, err = fillFromOutputs(poolReportTarget{Target: poolreport.Target{GalleryURL: "http://flag"}, token: "flagtoken"}, outs)
	if err != nil {
		t.Fatal(err)
	}
	if tg.GalleryURL != "http://flag" || tg.ManagerURL != "http://127.0.0.6:8090" || tg.token != "flagtoken" {
		t.Errorf("flags and outputs: %+v, token %q: want the flags to win", tg.Target, tg.token)
	}
	_, err = fillFromOutputs(poolReportTarget{Target: poolreport.Target{Stack: "local"}}, auto.OutputMap{"galleryUrl": {Value: "http://g"}})
	if err == nil || !strings.Contains(err.Error(), "managerUrl (or --manager)") || !strings.Contains(err.Error(), "managerToken (or --token-file)") || strings.Contains(err.Error(), "galleryUrl") {
		t.Errorf("missing outputs: err %v, want managerUrl and managerToken named with their flags", err)
	}
}
