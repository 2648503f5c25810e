package provider

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/cloudlabs/cloudlabs/internal/twin/hostnet"
	"github.com/cloudlabs/cloudlabs/internal/twin/supervise"
)

// netHost is the host's place on its network, nil in loopback mode.
func (h host) netHost() (*hostnet.Host, registry, error) {
	if h.net == nil {
		return nil, registry{}, nil
	}
	r := registry{dir: h.net.Network}
	n, err := r.network()
	if err != nil {
		return nil, r, fmt.Errorf("host %s: %w", h.name, err)
	}
	addr, err := netip.ParseAddr(h.bind)
	if err != nil || !n.Subnet.Contains(addr) {
		return nil, r, fmt.Errorf("host %s: bind %q is not an address of the stack's network %s", h.name, h.bind, n.Subnet)
	}
	return &hostnet.Host{Net: n, Machine: h.name, Addr: addr}, r, nil
}

// join puts the host on its network before anything of it starts: the
// namespace and veth (kept when already wired), the namespace recorded
// for supervise (NetNSFile), the host in the registry with every firewall
// brought in line, then the link's shape. In loopback mode it only makes
// sure no namespace is recorded.
func (h host) join() error {
	nh, r, err := h.netHost()
	if err != nil {
		return err
	}
	nsFile := supervise.NetNSFile(h.dir)
	if nh == nil {
		if err := os.Remove(nsFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("host %s: %w", h.name, err)
		}
		return nil
	}
	// The bridge too: after a reboot of this machine only the registry
	// is left, and a host's up brings its network back with it.
	if err := nh.Net.Ensure(); err != nil {
		return fmt.Errorf("host %s: %w", h.name, err)
	}
	if err := nh.Ensure(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(nsFile), 0o755); err != nil {
		return fmt.Errorf("host %s: %w", h.name, err)
	}
	if err := os.WriteFile(nsFile, []byte(nh.NamespacePath()+"\n"), 0o644); err != nil {
		return fmt.Errorf("host %s: %w", h.name, err)
	}
	rec := hostRecord{Machine: h.name, Group: h.net.Group, Addr: h.bind}
	if err := r.change(func() error { return r.put("hosts", h.name, rec) }); err != nil {
		return fmt.Errorf("host %s: firewall: %w", h.name, err)
	}
	err = nh.Shape(hostnet.Shape{RateKbit: h.net.RateKbit, DelayMs: h.net.DelayMs, LossPct: h.net.LossPct})
	if errors.Is(err, hostnet.ErrNoNetem) {
		h.warnf("%v", err)
		return nil
	}
	return err
}

// leave takes the host off its network: out of the registry (so no rule
// admits its address any more), namespace and veth removed. Its services
// must be stopped first.
func (h host) leave() error {
	if h.net == nil {
		return nil
	}
	nh, r, err := h.netHost()
	if err != nil {
		// The network's registry is gone (its Network deleted first, or
		// swept), and everything of this host on it with it.
		h.logf("host %s: leave the network: %v", h.name, err)
		return nil
	}
	err = r.change(func() error { return r.drop("hosts", h.name) })
	return errors.Join(err, nh.Remove())
}

// canListen checks, where the services will run, that the host's address
// is there to bind.
func (h host) canListen() error {
	try := func() error {
		ln, err := net.Listen("tcp", net.JoinHostPort(h.bind, "0"))
		if err != nil {
			return err
		}
		return ln.Close()
	}
	if ns := supervise.HostNetNS(h.dir); ns != "" {
		if err := hostnet.In(ns, try); err != nil {
			return fmt.Errorf("host %s: cannot listen on %s in its namespace %s: %w", h.name, h.bind, ns, err)
		}
		return nil
	}
	if err := try(); err != nil {
		return fmt.Errorf("host %s: cannot listen on %s (the local platform needs 127.0.0.0/8 routed to lo): %w", h.name, h.bind, err)
	}
	return nil
}
