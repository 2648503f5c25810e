package supervise

import (
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/system"
)

// Stop ends the service recorded in pidFile: SIGTERM to its whole session,
// then SIGKILL to whatever is left after grace. A pid that now belongs to
// another process is never signalled. The pid file is removed.
func Stop(pidFile string, grace time.Duration) error {
	id, ok, err := ReadPidFile(pidFile)
	if err != nil {
		return err
	}
	if !ok {
		return nil
	}
	if st, err := system.ReadProcStat(id.Pid); err == nil && st.StartTime != id.StartTime && st.Running() {
		// Recycled pid: our service is gone and so is its session (a pid
		// in use as a session id is never handed out again).
		return removePidFile(pidFile)
	}
	signalSession(id, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for len(sessionMembers(id.Pid)) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if len(sessionMembers(id.Pid)) > 0 {
		signalSession(id, syscall.SIGKILL)
		deadline = time.Now().Add(5 * time.Second)
		for len(sessionMembers(id.Pid)) > 0 {
			if time.Now().After(deadline) {
				return fmt.Errorf("stop pid %d: still running after SIGKILL", id.Pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return removePidFile(pidFile)
}

// signalSession signals the session led by id: the process group while the
// leader lives, else each member left behind (orphaned workers).
func signalSession(id Identity, sig syscall.Signal) {
	if id.running() {
		_ = syscall.Kill(-id.Pid, sig)
		return
	}
	for _, pid := range sessionMembers(id.Pid) {
		_ = syscall.Kill(pid, sig)
	}
}

// Signal sends sig to the service's main process (SIGHUP: reload), when the
// pid file still names a live incarnation.
func Signal(pidFile string, sig syscall.Signal) error {
	id, ok, err := ReadPidFile(pidFile)
	if err != nil {
		return err
	}
	if !ok || !id.running() {
		return fmt.Errorf("signal %s: service not running", pidFile)
	}
	if err := syscall.Kill(id.Pid, sig); err != nil {
		return fmt.Errorf("signal pid %d: %w", id.Pid, err)
	}
	return nil
}

func removePidFile(path string) error {
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("remove pid file: %w", err)
	}
	return nil
}
