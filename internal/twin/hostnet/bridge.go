package hostnet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"syscall"

	"github.com/vishvananda/netlink"
)

// Network is a stack's private network: a bridge on this machine holding
// the gateway address (.1) of a /24. This machine reaches the hosts
// through it, and their traffic to each other crosses it.
type Network struct {
	// ID is the stack's StackID.
	ID string
	// Subnet is the stack's /24 (ChooseSubnet).
	Subnet netip.Prefix
}

// Gateway is the bridge's address: where this machine's packets to the
// hosts come from, the address the hosts' firewalls see for "the internet".
func (n Network) Gateway() netip.Addr { return n.Subnet.Masked().Addr().Next() }

func (n Network) check() error {
	if n.ID == "" {
		return errors.New("network: no stack ID")
	}
	if !n.Subnet.IsValid() || !n.Subnet.Addr().Is4() || n.Subnet.Bits() != 24 {
		return fmt.Errorf("network %s: subnet %s: want an IPv4 /24", n.ID, n.Subnet)
	}
	return nil
}

// Ensure makes the bridge, or repairs one left by an earlier run: it is
// up and holds the gateway address and no other. A subnet that another
// link of this machine took meanwhile (two stacks chose at once) is
// refused, never shared: the next `up` chooses again.
func (n Network) Ensure() error {
	if err := n.check(); err != nil {
		return err
	}
	unlock, err := lockMachine()
	if err != nil {
		return err
	}
	defer unlock()
	return n.ensure()
}

// Claim chooses a free /24 of pool for stack id and brings its bridge up,
// both under the machine-wide lock, so that networks made at once (tests
// running in parallel) never share a subnet.
func Claim(pool netip.Prefix, id string) (Network, error) {
	unlock, err := lockMachine()
	if err != nil {
		return Network{}, err
	}
	defer unlock()
	sub, err := ChooseSubnet(pool, id)
	if err != nil {
		return Network{}, err
	}
	n := Network{ID: id, Subnet: sub}
	return n, n.ensure()
}

func (n Network) ensure() error {
	used, err := usedPrefixes(BridgeName(n.ID))
	if err != nil {
		return err
	}
	for _, u := range used {
		if u.Overlaps(n.Subnet) {
			return fmt.Errorf("network %s: subnet %s overlaps %s, in use on this machine since it was chosen: run up again to choose another", n.ID, n.Subnet, u)
		}
	}
	name := BridgeName(n.ID)
	l, err := netlink.LinkByName(name)
	if notFound(err) {
		if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}); err != nil {
			return fmt.Errorf("network %s: add bridge %s: %w", n.ID, name, err)
		}
		l, err = netlink.LinkByName(name)
	}
	if err != nil {
		return fmt.Errorf("network %s: bridge %s: %w", n.ID, name, err)
	}
	if l.Type() != "bridge" {
		return fmt.Errorf("network %s: link %s is a %s, not the stack's bridge", n.ID, name, l.Type())
	}
	gw := ipNet(n.Gateway(), 24)
	addrs, err := netlink.AddrList(l, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("network %s: %w", n.ID, err)
	}
	have := false
	for _, a := range addrs {
		if a.IPNet.String() == gw.String() {
			have = true
			continue
		}
		if err := netlink.AddrDel(l, &a); err != nil {
			return fmt.Errorf("network %s: drop old address %s: %w", n.ID, a.IPNet, err)
		}
	}
	if !have {
		if err := netlink.AddrAdd(l, &netlink.Addr{IPNet: gw}); err != nil {
			return fmt.Errorf("network %s: address %s: %w", n.ID, gw, err)
		}
	}
	if err := netlink.LinkSetAlias(l, aliasPrefix+n.ID); err != nil {
		return fmt.Errorf("network %s: %w", n.ID, err)
	}
	if err := netlink.LinkSetUp(l); err != nil {
		return fmt.Errorf("network %s: bridge up: %w", n.ID, err)
	}
	return nil
}

// Up reports whether the bridge exists.
func (n Network) Up() bool {
	_, err := netlink.LinkByName(BridgeName(n.ID))
	return err == nil
}

func notFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf)
}

func ipNet(a netip.Addr, bits int) *net.IPNet {
	return &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(bits, a.BitLen())}
}

func toPrefix(ip net.IP, mask net.IPMask) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(ip.To4())
	if !ok {
		return netip.Prefix{}, false
	}
	ones, bits := mask.Size()
	if bits != 32 {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, ones), true
}

// lockFile serializes the choice and creation of stack networks among
// the processes of this machine.
const lockFile = "/run/lock/cloudlabs-hostnet.lock"

func lockMachine() (func(), error) {
	if err := os.MkdirAll(filepath.Dir(lockFile), 0o755); err != nil {
		return nil, fmt.Errorf("network lock: %w", err)
	}
	f, err := os.OpenFile(lockFile, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("network lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("network lock: %w", err)
	}
	return func() { f.Close() }, nil
}
