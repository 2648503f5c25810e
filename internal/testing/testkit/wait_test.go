package testkit

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestListeningAndWaitClosed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if !Listening(addr) {
		t.Fatalf("Listening(%s) = false with a listener open", addr)
	}
	ln.Close()
	WaitClosed(t, addr, 10*time.Second)
	if Listening(addr) {
		t.Fatalf("Listening(%s) = true after WaitClosed", addr)
	}
}

func TestProcessGone(t *testing.T) {
	tests := []struct {
		name string
		// start returns a pid in the state the case names.
		start func(t *testing.T) int
		want  bool
	}{
		{"running", func(t *testing.T) int {
			cmd := sleeper(t)
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
			return cmd.Process.Pid
		}, false},
		{"zombie not yet reaped", func(t *testing.T) int {
			cmd := sleeper(t)
			t.Cleanup(func() { _ = cmd.Wait() })
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			// This test is the parent and has not waited: the child stays a
			// zombie, which signal 0 still reaches.
			pid := cmd.Process.Pid
			Eventually(t, "the child becoming a zombie", 10*time.Second, func() bool { return state(pid) == "Z" })
			if err := syscall.Kill(pid, 0); err != nil {
				t.Fatalf("signal 0 to the zombie: %v", err)
			}
			return pid
		}, true},
		{"reaped", func(t *testing.T) int {
			cmd := sleeper(t)
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return cmd.Process.Pid
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pid := tt.start(t)
			if got := ProcessGone(pid); got != tt.want {
				t.Fatalf("ProcessGone(%d) = %v, want %v", pid, got, tt.want)
			}
		})
	}
}

// state is the one-letter process state ps shows, read from /proc.
func state(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

func sleeper(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(Binary(t, "sleep", "coreutils"), "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}
