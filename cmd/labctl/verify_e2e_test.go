package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
	"github.com/cloudlabs/cloudlabs/internal/verify"
)

// TestVerifyTwin runs labctl verify and labctl check against a twin that
// labctl up stood up: verify passes and lists every machine; a fibonacci
// backend killed by hand and a rendered file edited by hand make it fail,
// naming the machine, the check, and for the file both hashes.
func TestVerifyTwin(t *testing.T) {
	if testing.Short() {
		t.Skip("the local twin end to end takes minutes; run without -short")
	}
	tw := newTwin(t)
	tw.up()

	out := tw.run("verify")
	machines := []string{"phonebook", "fibonacci-lb", "fibonacci-node-1", "fibonacci-node-2", "fibonacci-node-3", "cachepool-node-1", "cachepool-node-2"}
	for _, m := range machines {
		if !strings.Contains(out, "\n"+m+" ") {
			t.Errorf("verify does not list machine %s:\n%s", m, out)
		}
	}
	if !strings.Contains(out, ": 0 failed") {
		t.Errorf("verify on a fresh twin:\n%s", out)
	}

	junit := filepath.Join(t.TempDir(), "verify.xml")
	var rep struct {
		Status  string
		Results []struct{ Machine, Check, Status string }
	}
	if err := json.Unmarshal([]byte(tw.run("verify", "--json", "--junit", junit)), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Status != "OK" || len(rep.Results) < 3*len(machines) {
		t.Errorf("verify --json: status %s with %d results, want OK with at least 3 per machine", rep.Status, len(rep.Results))
	}
	// The twin's cache pool is checked across its nodes; it has no Riak
	// (the phone book keeps its embedded store), so no ring check.
	var agree []string
	for _, r := range rep.Results {
		if r.Machine == "riak" {
			t.Errorf("verify --json checks Riak on the twin: %s/%s", r.Machine, r.Check)
		}
		if r.Machine+"/"+r.Check == "cachepool/agree" {
			agree = append(agree, r.Status)
		}
	}
	if len(agree) != 1 || agree[0] != "OK" {
		t.Errorf("verify --json: cachepool/agree results %v, want one OK", agree)
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Suites []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &suites); err != nil {
		t.Fatalf("--junit: %v\n%s", err, b)
	}
	tests := 0
	for _, s := range suites.Suites {
		tests += s.Tests
	}
	if tests != len(rep.Results) {
		t.Errorf("--junit has %d test cases, --json %d results", tests, len(rep.Results))
	}

	line, code := tw.check("fibonacci-node-1/health:fibonacci")
	if code != 0 || !strings.HasPrefix(line, "fibonacci-node-1/health:fibonacci OK - ") || !strings.Contains(line, " | ") {
		t.Errorf("check on a healthy backend: exit %d, %q", code, line)
	}

	// Break two things by hand.
	victim := tw.pid("fibonacci-node-2", "fibonacci")
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, victim)
	conf := filepath.Join(tw.state, e2eStack, "fibonacci-lb", "etc/cloudlabs/nginx/nginx.conf")
	orig, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	edited := append(append([]byte(nil), orig...), "# tuned by hand\n"...)
	if err := os.WriteFile(conf, edited, 0o644); err != nil {
		t.Fatal(err)
	}

	out, err = tw.try("verify", "--stack", e2eStack, "--stacks-dir", tw.stacks, "--retries", "1")
	if err == nil {
		t.Fatalf("verify passed with a backend killed and a file edited:\n%s", out)
	}
	msg := err.Error()
	for _, want := range []string{
		"CRITICAL fibonacci-node-2 service:fibonacci: expected running, found pid " + fmt.Sprint(victim),
		"CRITICAL fibonacci-node-2 health:fibonacci",
		"CRITICAL fibonacci/lb-backends",
		"CRITICAL fibonacci-lb file:/etc/cloudlabs/nginx/nginx.conf: expected sha256 " + sha(orig),
		"found sha256 " + sha(edited),
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("verify's failure does not say %q:\n%s", want, msg)
		}
	}
	for _, l := range strings.Split(msg, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "CRITICAL fibonacci-node-1 ") || strings.HasPrefix(strings.TrimSpace(l), "CRITICAL fibonacci-node-3 ") ||
			strings.HasPrefix(strings.TrimSpace(l), "CRITICAL cachepool ") {
			t.Errorf("verify blames a healthy backend: %s", l)
		}
	}
	line, code = tw.check("fibonacci-node-2/service:fibonacci")
	if code != 2 || !strings.HasPrefix(line, "fibonacci-node-2/service:fibonacci CRITICAL - ") {
		t.Errorf("check on the killed backend: exit %d, %q; want exit 2 CRITICAL", code, line)
	}

	// A monitor watching the broken twin alerts once; refresh and up heal
	// it, and it alerts once back to OK: one webhook call each way.
	hook := newAlertSink(t)
	mon := exec.Command(tw.labctl, "monitor", "--stack", e2eStack, "--stacks-dir", tw.stacks,
		"--every", "300ms", "--verify-every", "300ms", "--retries", "0", "--webhook", hook.url, "--charts", t.TempDir())
	mon.Dir = testkit.ModuleRoot(t)
	mon.Env = tw.env
	if err := mon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mon.Process.Kill(); _ = mon.Wait() })
	const watched = "fibonacci-node-2/service:fibonacci"
	testkit.Eventually(t, "a CRITICAL alert for "+watched, 60*time.Second, func() bool { return hook.count(watched, verify.Critical) > 0 })
	if err := os.WriteFile(conf, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	tw.run("refresh")
	tw.up()
	testkit.Eventually(t, "an OK alert for "+watched, 60*time.Second, func() bool { return hook.count(watched, verify.OK) > 0 })
	_ = mon.Process.Signal(syscall.SIGTERM)
	_ = mon.Wait()
	if c, o := hook.count(watched, verify.Critical), hook.count(watched, verify.OK); c != 1 || o != 1 {
		t.Errorf("webhook alerts for %s: %d to CRITICAL and %d to OK, want one each way", watched, c, o)
	}
}

// alertSink is a webhook on loopback that records the monitor's alerts.
type alertSink struct {
	url    string
	mu     sync.Mutex
	alerts []verify.Alert
}

func newAlertSink(t *testing.T) *alertSink {
	s := &alertSink{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a verify.Alert
		if err := json.NewDecoder(r.Body).Decode(&a); err != nil {
			t.Errorf("webhook body: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.alerts = append(s.alerts, a)
		s.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

// count is how many alerts for check id went to status to.
func (s *alertSink) count(id string, to verify.Status) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, a := range s.alerts {
		if a.ID == id && a.To == to {
			n++
		}
	}
	return n
}

// check runs labctl check NAME and returns its one line and exit code.
func (tw *twin) check(name string) (string, int) {
	tw.t.Helper()
	cmd := exec.Command(tw.labctl, "check", name, "--stack", e2eStack, "--stacks-dir", tw.stacks, "--retries", "1")
	cmd.Dir = testkit.ModuleRoot(tw.t)
	cmd.Env = tw.env
	out, err := cmd.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		tw.t.Fatalf("labctl check %s: %v", name, err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) != 1 {
		tw.t.Errorf("labctl check %s printed %d lines, want 1:\n%s", name, len(lines), out)
	}
	return lines[0], code
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
