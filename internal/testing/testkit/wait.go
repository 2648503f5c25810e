package testkit

import (
	"net"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/system"
)

// Listening reports whether addr accepts TCP connections right now.
func Listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Eventually polls cond until it holds, failing the test after d: the
// machine is shared and noisy, so tests wait for a state, never for a time.
func Eventually(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within %v", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitClosed waits until addr refuses connections, failing the test after d.
func WaitClosed(t testing.TB, addr string, d time.Duration) {
	t.Helper()
	Eventually(t, addr+" closing", d, func() bool { return !Listening(addr) })
}

// ProcessGone reports whether process pid has ended. A zombie has ended: it
// waits only for its parent (often init) to collect its exit status, so a
// signal-0 probe, which still reaches it, cannot tell.
func ProcessGone(pid int) bool { return !system.ProcessRunning(pid) }
