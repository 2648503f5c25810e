// Package poolreporttest stands the elastic pool's real parts up on
// loopback for tests of labctl pool-report: PostgreSQL, versitygw,
// Prometheus, the manager and its autoscaler with twin slots running the
// real cachenode, and the gallery following the manager.
package poolreporttest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/pool/metrics/promstore"
	"github.com/cloudlabs/cloudlabs/internal/pool/nodegroup"
	"github.com/cloudlabs/cloudlabs/internal/pool/nodegroup/twin"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

// Stack is the elastic pool's real parts on loopback, as the twin runs
// them: PostgreSQL, versitygw, Prometheus scraping every second, the
// manager with twin slots running the real cachenode, the autoscaler as
// its own process, and the gallery following the manager.
type Stack struct {
	GalleryURL, ManagerURL, Token string
	// TokenFile holds Token, for --token-file.
	TokenFile string
	Slots     []twin.Slot
}

const (
	stackToken     = "pool-report-test-token"
	stackNodeToken = "pool-report-node-token"
)

var (
	binOnce sync.Once
	bins    map[string]string
	binErr  error
)

// appBinaries builds cachenode, manager and gallery once per test binary
// (into a folder that outlives each test's TempDir).
func appBinaries(t *testing.T) map[string]string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "poolreport-bin-")
		if err != nil {
			binErr = err
			return
		}
		bins = map[string]string{}
		for _, app := range []string{"cachenode", "manager", "gallery"} {
			out := filepath.Join(dir, app)
			cmd := exec.Command("go", "build", "-o", out, "./apps/"+app)
			cmd.Dir = testkit.ModuleRoot(t)
			if b, err := cmd.CombinedOutput(); err != nil {
				binErr = fmt.Errorf("go build ./apps/%s: %v\n%s", app, err, b)
				return
			}
			bins[app] = out
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return bins
}

// Start stands the pool up with slots slots, initial of them active,
// the gallery routing with scheme, and the autoscaler checking every
// second over a 3-second window.
func Start(t *testing.T, slots, initial int, scheme string) *Stack {
	t.Helper()
	b := appBinaries(t)
	root := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(root, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tokenFile, nodeTokenFile := write("manager.token", stackToken+"\n"), write("node.token", stackNodeToken+"\n")
	st := &Stack{Token: stackToken, TokenFile: tokenFile}
	for i := range slots {
		port, admin := testkit.FreePort(t), testkit.FreePort(t)
		name := fmt.Sprintf("cachepool-node-%d", i)
		st.Slots = append(st.Slots, twin.Slot{
			Slot: nodegroup.Slot{Name: name, Addr: "127.0.0.1:" + strconv.Itoa(port), Admin: "127.0.0.1:" + strconv.Itoa(admin)},
			Dir:  filepath.Join(root, name), Bind: "127.0.0.1",
			Service: role.Service{Name: "cachenode", Exec: b["cachenode"], Port: port, Args: []string{
				"--listen", "127.0.0.1:" + strconv.Itoa(port), "--admin-listen", "127.0.0.1:" + strconv.Itoa(admin),
				"--admin-token-file", nodeTokenFile, "--capacity", "8MB", "--policy", "lru"}},
		})
	}
	group, err := twin.New(st.Slots)
	if err != nil {
		t.Fatal(err)
	}
	// The manager starts and stops the slots; whatever runs at the end
	// is stopped here, after the processes below are gone (cleanups run
	// last-registered first).
	t.Cleanup(func() {
		for _, s := range st.Slots {
			_ = group.Stop(context.Background(), s.Slot)
		}
	})
	slotsJSON, err := json.Marshal(st.Slots)
	if err != nil {
		t.Fatal(err)
	}
	slotsFile := write("slots.json", string(slotsJSON))
	targets := filepath.Join(root, "targets.json")
	if err := promstore.WriteTargets(targets, nil); err != nil {
		t.Fatal(err)
	}
	promURL := startPrometheus(t, root, targets)

	db := testkit.Postgres(t)
	s3 := testkit.Versitygw(t)

	mgrAddr := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	common := []string{"--db", db, "--slots-file", slotsFile, "--cachenode-token-file", nodeTokenFile, "--nodegroup", "twin",
		"--prometheus", promURL, "--targets-file", targets, "--max-nodes", strconv.Itoa(slots)}
	testkit.Start(t, mgrAddr, b["manager"], append([]string{"--listen", mgrAddr, "--token-file", tokenFile,
		"--initial-nodes", strconv.Itoa(initial), "--node-capacity", "8MB", "--join-timeout", "20s", "--gallery"}, common...)...)
	st.ManagerURL = "http://" + mgrAddr
	// The autoscaler listens on nothing: started and stopped here.
	auto := exec.Command(b["manager"], append([]string{"autoscale", "--interval", "1s", "--window", "3s"}, common...)...)
	auto.Stdout, auto.Stderr = logWriter{t, "autoscaler"}, logWriter{t, "autoscaler"}
	if err := auto.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = auto.Process.Kill(); _ = auto.Wait() })

	galAddr := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	testkit.Start(t, galAddr, b["gallery"], "--listen", galAddr, "--database", db, "--bucket", "gallery",
		"--s3-endpoint", s3.Endpoint, "--s3-access-key", s3.AccessKey, "--s3-secret-key", s3.SecretKey, "--create-bucket",
		"--manager", st.ManagerURL, "--manager-token-file", tokenFile, "--manager-poll", "100ms",
		"--ring", scheme, "--gc-at-start=false",
		// Not the 100 ms default: on a shared 2-core machine a node may
		// stall that long, and a timed-out fill can land after a clear.
		"--cache-timeout", "2s")
	st.GalleryURL = "http://" + galAddr
	return st
}

// startPrometheus runs Debian's prometheus scraping the targets file
// every second and returns its URL once it is ready.
func startPrometheus(t *testing.T, root, targets string) string {
	t.Helper()
	bin := testkit.Binary(t, "prometheus", "prometheus")
	cfg, err := promstore.RenderConfig(promstore.ConfigArgs{TargetsFile: targets, ScrapeInterval: time.Second, RefreshInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(root, "prometheus.yml")
	if err := os.WriteFile(cfgFile, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	testkit.Start(t, addr, bin, "--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(root, "tsdb"),
		"--web.listen-address="+addr, "--log.level=warn")
	url := "http://" + addr
	testkit.Eventually(t, "prometheus ready", 30*time.Second, func() bool {
		resp, err := http.Get(url + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return url
}

type logWriter struct {
	t    *testing.T
	name string
}

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s: %s", w.name, bytes.TrimRight(p, "\n"))
	return len(p), nil
}
