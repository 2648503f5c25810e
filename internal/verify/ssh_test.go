package verify

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

// sshd is a real OpenSSH server the test started on 127.0.0.1 with its own
// host key, config and authorized key, stopped when the test ends.
type sshd struct {
	addr    string
	user    string
	hostKey ssh.PublicKey
	userKey ssh.Signer
}

// newKey makes an ed25519 key pair: the signer and the OpenSSH PEM of the
// private key.
func newKey(t *testing.T) (ssh.Signer, []byte) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return signer, pem.EncodeToMemory(block)
}

// startSSHD starts sshd; extra lines are added to its configuration.
func startSSHD(t *testing.T, extra ...string) *sshd {
	t.Helper()
	bin := testkit.Binary(t, "sshd", "openssh-server")
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		// sshd as root insists on its privilege-separation folder.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatalf("sshd needs /run/sshd: %v", err)
		}
	}
	dir := t.TempDir()
	hostSigner, hostPEM := newKey(t)
	userSigner, _ := newKey(t)
	hostKeyFile := filepath.Join(dir, "host_ed25519")
	authFile := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(hostKeyFile, hostPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(authFile, ssh.MarshalAuthorizedKey(userSigner.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	port := testkit.FreePort(t)
	conf := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
PidFile %s
AuthorizedKeysFile %s
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
AllowTcpForwarding yes
LogLevel VERBOSE
`, port, hostKeyFile, filepath.Join(dir, "sshd.pid"), authFile) + strings.Join(extra, "\n")
	confFile := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(bin, "-t", "-f", confFile).CombinedOutput(); err != nil {
		t.Fatalf("sshd -t: %v\n%s", err, b)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	// Its log goes to a file, not a pipe: a pipe would keep Wait waiting
	// for the per-connection children that hold it. The whole process
	// group (sshd and its children) is killed at the end.
	logFile, err := os.Create(filepath.Join(dir, "sshd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-D", "-e", "-f", confFile)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sshd: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		logFile.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logFile.Name())
			t.Logf("sshd log:\n%s", b)
		}
	})
	testkit.WaitTCP(t, addr, 10*time.Second)
	return &sshd{addr: addr, user: u.Username, hostKey: hostSigner.PublicKey(), userKey: userSigner}
}

func (s *sshd) config() SSHConfig {
	return SSHConfig{Addr: s.addr, User: s.user, Key: s.userKey, HostKey: string(ssh.MarshalAuthorizedKey(s.hostKey))}
}

func dialSSH(t *testing.T, cfg SSHConfig) *SSH {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	c, err := DialSSH(ctx, cfg)
	if err != nil {
		t.Fatalf("DialSSH: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestSSHPinnedHostKeyPassesAndCommandExitAndOutputComeBack(t *testing.T) {
	s := startSSHD(t)
	c := dialSSH(t, s.config())
	out, code, err := c.Run(t.Context(), "printf 'hello from %s\\n' sshd; exit 3")
	if err != nil {
		t.Fatal(err)
	}
	if out != "hello from sshd\n" || code != 3 {
		t.Errorf("Run: got (%q, exit %d), want (\"hello from sshd\\n\", exit 3)", out, code)
	}
	out, code, err = c.Run(t.Context(), "id -un")
	if err != nil || code != 0 || strings.TrimSpace(out) != s.user {
		t.Errorf("id -un: got (%q, %d, %v), want %s", out, code, err, s.user)
	}
}

// A server that allows fewer sessions than the checks run at once (its
// MaxSessions) refuses the extra ones with "connect failed"; every command
// still runs, waiting its turn.
func TestSSHCommandsBeyondTheServersSessionLimitWaitTheirTurn(t *testing.T) {
	s := startSSHD(t, "MaxSessions 2")
	c := dialSSH(t, s.config())
	const n = 8
	type result struct {
		out  string
		code int
		err  error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// Each command holds its session a while, so they overlap.
			out, code, err := c.Run(t.Context(), fmt.Sprintf("sleep 0.2; echo %d", i))
			results[i] = result{out, code, err}
		})
	}
	wg.Wait()
	for i, r := range results {
		if r.err != nil || r.code != 0 || r.out != fmt.Sprintf("%d\n", i) {
			t.Errorf("command %d: got (%q, exit %d, %v), want (\"%d\\n\", exit 0, nil)", i, r.out, r.code, r.err, i)
		}
	}
}

func TestSSHPinnedKnownHostsLinePasses(t *testing.T) {
	s := startSSHD(t)
	cfg := s.config()
	host, port, _ := net.SplitHostPort(s.addr)
	cfg.HostKey = fmt.Sprintf("[%s]:%s %s", host, port, ssh.MarshalAuthorizedKey(s.hostKey))
	c := dialSSH(t, cfg)
	if _, code, err := c.Run(t.Context(), "true"); err != nil || code != 0 {
		t.Fatalf("true: exit %d, %v", code, err)
	}
	// A line for another host pins nothing for this one.
	cfg.HostKey = fmt.Sprintf("other.example %s", ssh.MarshalAuthorizedKey(s.hostKey))
	c2, err := DialSSH(t.Context(), cfg)
	if err == nil {
		c2.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "not "+s.addr) {
		t.Errorf("a known_hosts line of another host: got %v, want a refusal naming %s", err, s.addr)
	}
}

func TestSSHWrongHostKeyRefused(t *testing.T) {
	s := startSSHD(t)
	other, _ := newKey(t)
	cfg := s.config()
	cfg.HostKey = string(ssh.MarshalAuthorizedKey(other.PublicKey()))
	c, err := DialSSH(t.Context(), cfg)
	if err == nil {
		c.Close()
		t.Fatal("a server whose host key is not the pinned one was accepted")
	}
	if !errors.Is(err, ErrHostKey) || !strings.Contains(err.Error(), ssh.FingerprintSHA256(s.hostKey)) {
		t.Errorf("got %v, want ErrHostKey naming the offered key %s", err, ssh.FingerprintSHA256(s.hostKey))
	}
}

func TestSSHNoPinnedHostKeyRefusedBeforeConnecting(t *testing.T) {
	// Nothing listens here: the refusal must come before any connection.
	cfg := SSHConfig{Addr: "127.0.0.1:1", User: "x"}
	_, err := DialSSH(t.Context(), cfg)
	if err == nil || !strings.Contains(err.Error(), "trust a key on first use") {
		t.Errorf("no pinned key: got %v, want a refusal to trust on first use", err)
	}
}

func TestSSHWrongUserKeyRefused(t *testing.T) {
	s := startSSHD(t)
	other, _ := newKey(t)
	cfg := s.config()
	cfg.Key = other
	c, err := DialSSH(t.Context(), cfg)
	if err == nil {
		c.Close()
		t.Fatal("a user key not in authorized_keys was accepted")
	}
	if errors.Is(err, ErrHostKey) || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Errorf("got %v, want an authentication failure", err)
	}
}

// TestSSHRoleChecks runs the checks a role derives through the SSH
// transport: file and download hashes read on the machine (a drift named
// with both hashes), a port and a health endpoint reached from the machine
// through the connection, packages asked of dpkg.
func TestSSHRoleChecks(t *testing.T) {
	s := startSSHD(t)
	c := dialSSH(t, s.config())
	dir := t.TempDir()
	conf := filepath.Join(dir, "app.conf")
	bin := filepath.Join(dir, "app")
	if err := os.WriteFile(conf, []byte("key = value\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			fmt.Fprintln(w, "ok")
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	r := role.Role{
		Name:      "app",
		Packages:  []string{"openssh-server", "cloudlabs-no-such-package"},
		Downloads: []role.Download{{Name: "app", Path: bin, SHA256: sha("#!/bin/sh\n")}},
		Files:     []role.File{{Path: conf, Content: "key = other\n"}},
		Services:  []role.Service{{Name: "app", Exec: bin, Port: port, Health: "/healthz"}, {Name: "broken", Exec: bin, Port: port, Health: "/missing"}},
	}
	var checks []Check
	for _, ch := range ChecksFor(Machine{Name: "m1", Role: r, Transport: c}) {
		// systemd does not run in the test's container: the service and
		// enabled checks are the ones this test leaves out.
		if !strings.HasPrefix(ch.Name, "service:") && !strings.HasPrefix(ch.Name, "enabled:") {
			checks = append(checks, ch)
		}
	}
	rs := Runner{Parallel: 4, Timeout: 10 * time.Second}.Run(t.Context(), checks)
	want := map[string]Status{
		"port:app": OK, "health:app": OK, "port:broken": OK, "health:broken": Critical,
		"download:app": OK, "file:" + conf: Critical,
		"package:openssh-server": OK, "package:cloudlabs-no-such-package": Critical,
	}
	if len(rs) != len(want) {
		t.Fatalf("got %d results, want %d: %+v", len(rs), len(want), rs)
	}
	for _, r := range rs {
		w, ok := want[r.Check]
		if !ok || r.Status != w {
			t.Errorf("%s: got %s (expected %s, found %s), want %s", r.Check, r.Status, r.Expected, r.Found, w)
		}
	}
	drift := find(t, rs, "m1", "file:"+conf)
	if !strings.Contains(drift.Expected, sha("key = other\n")) || !strings.Contains(drift.Found, sha("key = value\n")) {
		t.Errorf("drift: got expected %q found %q, want both hashes", drift.Expected, drift.Found)
	}
	if got := find(t, rs, "m1", "health:broken").Found; got != "status 404" {
		t.Errorf("health:broken found %q, want status 404", got)
	}
	var buf bytes.Buffer
	_ = WriteTable(&buf, rs)
	t.Logf("\n%s", buf.String())
}
