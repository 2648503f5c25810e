package hostnet

import (
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Inbound admits TCP to Ports from the blocks in From: one of the
// platform's Allow rules, with its groups resolved to host addresses.
type Inbound struct {
	From  []netip.Prefix
	Ports []PortRange
}

// PortRange is an inclusive range of TCP ports.
type PortRange struct{ From, To uint16 }

// Firewall replaces the host's table with one that drops every new
// inbound connection but those the rules admit (replies to the host's own
// connections pass, so do its connections to itself), as a cloud's
// security group does. The old table goes in the same transaction: there
// is no moment with no rules or half of them.
func (h Host) Firewall(rules []Inbound) error {
	ns, err := netns.GetFromPath(h.NamespacePath())
	if err != nil {
		return fmt.Errorf("host %s: firewall: %w", h.Machine, err)
	}
	defer ns.Close()
	c, err := nftables.New(nftables.WithNetNSFd(int(ns)))
	if err != nil {
		return fmt.Errorf("host %s: nftables: %w", h.Machine, err)
	}
	t := &nftables.Table{Family: nftables.TableFamilyINet, Name: Table}
	c.AddTable(t) // so that the delete below finds one the first time
	c.DelTable(t)
	c.AddTable(t)
	drop := nftables.ChainPolicyDrop
	in := c.AddChain(&nftables.Chain{
		Name: "input", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter, Policy: &drop,
	})
	for _, e := range ruleExprs(rules) {
		c.AddRule(&nftables.Rule{Table: t, Chain: in, Exprs: e})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("host %s: nftables: %w", h.Machine, err)
	}
	return nil
}

// ruleExprs is the input chain's rules, in order.
func ruleExprs(rules []Inbound) [][]expr.Any {
	accept := &expr.Verdict{Kind: expr.VerdictAccept}
	out := [][]expr.Any{
		// ct state established,related accept
		{
			&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
				Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED),
				Xor:  binaryutil.NativeEndian.PutUint32(0)},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(0)},
			accept,
		},
		// iifname "lo" accept
		{
			&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ifname("lo")},
			accept,
		},
	}
	for _, r := range rules {
		for _, from := range r.From {
			for _, p := range r.Ports {
				out = append(out, tcpFrom(from, p))
			}
		}
	}
	return out
}

// tcpFrom is: meta nfproto ipv4 ip saddr <from> meta l4proto tcp
// tcp dport <p.From>-<p.To> accept.
func tcpFrom(from netip.Prefix, p PortRange) []expr.Any {
	from = from.Masked()
	a := from.Addr().As4()
	mask := ipNet(from.Addr(), from.Bits()).Mask
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV4}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: []byte(mask), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: a[:]},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Range{Op: expr.CmpOpEq, Register: 1, FromData: binaryutil.BigEndian.PutUint16(p.From), ToData: binaryutil.BigEndian.PutUint16(p.To)},
		&expr.Verdict{Kind: expr.VerdictAccept},
	}
}

// ifname is an interface name as nftables compares it: NUL-padded to 16.
func ifname(n string) []byte {
	b := make([]byte, 16)
	copy(b, n)
	return b
}

// Tables lists the nftables tables in the host's namespace, as
// "family name" (for tests and for `labctl`'s diagnostics).
func (h Host) Tables() ([]string, error) {
	ns, err := netns.GetFromPath(h.NamespacePath())
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	c, err := nftables.New(nftables.WithNetNSFd(int(ns)))
	if err != nil {
		return nil, err
	}
	ts, err := c.ListTables()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range ts {
		out = append(out, fmt.Sprintf("%d %s", t.Family, t.Name))
	}
	return out, nil
}
