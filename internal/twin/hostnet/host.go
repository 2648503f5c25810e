package hostnet

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// nsDir is where named namespaces live (iproute2's convention, which
// vishvananda/netns follows): `ip netns list` shows ours.
const nsDir = "/run/netns"

// Host is one machine of a stack's network: a named namespace whose eth0
// (one end of a veth pair, the other on the bridge) holds Addr.
type Host struct {
	Net     Network
	Machine string
	Addr    netip.Addr
}

// Namespace is the host's namespace name.
func (h Host) Namespace() string { return Namespace(h.Net.ID, h.Machine) }

// NamespacePath is the host's namespace file, for whatever enters it.
func (h Host) NamespacePath() string { return filepath.Join(nsDir, h.Namespace()) }

func (h Host) check() error {
	if err := h.Net.check(); err != nil {
		return err
	}
	if h.Machine == "" {
		return errors.New("host: no machine name")
	}
	if !h.Net.Subnet.Contains(h.Addr) || h.Addr == h.Net.Gateway() || h.Addr == h.Net.Subnet.Addr() || h.Addr.As4()[3] == 255 {
		return fmt.Errorf("host %s: address %s: want a host address of %s other than the gateway %s", h.Machine, h.Addr, h.Net.Subnet, h.Net.Gateway())
	}
	return nil
}

// Exists reports whether the host's namespace is there.
func (h Host) Exists() bool {
	_, err := os.Stat(h.NamespacePath())
	return err == nil
}

// Ensure makes the namespace and its link to the bridge. A namespace that
// is already wired as asked is kept (its processes and firewall go on);
// anything else of that name (a leftover of a killed run, another
// address) is removed and made afresh.
func (h Host) Ensure() error {
	if err := h.check(); err != nil {
		return err
	}
	br, err := netlink.LinkByName(BridgeName(h.Net.ID))
	if err != nil {
		return fmt.Errorf("host %s: the stack's bridge %s: %w", h.Machine, BridgeName(h.Net.ID), err)
	}
	if h.wired(br) {
		return nil
	}
	if err := h.Remove(); err != nil {
		return err
	}
	ns, err := newNamed(h.Namespace())
	if err != nil {
		return fmt.Errorf("host %s: namespace %s: %w", h.Machine, h.Namespace(), err)
	}
	defer ns.Close()
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: vethName(h.Net.ID, h.Machine), MasterIndex: br.Attrs().Index},
		PeerName:      "eth0",
		PeerNamespace: netlink.NsFd(int(ns)),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("host %s: veth %s: %w", h.Machine, veth.Name, err)
	}
	outer, err := netlink.LinkByName(veth.Name)
	if err != nil {
		return fmt.Errorf("host %s: %w", h.Machine, err)
	}
	if err := netlink.LinkSetAlias(outer, alias(h.Net.ID, h.Machine)); err != nil {
		return fmt.Errorf("host %s: %w", h.Machine, err)
	}
	if err := netlink.LinkSetUp(outer); err != nil {
		return fmt.Errorf("host %s: veth up: %w", h.Machine, err)
	}
	nh, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("host %s: netlink in namespace: %w", h.Machine, err)
	}
	defer nh.Close()
	for _, step := range []func() error{
		func() error { return linkUp(nh, "lo") },
		func() error {
			eth, err := nh.LinkByName("eth0")
			if err != nil {
				return err
			}
			if err := nh.AddrAdd(eth, &netlink.Addr{IPNet: ipNet(h.Addr, 24)}); err != nil {
				return fmt.Errorf("address %s: %w", h.Addr, err)
			}
			// No default route: the stack's /24 (this machine is its .1)
			// is the whole world of a host, and a lookup of anything
			// beyond (a DNS server) fails at once instead of timing out.
			return nh.LinkSetUp(eth)
		},
	} {
		if err := step(); err != nil {
			return fmt.Errorf("host %s: in namespace %s: %w", h.Machine, h.Namespace(), err)
		}
	}
	return nil
}

// wired reports whether the namespace exists with eth0 holding Addr and
// its peer on the bridge.
func (h Host) wired(br netlink.Link) bool {
	outer, err := netlink.LinkByName(vethName(h.Net.ID, h.Machine))
	if err != nil || outer.Attrs().MasterIndex != br.Attrs().Index || !h.Exists() {
		return false
	}
	ns, err := netns.GetFromPath(h.NamespacePath())
	if err != nil {
		return false
	}
	defer ns.Close()
	nh, err := netlink.NewHandleAt(ns)
	if err != nil {
		return false
	}
	defer nh.Close()
	eth, err := nh.LinkByName("eth0")
	if err != nil {
		return false
	}
	addrs, err := nh.AddrList(eth, netlink.FAMILY_V4)
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if a.IPNet.String() == ipNet(h.Addr, 24).String() {
			return true
		}
	}
	return false
}

// Remove deletes the host's namespace and veth. Processes still inside
// keep the namespace alive (without its name): stop them first.
func (h Host) Remove() error {
	var errs []error
	if l, err := netlink.LinkByName(vethName(h.Net.ID, h.Machine)); err == nil {
		if err := netlink.LinkDel(l); err != nil {
			errs = append(errs, fmt.Errorf("host %s: delete veth: %w", h.Machine, err))
		}
	}
	if err := deleteNamed(h.Namespace()); err != nil {
		errs = append(errs, fmt.Errorf("host %s: %w", h.Machine, err))
	}
	return errors.Join(errs...)
}

func linkUp(nh *netlink.Handle, name string) error {
	l, err := nh.LinkByName(name)
	if err != nil {
		return err
	}
	return nh.LinkSetUp(l)
}

// newNamed makes a named namespace without leaving this goroutine's thread
// in it (netns.NewNamed switches the calling thread).
func newNamed(name string) (netns.NsHandle, error) {
	var ns netns.NsHandle
	err := onThread(func(orig netns.NsHandle) error {
		var err error
		ns, err = netns.NewNamed(name)
		return err
	})
	return ns, err
}

func deleteNamed(name string) error {
	err := netns.DeleteNamed(name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete namespace %s: %w", name, err)
	}
	return nil
}

// In runs f on a thread inside the named namespace at path and returns
// to this machine's namespace. Sockets f opens and processes it starts
// (os/exec forks from the calling thread) belong to the namespace; f must
// not hand work to other goroutines and expect the same.
func In(path string, f func() error) error {
	target, err := netns.GetFromPath(path)
	if err != nil {
		return fmt.Errorf("namespace %s: %w", path, err)
	}
	defer target.Close()
	return onThread(func(netns.NsHandle) error {
		if err := netns.Set(target); err != nil {
			return fmt.Errorf("enter namespace %s: %w", path, err)
		}
		return f()
	})
}

// onThread runs f locked to one thread and puts that thread back in the
// namespace it started in. A thread that cannot go back stays locked, so
// Go ends it with the goroutine rather than reuse it in the wrong place.
func onThread(f func(orig netns.NsHandle) error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("current namespace: %w", err)
	}
	defer orig.Close()
	ferr := f(orig)
	if err := netns.Set(orig); err != nil {
		return errors.Join(ferr, fmt.Errorf("return to this machine's namespace: %w", err))
	}
	runtime.UnlockOSThread()
	return ferr
}
