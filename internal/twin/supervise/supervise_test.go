package supervise

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/system"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

// spec builds a Spec whose files live in a fresh folder.
func spec(t *testing.T, name, exec string, args ...string) Spec {
	t.Helper()
	dir := t.TempDir()
	s := Spec{
		Name: name, Exec: exec, Args: args, Dir: dir,
		LogFile: filepath.Join(dir, name+".log"),
		PidFile: filepath.Join(dir, name+".pid"),
		Timeout: 10 * time.Second,
	}
	t.Cleanup(func() { _ = Stop(s.PidFile, time.Second) })
	return s
}

func sh(t *testing.T, name, script string) Spec {
	t.Helper()
	return spec(t, name, "/bin/sh", "-c", script)
}

func TestStartHealthyThenStop(t *testing.T) {
	memcached := testkit.Binary(t, "memcached", "memcached")
	python := testkit.Binary(t, "python3", "python3")
	tests := []struct {
		name   string
		make   func(addr string, port int) Spec
		health string
	}{
		{"tcp check on memcached", func(addr string, port int) Spec {
			args := []string{"-l", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "0"}
			if os.Geteuid() == 0 {
				args = append(args, "-u", "nobody")
			}
			return spec(t, "memcached", memcached, args...)
		}, ""},
		{"http check on python http.server", func(addr string, port int) Spec {
			return spec(t, "web", python, "-m", "http.server", "--bind", "127.0.0.1", strconv.Itoa(port))
		}, "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port := testkit.FreePort(t)
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			s := tt.make(addr, port)
			s.Health = Health{Addr: addr, Path: tt.health}
			id, err := Start(context.Background(), s)
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			if got := Alive(s.PidFile); got != id.Pid {
				t.Fatalf("Alive = %d, want %d", got, id.Pid)
			}
			if !testkit.Listening(addr) {
				t.Fatalf("%s not listening after a healthy start", addr)
			}
			if err := Stop(s.PidFile, 5*time.Second); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			if got := Alive(s.PidFile); got != 0 {
				t.Fatalf("Alive after Stop = %d, want 0", got)
			}
			// Stop's promise is about processes; the kernel frees their
			// listening socket as they exit, which a dial may still race.
			testkit.WaitClosed(t, addr, 5*time.Second)
			if len(sessionMembers(id.Pid)) != 0 {
				t.Fatalf("session %d still has members after Stop", id.Pid)
			}
		})
	}
}

func TestStartFailureKillsAndReportsLog(t *testing.T) {
	tests := []struct {
		name    string
		script  string
		health  func(t *testing.T) Health
		timeout time.Duration
		want    []string
	}{
		{"exits during startup", "echo boom-marker >&2; exit 3",
			func(t *testing.T) Health { return Health{Addr: fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))} },
			10 * time.Second, []string{"exited during startup", "boom-marker"}},
		{"never healthy", "echo waiting-marker; exec sleep 300",
			func(t *testing.T) Health { return Health{Addr: fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))} },
			time.Second, []string{"not healthy within", "waiting-marker"}},
		{"missing executable", "", func(*testing.T) Health { return Health{} }, time.Second, []string{"no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sh(t, "svc", tt.script)
			if tt.script == "" {
				s.Exec = filepath.Join(t.TempDir(), "nope")
			}
			s.Health, s.Timeout = tt.health(t), tt.timeout
			_, err := Start(context.Background(), s)
			if err == nil {
				t.Fatal("Start succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if pid := Alive(s.PidFile); pid != 0 {
				t.Errorf("process %d left running after a failed start", pid)
			}
		})
	}
}

func TestStopEscalatesAndCatchesOrphans(t *testing.T) {
	tests := []struct {
		name   string
		script string
		// trapped is what the script prints once its TERM trap ran: the
		// proof that TERM reached the trap, not a shell still starting.
		trapped string
		before  func(t *testing.T, id Identity)
	}{
		// The trap outlives TERM (its sleep dies, the loop goes on): only
		// KILL ends the shell.
		{"ignores SIGTERM", `trap "echo got-term" TERM; touch "$READY"; while :; do sleep 0.05; done`, "got-term", nil},
		// The leader dies first; its background child stays in the session.
		{"orphaned worker", `sleep 300 & touch "$READY"; wait`, "", func(t *testing.T, id Identity) {
			testkit.Eventually(t, "worker start", 10*time.Second, func() bool { return len(sessionMembers(id.Pid)) >= 2 })
			if err := syscall.Kill(id.Pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			testkit.Eventually(t, "leader exit", 10*time.Second, func() bool { return !id.running() })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sh(t, "svc", tt.script)
			ready := withReady(t, &s)
			id, err := Start(context.Background(), s)
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			waitReady(t, ready)
			if tt.before != nil {
				tt.before(t, id)
			}
			if len(sessionMembers(id.Pid)) == 0 {
				t.Fatal("nothing running before Stop")
			}
			if err := Stop(s.PidFile, 300*time.Millisecond); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			if m := sessionMembers(id.Pid); len(m) != 0 {
				t.Fatalf("left running after Stop: %v", m)
			}
			if _, err := os.Stat(s.PidFile); !os.IsNotExist(err) {
				t.Fatalf("pid file left behind: %v", err)
			}
			if tt.trapped != "" && !strings.Contains(Tail(s.LogFile, 20), tt.trapped) {
				t.Fatalf("the TERM trap never ran (no %q in the log): TERM beat the trap, so this did not test escalation\n%s", tt.trapped, Tail(s.LogFile, 20))
			}
		})
	}
}

// withReady gives the script $READY, a file it creates once its traps are
// installed, and returns its path.
func withReady(t *testing.T, s *Spec) string {
	t.Helper()
	ready := filepath.Join(t.TempDir(), "ready")
	s.Env = append(append([]string(nil), DefaultEnv...), "READY="+ready)
	return ready
}

// waitReady waits (bounded) for the script's ready marker: signalling
// before it would race the shell's trap.
func waitReady(t *testing.T, ready string) {
	t.Helper()
	testkit.Eventually(t, "script ready", 10*time.Second, func() bool { _, err := os.Stat(ready); return err == nil })
}

func TestStartTimeUnreadable(t *testing.T) {
	tests := []struct {
		name     string
		failures int // reads that fail before one succeeds
		wantErr  bool
	}{
		{"transient failure is retried", 1, false},
		{"persistent failure fails the start", 1000, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			failed, child := 0, 0
			startTimeOf = func(pid int) (uint64, error) {
				child = pid
				if failed < tt.failures {
					failed++
					return 0, fmt.Errorf("injected /proc/%d/stat failure", pid)
				}
				st, err := system.ReadProcStat(pid)
				return st.StartTime, err
			}
			t.Cleanup(func() {
				startTimeOf = func(pid int) (uint64, error) {
					st, err := system.ReadProcStat(pid)
					return st.StartTime, err
				}
			})
			s := sh(t, "svc", `exec sleep 300`)
			id, err := Start(context.Background(), s)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "start time") {
					t.Fatalf("Start error %v, want one about the start time", err)
				}
				if child == 0 {
					t.Fatal("no start time was read: the failure was never injected")
				}
				// A failed start must not leave the child behind.
				testkit.Eventually(t, fmt.Sprintf("child %d gone after a failed start", child), 10*time.Second, func() bool { return testkit.ProcessGone(child) })
				if got, ok, _ := ReadPidFile(s.PidFile); ok {
					t.Fatalf("pid file %+v written for a service of unknown identity", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			if Alive(s.PidFile) != id.Pid {
				t.Fatalf("Alive(%s) = %d, want %d: the pid file does not identify the service", s.PidFile, Alive(s.PidFile), id.Pid)
			}
			if err := Stop(s.PidFile, time.Second); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			testkit.Eventually(t, fmt.Sprintf("pid %d gone after Stop", id.Pid), 10*time.Second, func() bool { return testkit.ProcessGone(id.Pid) })
		})
	}
}

func TestRecycledPidIsNeverSignalled(t *testing.T) {
	// A pid file naming this very test process with another start time is
	// what a recycled pid looks like.
	pidFile := filepath.Join(t.TempDir(), "old.pid")
	if err := writePidFile(pidFile, Identity{Pid: os.Getpid(), StartTime: 1}); err != nil {
		t.Fatal(err)
	}
	if got := Alive(pidFile); got != 0 {
		t.Fatalf("Alive = %d, want 0 for a recycled pid", got)
	}
	if err := Signal(pidFile, syscall.SIGTERM); err == nil {
		t.Fatal("Signal to a recycled pid succeeded")
	}
	if err := Stop(pidFile, time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	// Still here: nothing was sent to us.
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Fatalf("pid file of a gone service left behind: %v", err)
	}
}

func TestLimitNOFILE(t *testing.T) {
	tests := []struct {
		name  string
		limit int
	}{
		{"raised", 4096},
		{"lowered", 512},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "limit")
			s := sh(t, "svc", "ulimit -n > "+out+"; exec sleep 300")
			s.LimitNOFILE = tt.limit
			if _, err := Start(context.Background(), s); err != nil {
				t.Fatalf("Start: %v", err)
			}
			var got string
			testkit.Eventually(t, "limit written", 10*time.Second, func() bool {
				b, _ := os.ReadFile(out)
				got = strings.TrimSpace(string(b))
				return got != ""
			})
			if got != strconv.Itoa(tt.limit) {
				t.Fatalf("child open-file limit %s, want %d", got, tt.limit)
			}
		})
	}
}

func TestSignalReloads(t *testing.T) {
	s := sh(t, "svc", `trap "echo got-hup" HUP; touch "$READY"; while :; do sleep 0.05; done`)
	ready := withReady(t, &s)
	if _, err := Start(context.Background(), s); err != nil {
		t.Fatalf("Start: %v", err)
	}
	waitReady(t, ready)
	if err := Signal(s.PidFile, syscall.SIGHUP); err != nil {
		t.Fatalf("Signal: %v", err)
	}
	testkit.Eventually(t, "HUP handled", 10*time.Second, func() bool { return strings.Contains(Tail(s.LogFile, 5), "got-hup") })
	if Alive(s.PidFile) == 0 {
		t.Fatal("service died on HUP")
	}
}

func TestTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	var b strings.Builder
	for i := range 30 {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		n    int
		want string
	}{
		{"last two", 2, "line 28\nline 29"},
		{"more than the file", 100, strings.TrimRight(b.String(), "\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Tail(path, tt.n); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParkMarker(t *testing.T) {
	dir := t.TempDir()
	steps := []struct {
		name string
		do   func() error
		want bool
	}{
		{"fresh host", func() error { return nil }, false},
		{"unpark of a service never parked", func() error { return Unpark(dir, "cachenode") }, false},
		{"park", func() error { return Park(dir, "cachenode") }, true},
		{"park twice", func() error { return Park(dir, "cachenode") }, true},
		{"unpark", func() error { return Unpark(dir, "cachenode") }, false},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := Parked(dir, "cachenode"); got != s.want {
			t.Fatalf("%s: Parked = %v, want %v", s.name, got, s.want)
		}
		if Parked(dir, "other") {
			t.Fatalf("%s: another service of the host reads as parked", s.name)
		}
	}
	if got, want := ParkedFile(dir, "cachenode"), filepath.Join(dir, "run/cloudlabs/cachenode.parked"); got != want {
		t.Fatalf("ParkedFile = %q, want %q (beside the pid file)", got, want)
	}
}

// busyExecutable writes a script that sleeps and keeps it open for
// writing, as a child forked by another goroutine keeps a binary this
// process just wrote: exec refuses it with "text file busy".
func busyExecutable(t *testing.T) (path string, writer *os.File) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "service")
	if err := os.WriteFile(path, []byte("#!/bin/sh\nexec sleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return path, w
}

// TestStartWaitsOutTextFileBusy: an executable still open for writing
// somewhere is started once that writer is gone, not refused.
func TestStartWaitsOutTextFileBusy(t *testing.T) {
	path, w := busyExecutable(t)
	busy := 0
	defer func(f func()) { onTextBusy = f }(onTextBusy)
	onTextBusy = func() {
		busy++
		w.Close() // the forked child has exec'd
	}
	s := spec(t, "busy", path)
	id, err := Start(t.Context(), s)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if busy == 0 {
		t.Fatal("the executable was never busy: the test did not exercise the retry")
	}
	if got := Alive(s.PidFile); got != id.Pid {
		t.Errorf("Alive = %d, want %d", got, id.Pid)
	}
}

// TestStartGivesUpOnLastingTextFileBusy: a writer that stays makes Start
// fail, saying so, after a bounded number of tries.
func TestStartGivesUpOnLastingTextFileBusy(t *testing.T) {
	path, _ := busyExecutable(t)
	busy := 0
	defer func(f func()) { onTextBusy = f }(onTextBusy)
	onTextBusy = func() { busy++ }
	_, err := Start(t.Context(), spec(t, "busy", path))
	if err == nil || !strings.Contains(err.Error(), "text file busy") {
		t.Fatalf("Start: %v, want it to fail with text file busy", err)
	}
	if busy < 1 || busy > 10 {
		t.Errorf("tried again %d times, want a few", busy)
	}
}
