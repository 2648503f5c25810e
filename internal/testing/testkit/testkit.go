// Package testkit starts the real programs tests need (memcached, nginx, the
// project's own binaries) on loopback and fails with the install line when
// one is missing: a test never skips silently for want of a binary.
package testkit

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/system"
)

// Binary returns the path of a program on PATH (or in /usr/sbin, where
// Debian puts nginx), failing the test with the apt-get line when absent.
func Binary(t testing.TB, name, debianPackage string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/usr/local/bin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	t.Fatalf("%s not found: install it with `apt-get install -y %s` (scripts/test.sh does this)", name, debianPackage)
	return ""
}

// FreePort returns a TCP port that was free on 127.0.0.1 a moment ago,
// taken outside the kernel's ephemeral range so that no outgoing
// connection of another test takes it before the caller's server binds
// it (system.FreeLoopbackPorts).
func FreePort(t testing.TB) int {
	t.Helper()
	ports, err := system.FreeLoopbackPorts(1)
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	return ports[0]
}

// WaitTCP waits until addr accepts connections, failing the test after d.
func WaitTCP(t testing.TB, addr string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not accept connections within %v: %v", addr, d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Process is a program started by Start; Stop kills it (also at test end).
type Process struct {
	Cmd  *exec.Cmd
	Addr string
}

// Stop kills the process and waits for it. Safe to call twice.
func (p *Process) Stop() {
	if p.Cmd.Process != nil && p.Cmd.ProcessState == nil {
		_ = p.Cmd.Process.Kill()
		_ = p.Cmd.Wait()
	}
}

// Start runs bin with args, wires its output to the test log, waits until
// addr accepts connections and stops it when the test ends.
func Start(t testing.TB, addr, bin string, args ...string) *Process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdout = testWriter{t}
	cmd.Stderr = testWriter{t}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	p := &Process{Cmd: cmd, Addr: addr}
	t.Cleanup(p.Stop)
	WaitTCP(t, addr, 10*time.Second)
	return p
}

// Memcached starts the real memcached on a free loopback port.
func Memcached(t testing.TB, extraArgs ...string) *Process {
	t.Helper()
	bin := Binary(t, "memcached", "memcached")
	port := FreePort(t)
	args := append([]string{"-l", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "0", "-m", "64"}, extraArgs...)
	if os.Geteuid() == 0 {
		args = append(args, "-u", "nobody")
	}
	return Start(t, fmt.Sprintf("127.0.0.1:%d", port), bin, args...)
}

// BuildApp compiles one of the project's commands (a package path below the
// module root, such as "apps/fibonacci") into a temporary folder.
func BuildApp(t testing.TB, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, "./"+pkg)
	cmd.Dir = ModuleRoot(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// ModuleRoot is the repository root, found above the test's folder.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	root, err := system.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", p)
	return len(p), nil
}
