package stackconfig

import (
	"fmt"
	"net/netip"
)

// The twin's two network modes (local:network).
const (
	// LocalLoopback: every host on its own 127.x.y.z of this machine;
	// firewall rules are recorded, not enforced. Any user.
	LocalLoopback = "loopback"
	// LocalNetns: every host in its own network namespace on the stack's
	// bridge, with nftables enforcing the rules and OpenSSH when SSH is
	// open. Root only.
	LocalNetns = "netns"
)

// LocalAuto is netns when labctl runs as root, loopback otherwise: the
// shipped local stack's choice, so the README's main command (root) gets
// the faithful network and any other user a twin that still runs.
const LocalAuto = "auto"

// LocalNetworks are the values local:network allows.
var LocalNetworks = []string{LocalLoopback, LocalNetns, LocalAuto}

// resolveLocalNetwork turns auto into the mode this process can run.
func resolveLocalNetwork(v string, euid int) string {
	if v != LocalAuto {
		return v
	}
	if euid == 0 {
		return LocalNetns
	}
	return LocalLoopback
}

// DefaultLocalNetworkRange is where the twin's stack /24s come from.
const DefaultLocalNetworkRange = "10.213.0.0/16"

// localRange reads the block the twin's stack networks are taken from: a
// private IPv4 block holding at least one /24.
func (p *parser) localRange(key, def string) string {
	v := p.cidr(key, def)
	if v == "" {
		return ""
	}
	pfx := netip.MustParsePrefix(v)
	private := false
	for _, b := range privateBlocks[:3] {
		if b.Bits() <= pfx.Bits() && b.Contains(pfx.Addr()) {
			private = true
		}
	}
	if !pfx.Addr().Is4() || pfx.Bits() > 24 || !private {
		p.fail(fmt.Sprintf("%s: %q is not a private IPv4 block of /24 or wider; allowed: a block inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 of size /8 to /24, such as %s", key, v, DefaultLocalNetworkRange))
		return ""
	}
	return v
}
