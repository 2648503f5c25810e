package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cloudlabs/cloudlabs/internal/machine/artifact"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/twin/hostnet"
	"github.com/cloudlabs/cloudlabs/internal/twin/supervise"
)

// Transport is how checks reach a machine.
type Transport interface {
	// Kind is "local" or "ssh".
	Kind() string
	// Run runs a shell command on the machine; exit is its exit status.
	// err is set only when the command could not be run at all.
	Run(ctx context.Context, cmd string) (stdout string, exit int, err error)
	// ReadFile reads a file of the machine.
	ReadFile(ctx context.Context, path string) ([]byte, error)
	// Hash is the hex SHA-256 of a file of the machine.
	Hash(ctx context.Context, path string) (string, error)
	// Dial opens a TCP connection to a port of the machine from where the
	// transport runs (this computer for the twin, the machine itself over
	// SSH).
	Dial(ctx context.Context, port int) (net.Conn, error)
	// Service reports whether a role's service runs and whether it is set
	// to start at boot.
	Service(ctx context.Context, s role.Service) (ServiceState, error)
}

// ServiceState is what a transport knows of a service.
type ServiceState struct {
	Running bool
	// Active is what was found, for messages: "pid 1234", "no pid file",
	// "active", "inactive".
	Active string
	// Enabled is `systemctl is-enabled`'s answer; "" where there is no
	// boot (the twin starts services with up).
	Enabled string
	// Parked is a service stopped on purpose by its owner (an inactive
	// slot of the elastic pool): not running, and not a failure.
	Parked bool
}

// Local reaches a twin host: its folder on this computer, its processes
// through their pid files, its services on its loopback address.
type Local struct {
	// Dir is the host's folder; every path the checks read lies below it.
	Dir string
	// Bind is the host's loopback address.
	Bind string
}

// Kind is "local".
func (Local) Kind() string { return "local" }

// pidFile is where the twin's provider records a service's process.
func (l Local) pidFile(svc string) string { return supervise.PidFile(l.Dir, svc) }

// inside refuses paths outside the host folder: a twin role's paths all
// lie below it, anything else is not this host's.
func (l Local) inside(p string) error {
	if !strings.HasPrefix(filepath.Clean(p), filepath.Clean(l.Dir)+"/") {
		return fmt.Errorf("%s is outside the host folder %s", p, l.Dir)
	}
	return nil
}

// Run runs cmd with sh in the host folder.
func (l Local) Run(ctx context.Context, cmd string) (string, int, error) {
	c := exec.CommandContext(ctx, "sh", "-c", cmd)
	c.Dir = l.Dir
	var out bytes.Buffer
	c.Stdout = &out
	err := c.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.String(), ee.ExitCode(), nil
	}
	if err != nil {
		return out.String(), -1, err
	}
	return out.String(), 0, nil
}

// ReadFile reads a file of the host folder.
func (l Local) ReadFile(_ context.Context, path string) ([]byte, error) {
	if err := l.inside(path); err != nil {
		return nil, err
	}
	return os.ReadFile(path)
}

// Hash hashes a file of the host folder.
func (l Local) Hash(_ context.Context, path string) (string, error) {
	if err := l.inside(path); err != nil {
		return "", err
	}
	return artifact.FileSHA256(path)
}

// Dial connects to the host's address; to a host in its own network
// namespace (the twin's netns mode) from inside it, as SSH dials from the
// machine itself, so its firewall does not hide a port the host serves.
func (l Local) Dial(ctx context.Context, port int) (net.Conn, error) {
	return hostnet.DialContext(ctx, supervise.HostNetNS(l.Dir), "tcp", net.JoinHostPort(l.Bind, strconv.Itoa(port)))
}

// Service reads the service's pid file and checks that very process runs.
func (l Local) Service(_ context.Context, s role.Service) (ServiceState, error) {
	pf := l.pidFile(s.Name)
	if pid := supervise.Alive(pf); pid != 0 {
		return ServiceState{Running: true, Active: fmt.Sprintf("pid %d", pid)}, nil
	}
	if supervise.Parked(l.Dir, s.Name) {
		return ServiceState{Parked: true, Active: "parked by the pool manager (" + supervise.ParkedFile(l.Dir, s.Name) + ")"}, nil
	}
	id, ok, err := supervise.ReadPidFile(pf)
	switch {
	case err != nil:
		return ServiceState{Active: err.Error()}, nil
	case !ok:
		return ServiceState{Active: "no pid file " + pf}, nil
	default:
		return ServiceState{Active: fmt.Sprintf("pid %d (from %s) is not running", id.Pid, pf)}, nil
	}
}
