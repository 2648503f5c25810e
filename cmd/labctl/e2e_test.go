package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/cloudlabs/cloudlabs/internal/system"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
	"github.com/cloudlabs/cloudlabs/internal/twin/supervise"
)

// twin drives a built labctl against a stack of its own: its own stack
// file, state folder and backend, so it never touches a user's twin.
type twin struct {
	t       *testing.T
	labctl  string
	stacks  string
	state   string
	env     []string
	outputs map[string]any
}

const e2eStack = "e2e"

func newTwin(t *testing.T) *twin {
	t.Helper()
	if _, err := system.Tool("pulumi"); err != nil {
		t.Fatalf("%v", err)
	}
	testkit.Binary(t, "nginx", "nginx")
	testkit.Binary(t, "memcached", "memcached")
	tmp := t.TempDir()
	// The test owns its configuration (testLocal, written out): a user's
	// edit of stacks/Pulumi.local.yaml (labctl up -c saves there) changes
	// nothing it expects.
	tw := &twin{t: t, labctl: testkit.BuildApp(t, "cmd/labctl"), stacks: filepath.Join(tmp, "stacks"), state: filepath.Join(tmp, "state")}
	if err := os.MkdirAll(tw.stacks, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tw.stacks, "Pulumi."+e2eStack+".yaml"), []byte(testLocal), 0o644); err != nil {
		t.Fatal(err)
	}
	backend := filepath.Join(tmp, "backend")
	if err := os.MkdirAll(backend, 0o700); err != nil {
		t.Fatal(err)
	}
	tw.env = append(os.Environ(),
		"CLOUDLABS_STATE_DIR="+tw.state,
		"PULUMI_BACKEND_URL=file://"+backend,
		"PULUMI_CONFIG_PASSPHRASE=e2e",
	)
	// A deferred destroy that always runs, whatever failed (Terratest's
	// rule); if even destroy fails, every service still recorded in a pid
	// file below the state folder is stopped, so a failed run leaves no
	// process holding the next run's addresses.
	t.Cleanup(func() {
		if _, err := tw.try("destroy", "--stack", e2eStack, "--stacks-dir", tw.stacks); err != nil {
			t.Logf("cleanup destroy: %v", err)
			stopAll(t, tw.state)
		}
	})
	return tw
}

func (tw *twin) try(args ...string) (string, error) {
	cmd := exec.Command(tw.labctl, args...)
	cmd.Dir = testkit.ModuleRoot(tw.t)
	cmd.Env = tw.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String(), fmt.Errorf("labctl %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), tail(stderr.String(), 60))
	}
	return stdout.String(), nil
}

func (tw *twin) run(args ...string) string {
	tw.t.Helper()
	args = append(args, "--stack", e2eStack, "--stacks-dir", tw.stacks)
	start := time.Now()
	out, err := tw.try(args...)
	if err != nil {
		tw.t.Fatal(err)
	}
	tw.t.Logf("labctl %s: %s", strings.Join(args[:len(args)-4], " "), time.Since(start).Round(100*time.Millisecond))
	return out
}

func (tw *twin) up(config ...string) {
	tw.t.Helper()
	args := []string{"up"}
	for _, c := range config {
		args = append(args, "-c", c)
	}
	out := tw.run(args...)
	// up runs verify at its end: its summary names the machines it checked.
	if m := regexp.MustCompile(`(\d+) checks on (\d+) machines: 0 failed`).FindStringSubmatch(out); m == nil || m[1] == "0" || m[2] == "0" {
		tw.t.Fatalf("up did not end with a passing verify:\n%s", out)
	}
	tw.readOutputs()
}

func (tw *twin) readOutputs() {
	tw.t.Helper()
	out := tw.run("outputs", "--json")
	tw.outputs = map[string]any{}
	if err := json.Unmarshal([]byte(out), &tw.outputs); err != nil {
		tw.t.Fatalf("outputs --json: %v\n%s", err, out)
	}
}

func (tw *twin) str(key string) string {
	tw.t.Helper()
	s, ok := tw.outputs[key].(string)
	if !ok || s == "" {
		tw.t.Fatalf("output %s missing: %v", key, tw.outputs)
	}
	return s
}

func (tw *twin) list(key string) []string {
	tw.t.Helper()
	raw, ok := tw.outputs[key].([]any)
	if !ok {
		tw.t.Fatalf("output %s is not a list: %v", key, tw.outputs)
	}
	out := make([]string, len(raw))
	for i, v := range raw {
		out[i] = fmt.Sprint(v)
	}
	return out
}

// pid reads the pid of a service of a machine from its pid file.
func (tw *twin) pid(machine, service string) int {
	tw.t.Helper()
	b, err := os.ReadFile(filepath.Join(tw.state, e2eStack, machine, "run", "cloudlabs", service+".pid"))
	if err != nil {
		tw.t.Fatalf("pid of %s on %s: %v", service, machine, err)
	}
	pid, err := strconv.Atoi(strings.Fields(string(b))[0])
	if err != nil {
		tw.t.Fatalf("pid file of %s on %s: %q", service, machine, b)
	}
	return pid
}

// TestLocalTwin is the local twin's life: up, use, scale out and in, lose a
// backend and get it back, destroy — as a user does it, with labctl.
func TestLocalTwin(t *testing.T) {
	if testing.Short() {
		t.Skip("the local twin end to end takes minutes; run without -short")
	}
	tw := newTwin(t)

	tw.up()
	// A stack this checkout's workspace has no settings for (made from
	// another checkout, or .labctl/ removed since) still opens.
	if err := os.Remove(filepath.Join(testkit.ModuleRoot(t), ".labctl", "work", "Pulumi."+e2eStack+".yaml")); err != nil {
		t.Fatal(err)
	}
	tw.readOutputs()
	lb := tw.str("fibonacciUrl")
	t.Run("phonebook", func(t *testing.T) { checkPhonebook(t, tw.str("phonebookUrl")) })
	if got := tw.str("phonebookStore"); !strings.Contains(got, "embedded") {
		t.Errorf("phonebookStore: got %q, want the embedded store on the twin", got)
	}
	checkSpread(t, lb, tw.list("fibonacciBackends"), 3)
	t.Run("cache nodes", func(t *testing.T) {
		endpoints := tw.list("cachepoolEndpoints")
		if len(endpoints) != 2 {
			t.Fatalf("cachepoolEndpoints: got %v, want 2", endpoints)
		}
		for _, ep := range endpoints {
			checkMemcached(t, ep)
		}
	})
	t.Run("cache admin needs the stack's token", func(t *testing.T) {
		if got := tw.outputs["cachepoolAdminToken"]; got != "[secret]" {
			t.Fatalf("outputs --json shows cachepoolAdminToken as %v, want [secret]", got)
		}
		var secret map[string]any
		if err := json.Unmarshal([]byte(tw.run("outputs", "--json", "--show-secrets")), &secret); err != nil {
			t.Fatal(err)
		}
		token, _ := secret["cachepoolAdminToken"].(string)
		if len(token) < 32 {
			t.Fatalf("outputs --show-secrets: cachepoolAdminToken %q, want the token", token)
		}
		admins := tw.list("cachepoolAdmin")
		if len(admins) != 3 {
			t.Fatalf("cachepoolAdmin: got %v, want one per slot (3)", admins)
		}
		for _, a := range admins[:2] { // the active slots
			if code := putConfig(t, a, ""); code != http.StatusUnauthorized {
				t.Errorf("PUT %s/config without the token: status %d, want 401", a, code)
			}
			if code := putConfig(t, a, token); code != http.StatusOK {
				t.Errorf("PUT %s/config with the token: status %d, want 200", a, code)
			}
		}
	})

	t.Run("the manager owns the pool's size", func(t *testing.T) { checkElasticPool(t, tw) })

	before := map[int]int{}
	for i := 1; i <= 3; i++ {
		before[i] = tw.pid(fmt.Sprintf("fibonacci-node-%d", i), "fibonacci")
	}

	tw.up("fibonacci:nodes=5")
	if got := tw.str("fibonacciUrl"); got != lb {
		t.Errorf("scaling to 5 moved the load balancer: %s -> %s", lb, got)
	}
	checkSpread(t, lb, tw.list("fibonacciBackends"), 5)
	for i := 1; i <= 3; i++ {
		if got := tw.pid(fmt.Sprintf("fibonacci-node-%d", i), "fibonacci"); got != before[i] {
			t.Errorf("scaling to 5 restarted fibonacci-node-%d (pid %d -> %d)", i, before[i], got)
		}
	}

	gone := tw.list("fibonacciBackends")[2:]
	tw.up("fibonacci:nodes=2")
	if got := tw.str("fibonacciUrl"); got != lb {
		t.Errorf("scaling to 2 moved the load balancer: %s -> %s", lb, got)
	}
	backends := tw.list("fibonacciBackends")
	checkSpread(t, lb, backends, 2)
	for i := 1; i <= 2; i++ {
		if got := tw.pid(fmt.Sprintf("fibonacci-node-%d", i), "fibonacci"); got != before[i] {
			t.Errorf("scaling to 2 restarted fibonacci-node-%d (pid %d -> %d)", i, before[i], got)
		}
	}
	for _, addr := range gone {
		checkClosed(t, addr)
	}

	// A backend killed by hand comes back with refresh, then up.
	victim := before[1]
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatalf("kill fibonacci-node-1: %v", err)
	}
	waitGone(t, victim)
	tw.run("refresh")
	tw.up()
	if got := tw.pid("fibonacci-node-1", "fibonacci"); got == victim {
		t.Errorf("fibonacci-node-1 was not restarted (pid %d)", got)
	}
	checkSpread(t, lb, tw.list("fibonacciBackends"), 2)

	var pids []int
	for _, m := range []string{"fibonacci-node-1", "fibonacci-node-2"} {
		pids = append(pids, tw.pid(m, "fibonacci"))
	}
	addrs := append(append(tw.list("fibonacciBackends"), tw.list("cachepoolEndpoints")...), hostOf(t, lb), hostOf(t, tw.str("phonebookUrl")))
	tw.run("destroy")
	for _, pid := range pids {
		waitGone(t, pid)
	}
	for _, a := range addrs {
		checkClosed(t, a)
	}
	tw.readOutputs()
	if len(tw.outputs) != 0 {
		t.Errorf("outputs after destroy: %v, want none", tw.outputs)
	}
	if entries, err := os.ReadDir(filepath.Join(tw.state, e2eStack)); err == nil {
		t.Errorf("the twin's folder is left after destroy, with %d entries", len(entries))
	}
}

var client = &http.Client{Timeout: 10 * time.Second}

// checkElasticPool drives the manager as an operator would: the live
// membership starts at cachepool:nodes, grow and shrink change it by one
// within 10 s, the bounds answer 409, a shrunk slot's port is closed and
// refresh + up leave it parked, and no token is 401.
func checkElasticPool(t *testing.T, tw *twin) {
	var secret map[string]any
	if err := json.Unmarshal([]byte(tw.run("outputs", "--json", "--show-secrets")), &secret); err != nil {
		t.Fatal(err)
	}
	token, _ := secret["managerToken"].(string)
	if len(token) < 32 {
		t.Fatalf("managerToken %q, want the generated token", token)
	}
	mgr := tw.str("managerUrl")
	slots := tw.list("cachepoolSlots")
	if len(slots) != 3 {
		t.Fatalf("cachepoolSlots %v, want cachepool:maxNodes (3)", slots)
	}
	call := func(method, path, tok string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, mgr+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(res.Body).Decode(&body)
		return res.StatusCode, body
	}
	nodes := func() []string {
		t.Helper()
		code, body := call(http.MethodGet, "/api/pool", token)
		if code != http.StatusOK {
			t.Fatalf("GET /api/pool: status %d %v", code, body)
		}
		var ns []string
		for _, n := range body["nodes"].([]any) {
			ns = append(ns, n.(string))
		}
		return ns
	}
	if code, _ := call(http.MethodGet, "/api/pool", ""); code != http.StatusUnauthorized {
		t.Errorf("GET /api/pool without the token: status %d, want 401", code)
	}
	if got := nodes(); !slices.Equal(got, slots[:2]) {
		t.Fatalf("members %v, want the first cachepool:nodes slots %v", got, slots[:2])
	}
	if code, body := call(http.MethodPost, "/api/pool/grow", token); code != http.StatusOK {
		t.Fatalf("grow: status %d %v", code, body)
	}
	testkit.Eventually(t, "the third slot a member", 10*time.Second, func() bool { return len(nodes()) == 3 })
	checkMemcached(t, slots[2])
	// An up now leaves the members as they are and exports them.
	tw.up()
	if got := tw.list("cachepoolEndpoints"); !slices.Equal(got, nodes()) || len(got) != 3 {
		t.Errorf("cachepoolEndpoints after up %v, want the 3 live members %v", got, nodes())
	}
	if code, body := call(http.MethodPost, "/api/pool/grow", token); code != http.StatusConflict || !strings.Contains(fmt.Sprint(body["error"]), "3") {
		t.Errorf("grow at the 3 slots: status %d %v, want 409 naming the bound", code, body)
	}
	if code, body := call(http.MethodPost, "/api/pool/shrink", token); code != http.StatusOK {
		t.Fatalf("shrink: status %d %v", code, body)
	}
	testkit.Eventually(t, "the third slot out", 10*time.Second, func() bool { return len(nodes()) == 2 })
	checkClosed(t, slots[2])
	tw.run("refresh")
	tw.up()
	if got := nodes(); !slices.Equal(got, slots[:2]) {
		t.Errorf("after refresh and up, members %v, want %v: up must not fight the manager", got, slots[:2])
	}
	if got := tw.list("cachepoolEndpoints"); !slices.Equal(got, slots[:2]) {
		t.Errorf("cachepoolEndpoints after the shrink and up %v, want %v", got, slots[:2])
	}
	checkClosed(t, slots[2])
}

func checkPhonebook(t *testing.T, base string) {
	res, err := client.Get(base + "/add/")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatalf("GET /add/: %v", err)
	}
	if res.StatusCode != 200 || !strings.Contains(string(body), `action="/add/handle/"`) {
		t.Fatalf("GET /add/: %d, want the form posting to /add/handle/:\n%s", res.StatusCode, body)
	}
	for _, number := range []string{"+358 40 123", "(040) 555-1"} {
		req, err := http.NewRequest("POST", base+"/add/handle/", strings.NewReader(url.Values{"name": {"Åsa / twin?"}, "number": {number}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode/100 != 2 {
			t.Fatalf("add: %d", res.StatusCode)
		}
		res, err = client.Get(base + "/get/" + url.PathEscape("Åsa / twin?"))
		if err != nil {
			t.Fatal(err)
		}
		var c struct{ Name, Number string }
		err = json.NewDecoder(res.Body).Decode(&c)
		res.Body.Close()
		if err != nil || c.Number != number || c.Name != "Åsa / twin?" {
			t.Fatalf("get after add: got %+v (%v), want number %q", c, err, number)
		}
	}
}

// checkSpread sends 60 requests to the LB and wants every backend, and only
// the backends, to answer — retried while nginx reloads its upstream list
// (it polls the list every 10 s).
func checkSpread(t *testing.T, lb string, backends []string, n int) {
	t.Helper()
	if len(backends) != n {
		t.Fatalf("fibonacciBackends: got %v, want %d", backends, n)
	}
	want := strings.Join(sorted(backends), " ")
	testkit.Eventually(t, fmt.Sprintf("60 requests answered by exactly %q", want), 60*time.Second, func() bool {
		seen := map[string]bool{}
		for i := 0; i < 60; i++ {
			res, err := client.Post(lb+"/fibonacci", "application/json", strings.NewReader(`{"fibonacci_number": 30}`))
			if err != nil {
				t.Fatalf("POST %s/fibonacci: %v", lb, err)
			}
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil {
				t.Fatalf("POST %s/fibonacci: read the answer: %v", lb, err)
			}
			if res.StatusCode != 200 || string(body) != `{"fibonacci_number": 30, "value": 832040}` {
				t.Fatalf("POST /fibonacci through the LB: %d %s", res.StatusCode, body)
			}
			seen[res.Header.Get("X-Backend")] = true
		}
		var keys []string
		for k := range seen {
			keys = append(keys, k)
		}
		got := strings.Join(sorted(keys), " ")
		if got != want {
			t.Logf("answered by %q, want %q: nginx may not have reloaded yet", got, want)
		}
		return got == want
	})
}

// putConfig sets a cache node's policy through its admin API and returns
// the status.
func putConfig(t *testing.T, admin, token string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, admin+"/config", strings.NewReader(`{"policy": "lru"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PUT %s/config: %v", admin, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func checkMemcached(t *testing.T, endpoint string) {
	mc := memcache.New(endpoint)
	if err := mc.Set(&memcache.Item{Key: "twin", Value: []byte("hello")}); err != nil {
		t.Fatalf("set on %s: %v", endpoint, err)
	}
	it, err := mc.Get("twin")
	if err != nil || string(it.Value) != "hello" {
		t.Fatalf("get on %s: %v %v", endpoint, it, err)
	}
}

func checkClosed(t *testing.T, addr string) {
	t.Helper()
	testkit.WaitClosed(t, addr, 10*time.Second)
}

// waitGone waits for a process to end (testkit.ProcessGone: a zombie has
// ended).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	testkit.Eventually(t, fmt.Sprintf("process %d ending", pid), 10*time.Second, func() bool { return testkit.ProcessGone(pid) })
}

func hostOf(t *testing.T, base string) string {
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	if u.Port() == "" {
		return u.Host + ":80"
	}
	return u.Host
}

func sorted(xs []string) []string {
	out := append([]string(nil), xs...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// stopAll stops the service of every pid file below dir (a twin's state
// folder whose destroy failed).
func stopAll(t *testing.T, dir string) {
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".pid") {
			if err := supervise.Stop(path, 5*time.Second); err != nil {
				t.Logf("stop %s: %v", path, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Logf("stop the twin's services: %v", err)
	}
}
