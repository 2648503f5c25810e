package supervise

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/system"
	"github.com/cloudlabs/cloudlabs/internal/twin/hostnet"
)

// Spec describes one service process.
type Spec struct {
	Name string
	Exec string
	Args []string
	// Dir is the working directory.
	Dir string
	// Env is the whole environment; nil means DefaultEnv, so a service does
	// not depend on whoever happened to start it.
	Env []string
	// EnvFile, when set, is a file of KEY=value lines added to Env at each
	// start (blank lines and # comments skipped), as systemd's
	// EnvironmentFile: how a service gets a secret without it showing in
	// its arguments.
	EnvFile string
	// LogFile receives stdout and stderr, appended.
	LogFile string
	// PidFile records the process's Identity.
	PidFile string
	// LimitNOFILE raises the child's open-file limit (0 leaves it alone).
	// Without privilege it is capped at the hard limit.
	LimitNOFILE int
	// Health says when the service is ready.
	Health Health
	// Timeout bounds the wait for health; zero means 20 s.
	Timeout time.Duration
	// NetNS is the path of a network namespace (/run/netns/<name>) the
	// process starts in; "" is this machine's. The health check runs
	// there too.
	NetNS string
}

// DefaultEnv is the environment services get unless Spec.Env says otherwise.
var DefaultEnv = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"LANG=C.UTF-8",
}

// rlimitMu serializes the start of services that need their own open-file
// limit: the limit is set on this process around the fork and restored.
var rlimitMu sync.Mutex

// Start runs spec in its own session (so it survives this process and can
// be stopped as a group), records its pid file and waits until it is
// healthy. On failure the process is killed and the error carries the tail
// of its log.
func Start(ctx context.Context, spec Spec) (Identity, error) {
	if spec.Timeout == 0 {
		spec.Timeout = 20 * time.Second
	}
	if err := os.MkdirAll(filepath.Dir(spec.LogFile), 0o755); err != nil {
		return Identity{}, fmt.Errorf("start %s: log folder: %w", spec.Name, err)
	}
	logf, err := os.OpenFile(spec.LogFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return Identity{}, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	defer logf.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return Identity{}, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	defer devnull.Close()

	env := spec.Env
	if env == nil {
		env = DefaultEnv
	}
	if spec.EnvFile != "" {
		extra, err := readEnvFile(spec.EnvFile)
		if err != nil {
			return Identity{}, fmt.Errorf("start %s: %w", spec.Name, err)
		}
		env = append(slices.Clip(env), extra...)
	}
	fmt.Fprintf(logf, "--- %s supervise: start %s %q\n", time.Now().Format(time.RFC3339), spec.Exec, spec.Args)

	var cmd *exec.Cmd
	start := func() error {
		// A Cmd starts once: each attempt gets a fresh one.
		cmd = exec.Command(spec.Exec, spec.Args...)
		cmd.Dir, cmd.Env = spec.Dir, env
		cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if spec.NetNS == "" {
			return startWithLimit(cmd, spec.LimitNOFILE)
		}
		// os/exec forks from the calling thread, so the child is born in
		// the namespace the thread is in.
		return hostnet.In(spec.NetNS, func() error { return startWithLimit(cmd, spec.LimitNOFILE) })
	}
	if err := startRetryingTextBusy(ctx, start); err != nil {
		return Identity{}, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	// The child cannot be reaped before Wait, so its stat is readable here
	// and its pid cannot be recycled yet: killing it by pid is safe.
	id := Identity{Pid: cmd.Process.Pid}
	if id.StartTime, err = startTime(id.Pid); err != nil {
		_ = syscall.Kill(-id.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		return Identity{}, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	// Reap the child if it exits while this process still runs; otherwise
	// it would linger as a zombie until we exit.
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()

	if err := writePidFile(spec.PidFile, id); err != nil {
		_ = syscall.Kill(-id.Pid, syscall.SIGKILL)
		return Identity{}, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	if err := waitHealthy(ctx, spec, exited); err != nil {
		_ = Stop(spec.PidFile, 2*time.Second)
		return Identity{}, fmt.Errorf("start %s: %w\n--- last lines of %s:\n%s", spec.Name, err, spec.LogFile, Tail(spec.LogFile, 20))
	}
	return id, nil
}

// onTextBusy runs before an exec refused with "text file busy" is tried
// again; tests replace it.
var onTextBusy = func() {}

// startRetryingTextBusy runs start, again while the executable is "text
// file busy" (ETXTBSY), a bounded number of times. A binary this process
// has just written can be: its write descriptor, close-on-exec, is still
// open in a child another goroutine forked at that moment, until that
// child execs (golang.org/issue/22315), which takes microseconds to
// milliseconds.
func startRetryingTextBusy(ctx context.Context, start func() error) error {
	wait := 10 * time.Millisecond
	for i := 1; ; i++ {
		err := start()
		if err == nil || !errors.Is(err, syscall.ETXTBSY) || i == 6 {
			return err
		}
		onTextBusy()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (then %w)", err, ctx.Err())
		case <-t.C:
		}
		wait *= 2
	}
}

// startTimeOf reads a process's start time; tests replace it to fail.
var startTimeOf = func(pid int) (uint64, error) {
	st, err := system.ReadProcStat(pid)
	return st.StartTime, err
}

// startTime reads the child's start time, retrying a failed read a few
// times. Without it the pid file could not tell the service from a later
// process of the same pid, and Stop would leave the service running, so a
// start whose identity stays unreadable fails instead.
func startTime(pid int) (uint64, error) {
	var err error
	for range 3 {
		var t uint64
		if t, err = startTimeOf(pid); err == nil && t != 0 {
			return t, nil
		}
		if err == nil {
			err = errors.New("start time 0")
		}
	}
	return 0, fmt.Errorf("read start time of pid %d: %w", pid, err)
}

// startWithLimit starts cmd with RLIMIT_NOFILE raised to n for the child.
// Go offers no per-child rlimit, so the limit is set on this process around
// the fork (children inherit it) and put back afterwards.
func startWithLimit(cmd *exec.Cmd, n int) error {
	if n <= 0 {
		return cmd.Start()
	}
	rlimitMu.Lock()
	defer rlimitMu.Unlock()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		return cmd.Start()
	}
	want := syscall.Rlimit{Cur: uint64(n), Max: max(uint64(n), old.Max)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		// Unprivileged: the hard limit cannot rise; get as close as allowed.
		want = syscall.Rlimit{Cur: min(uint64(n), old.Max), Max: old.Max}
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want)
	}
	err := cmd.Start()
	if rerr := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old); rerr != nil && err == nil {
		err = errors.Join(err, fmt.Errorf("restore open-file limit: %w", rerr))
	}
	return err
}

// readEnvFile reads KEY=value lines, skipping blank lines and # comments.
// Values are taken as they are (no quotes, no expansion): the files are
// written by the program, not by hand.
func readEnvFile(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("environment file: %w", err)
	}
	var env []string
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, _, ok := strings.Cut(line, "="); !ok || k == "" || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("environment file %s line %d: want KEY=value", path, i+1)
		}
		env = append(env, line)
	}
	return env, nil
}
