package stackconfig

import (
	"fmt"
	"net/netip"
)

// The widest blocks an admin or data port may be opened to, unless the block
// lies wholly in private address space: a /16 is one organisation's
// network, a /48 one site's IPv6 allocation. Anything wider reaches
// strangers. http:allowCidr is exempt: port 80 is public by design.
const (
	maxIPv4Prefix = 16
	maxIPv6Prefix = 48
)

// privateBlocks are the address ranges no one reaches from the internet:
// RFC 1918 and IPv6 unique local addresses (RFC 4193).
var privateBlocks = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("fc00::/7"),
}

// PrivateCIDRRule says which blocks an admin or data port accepts, for
// error messages and Pulumi.yaml.
const PrivateCIDRRule = `an IPv4 block of /16 or narrower, or of any size inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16; an IPv6 block of /48 or narrower, or of any size inside fc00::/7; or "" to keep it closed`

// tooWide says why pfx may not open an admin or data port (what), or ""
// if it may. pfx must be masked.
func tooWide(pfx netip.Prefix, what string) string {
	if pfx.Addr().Is4In6() {
		// Clouds match IPv4 traffic against IPv4 rules only: a mapped
		// block would say one thing and do another.
		return "is an IPv4-mapped IPv6 block: write it as IPv4"
	}
	for _, priv := range privateBlocks {
		if priv.Bits() <= pfx.Bits() && priv.Contains(pfx.Addr()) {
			return ""
		}
	}
	limit := maxIPv4Prefix
	if pfx.Addr().Is6() {
		limit = maxIPv6Prefix
	}
	if pfx.Bits() >= limit {
		return ""
	}
	if pfx.Bits() == 0 {
		return "would open " + what + " to the whole internet"
	}
	return fmt.Sprintf("would open %s to a /%d of public addresses, wider than /%d", what, pfx.Bits(), limit)
}

// privateCIDR reads a CIDR block that opens an admin or data port (what):
// empty, or not wider than the rule allows.
func (p *parser) privateCIDR(key, what string) string {
	v := p.cidr(key, "")
	if v == "" {
		return ""
	}
	if why := tooWide(netip.MustParsePrefix(v), what); why != "" {
		p.fail(fmt.Sprintf("%s: %q %s; allowed: %s", key, v, why, PrivateCIDRRule))
		return ""
	}
	return v
}
