// Package local is the local twin's platform: every machine is a
// cloudlabs:local:Host of the project's own provider plugin, which keeps the
// machine's role as files in a state folder and processes on the machine's
// own loopback address.
package local

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/platform"
)

// Settings configures the local platform.
type Settings struct {
	// StateDir holds every stack's hosts: <StateDir>/<Stack>/<machine>.
	StateDir string
	// Stack separates stacks sharing a StateDir; "" means ctx.Stack().
	Stack string
}

// Platform realizes machines on this computer. Like every platform it is
// used from one program goroutine and is not safe for concurrent use.
type Platform struct {
	dir     string // <StateDir>/<Stack>
	stack   string
	layouts map[string]platform.Layout
	owner   map[string]string // bind address -> machine, to resolve collisions
	rules   []platform.Rule
}

var _ platform.Platform = (*Platform)(nil)

// New makes the local platform of the program's stack.
func New(ctx *pulumi.Context, s Settings) (*Platform, error) {
	if s.StateDir == "" {
		return nil, fmt.Errorf("local platform: StateDir is empty")
	}
	abs, err := filepath.Abs(s.StateDir)
	if err != nil {
		return nil, fmt.Errorf("local platform: state dir %q: %w", s.StateDir, err)
	}
	if s.Stack == "" {
		s.Stack = ctx.Stack()
	}
	return &Platform{
		dir:     filepath.Join(abs, s.Stack),
		stack:   s.Stack,
		layouts: map[string]platform.Layout{},
		owner:   map[string]string{},
	}, nil
}

// Name is "local".
func (*Platform) Name() string { return "local" }

// Arch is this computer's architecture: the apps run here.
func (*Platform) Arch() string { return runtime.GOARCH }

// Dir is the stack's folder: hosts and published artifacts live below it.
func (p *Platform) Dir() string { return p.dir }

// portOffset moves ports below 1024 (nginx's 80) up by 8000 when not root,
// since only root binds them: 80 becomes 8080.
func portOffset() int {
	if os.Geteuid() == 0 {
		return 0
	}
	return 8000
}
