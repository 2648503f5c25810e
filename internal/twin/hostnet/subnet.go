package hostnet

import (
	"fmt"
	"hash/fnv"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// DefaultRange is where stacks' /24s are taken from unless configured.
const DefaultRange = "10.213.0.0/16"

// ChooseSubnet picks the stack's /24 inside pool: the first candidate,
// starting at one that depends only on id, that overlaps no address or
// route of this machine. The stack's own bridge is not in the way, so the
// choice is the same on every run while nothing else moves into it.
func ChooseSubnet(pool netip.Prefix, id string) (netip.Prefix, error) {
	used, err := usedPrefixes(BridgeName(id))
	if err != nil {
		return netip.Prefix{}, err
	}
	return chooseSubnet(pool, id, used)
}

// chooseSubnet is ChooseSubnet's arithmetic on a list of prefixes in use.
func chooseSubnet(pool netip.Prefix, id string, used []netip.Prefix) (netip.Prefix, error) {
	pool = pool.Masked()
	if !pool.Addr().Is4() || pool.Bits() > 24 {
		return netip.Prefix{}, fmt.Errorf("network range %s: want an IPv4 block of /24 or larger", pool)
	}
	n := uint32(1) << (24 - pool.Bits())
	h := fnv.New32a()
	h.Write([]byte(id))
	start := h.Sum32() % n
	base := pool.Addr().As4()
	b := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8
	for i := range n {
		v := b + ((start+i)%n)<<8
		cand := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), 0}), 24)
		free := true
		for _, u := range used {
			if u.Overlaps(cand) {
				free = false
				break
			}
		}
		if free {
			return cand, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("network range %s: every /24 overlaps an address or route of this machine; choose another range (local:networkRange)", pool)
}

// usedPrefixes lists the IPv4 addresses (as their networks) and routes of
// this machine's namespace, except those of the link named mine.
func usedPrefixes(mine string) ([]netip.Prefix, error) {
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	skip := -1
	if l, err := netlink.LinkByName(mine); err == nil {
		skip = l.Attrs().Index
	}
	var out []netip.Prefix
	for _, a := range addrs {
		if a.LinkIndex == skip || a.IPNet == nil {
			continue
		}
		if p, ok := toPrefix(a.IP, a.Mask); ok {
			out = append(out, p.Masked())
		}
	}
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	for _, r := range routes {
		// A default route (no Dst, or 0.0.0.0/0) overlaps everything and
		// rules out nothing.
		if r.LinkIndex == skip || r.Dst == nil {
			continue
		}
		if p, ok := toPrefix(r.Dst.IP, r.Dst.Mask); ok && p.Bits() > 0 {
			out = append(out, p.Masked())
		}
	}
	return out, nil
}
