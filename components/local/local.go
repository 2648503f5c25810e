// Package local is the local twin's platform: every machine is a
// cloudlabs:local:Host of the project's own provider plugin, which keeps the
// machine's role as files in a state folder and processes on the machine's
// own loopback address, or, in namespace mode (root), in the machine's own
// network namespace on the stack's bridge, behind nftables that enforce
// the platform's Allow rules, with OpenSSH when the stack opens SSH.
package local

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/config/stackconfig"
)

// Settings configures the local platform.
type Settings struct {
	// StateDir holds every stack's hosts: <StateDir>/<Stack>/<machine>.
	StateDir string
	// Stack separates stacks sharing a StateDir; "" means ctx.Stack().
	Stack string
	// Network is stackconfig.LocalLoopback ("" too) or LocalNetns
	// (local:network): hosts as network namespaces, root only.
	Network string
	// NetworkRange is where the stack's /24 is taken from in netns mode
	// (local:networkRange); "" is hostnet.DefaultRange.
	NetworkRange string
	// LinkRateKbit, DelayMs and LossPct shape every host's link in netns
	// mode (tbf; netem where the kernel has it).
	LinkRateKbit int
	DelayMs      int
	LossPct      float64
	// SSHAllowCIDR and SSHPublicKey open SSH (ssh:allowCidr,
	// ssh:publicKey) in netns mode: each host runs Debian's OpenSSH with a
	// host key the program made, port 22 open to the block only.
	SSHAllowCIDR, SSHPublicKey string
}

// Platform realizes machines on this computer. Like every platform it is
// used from one program goroutine and is not safe for concurrent use.
type Platform struct {
	dir     string // <StateDir>/<Stack>
	stack   string
	layouts map[string]platform.Layout
	owner   map[string]string // bind address -> machine, to resolve collisions
	rules   []platform.Rule
	net     *netns // nil in loopback mode
	shape   hostnetShape
	ssh     sshSettings
	keys    []platform.KnownHost
	buckets map[*platform.Bucket]string // a data bucket -> its gateway host's group
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
	p := &Platform{
		dir:     filepath.Join(abs, s.Stack),
		stack:   s.Stack,
		layouts: map[string]platform.Layout{},
		owner:   map[string]string{},
		shape:   hostnetShape{RateKbit: s.LinkRateKbit, DelayMs: s.DelayMs, LossPct: s.LossPct},
	}
	switch s.Network {
	case "", stackconfig.LocalLoopback:
		if s.SSHAllowCIDR != "" && s.SSHPublicKey != "" {
			return nil, fmt.Errorf("local platform: SSH (ssh:allowCidr, ssh:publicKey) needs local:network %q: loopback hosts share this machine's network and have no SSH server of their own", stackconfig.LocalNetns)
		}
	case stackconfig.LocalNetns:
		if p.net, err = newNetns(ctx, s.Stack, p.dir, s.NetworkRange); err != nil {
			return nil, err
		}
		if s.SSHAllowCIDR != "" && s.SSHPublicKey != "" {
			p.ssh = sshSettings{allow: s.SSHAllowCIDR, key: s.SSHPublicKey}
			if err := p.net.rule(ctx, s.Stack+"-ssh", platform.Rule{To: allHosts, CIDRs: []string{s.SSHAllowCIDR},
				Ports: []platform.PortRange{platform.Port(22)}, Why: "SSH from ssh:allowCidr"}); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("local:network: %q is not allowed; allowed: %v", s.Network, stackconfig.LocalNetworks)
	}
	return p, nil
}

// NetworkMode is the platform's network mode: stackconfig.LocalLoopback
// or LocalNetns.
func (p *Platform) NetworkMode() string {
	if p.net != nil {
		return stackconfig.LocalNetns
	}
	return stackconfig.LocalLoopback
}

// allHosts is a rule's To for every host of the stack (SSH).
const allHosts = "*"

// Name is "local".
func (*Platform) Name() string { return "local" }

// Arch is this computer's architecture: the apps run here.
func (*Platform) Arch() string { return runtime.GOARCH }

// Dir is the stack's folder: hosts and published artifacts live below it.
func (p *Platform) Dir() string { return p.dir }

// portOffset moves ports below 1024 (nginx's 80) up by 8000 when not root,
// since only root binds them: 80 becomes 8080. Namespace mode runs as
// root: no offset.
func (p *Platform) portOffset() int {
	if p.net != nil || os.Geteuid() == 0 {
		return 0
	}
	return 8000
}
