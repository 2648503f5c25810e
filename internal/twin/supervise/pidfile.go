package supervise

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cloudlabs/cloudlabs/internal/system"
)

// Identity names one incarnation of a process: its pid and the start time
// the kernel recorded for it.
type Identity struct {
	Pid       int
	StartTime uint64
}

// writePidFile records id atomically: readers never see half a file.
func writePidFile(path string, id Identity) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("pid file folder: %w", err)
	}
	if err := system.WriteFile(path, fmt.Appendf(nil, "%d %d\n", id.Pid, id.StartTime), 0o644); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	return nil
}

// ReadPidFile returns the identity stored in path; ok is false when there
// is no pid file.
func ReadPidFile(path string) (id Identity, ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Identity{}, false, nil
	}
	if err != nil {
		return Identity{}, false, fmt.Errorf("read pid file: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return Identity{}, false, fmt.Errorf("pid file %s: want \"pid starttime\", got %q", path, b)
	}
	if id.Pid, err = strconv.Atoi(f[0]); err != nil || id.Pid <= 0 {
		return Identity{}, false, fmt.Errorf("pid file %s: bad pid %q", path, f[0])
	}
	if id.StartTime, err = strconv.ParseUint(f[1], 10, 64); err != nil {
		return Identity{}, false, fmt.Errorf("pid file %s: bad start time %q", path, f[1])
	}
	return id, true, nil
}

// running reports whether this incarnation is still alive.
func (id Identity) running() bool {
	st, err := system.ReadProcStat(id.Pid)
	return err == nil && st.StartTime == id.StartTime && st.Running()
}

// Alive returns the pid recorded in pidFile when that very process is still
// running, and 0 otherwise (no pid file, process gone, or pid recycled).
func Alive(pidFile string) int {
	id, ok, err := ReadPidFile(pidFile)
	if err != nil || !ok || !id.running() {
		return 0
	}
	return id.Pid
}
