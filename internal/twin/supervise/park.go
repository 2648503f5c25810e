package supervise

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/system"
)

// A parked service is one its owner stopped on purpose (the pool manager
// parks an inactive slot's cachenode): its host's provider must not take it
// for dead and start it again. The marker is a file beside the pid file,
// so whoever stops a service and whoever reconciles the host (refresh, up)
// agree through the host folder alone, as they do on pid files.

// ParkedFile is the marker of a parked service of the twin host with
// folder hostDir.
func ParkedFile(hostDir, service string) string {
	return filepath.Join(hostDir, "run/cloudlabs", service+".parked")
}

// Park marks the service parked. Write it before stopping the process:
// a reconcile that runs in between then sees a parked service that still
// runs, never a dead one.
func Park(hostDir, service string) error {
	path := ParkedFile(hostDir, service)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("park %s: %w", service, err)
	}
	if err := system.WriteFile(path, fmt.Appendf(nil, "parked %s\n", time.Now().UTC().Format(time.RFC3339)), 0o644); err != nil {
		return fmt.Errorf("park %s: %w", service, err)
	}
	return nil
}

// Unpark removes the marker; remove it before starting the process, so a
// start that fails leaves a dead service, which `up` restarts, rather than
// a parked one nobody starts. Unparking a service that is not parked is
// no error.
func Unpark(hostDir, service string) error {
	if err := os.Remove(ParkedFile(hostDir, service)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("unpark %s: %w", service, err)
	}
	return nil
}

// Parked reports whether the service is marked parked.
func Parked(hostDir, service string) bool {
	_, err := os.Stat(ParkedFile(hostDir, service))
	return err == nil
}
