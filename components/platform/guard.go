package platform

import (
	"fmt"
	"net/netip"
)

// WidestPrivilegedBits is the widest CIDR block (the smallest prefix
// length) that may reach a privileged group: one that holds a machine
// with cloud permissions over other machines or the metrics (the pool's
// manager and nodes), or whose machines another machine controls. The
// stack config refuses admin ports wider than /16 already; this is the
// platform's own floor, so a composition that forgets cannot open the
// control plane to (most of) the internet.
const WidestPrivilegedBits = 8

// WorldGuard remembers which groups are privileged and which CIDR blocks
// were opened to each, so the refusal holds whichever comes first: the
// machine or the rule. The cloud platforms call Machine and Allow before
// they make anything.
type WorldGuard struct {
	// SSH is the block SSH is opened from, to every group ("" = closed).
	SSH        string
	privileged map[string]string // group -> why it is privileged
	wide       map[string]string // group -> a too-wide block opened to it
}

// tooWide reports whether a block reaches more than a privileged group
// may be reached from.
func tooWide(cidr string) bool {
	pfx, err := netip.ParsePrefix(cidr)
	return err != nil || pfx.Bits() < WidestPrivilegedBits
}

// Machine marks the groups a machine makes privileged.
func (g *WorldGuard) Machine(name string, args MachineArgs) error {
	if args.Controls != "" {
		if err := g.mark(args.Controls, "are started and stopped by "+name); err != nil {
			return err
		}
		if err := g.mark(args.Group, "start and stop other machines ("+name+")"); err != nil {
			return err
		}
	}
	if args.Metrics != "" {
		if err := g.mark(args.Group, args.Metrics+" the stack's metrics ("+name+")"); err != nil {
			return err
		}
	}
	return nil
}

func (g *WorldGuard) mark(group, why string) error {
	if c := g.wide[group]; c != "" {
		return fmt.Errorf("group %s is open to %s, but its machines %s; allowed: blocks of /%d or narrower", group, c, why, WidestPrivilegedBits)
	}
	if g.SSH != "" && tooWide(g.SSH) {
		return fmt.Errorf("SSH is open to %s on every machine, but the machines of group %s %s; allowed: blocks of /%d or narrower", g.SSH, group, why, WidestPrivilegedBits)
	}
	if g.privileged == nil {
		g.privileged = map[string]string{}
	}
	if _, ok := g.privileged[group]; !ok {
		g.privileged[group] = why
	}
	return nil
}

// Allow checks a rule's blocks against its target group.
func (g *WorldGuard) Allow(r Rule) error {
	for _, c := range r.CIDRs {
		if !tooWide(c) {
			continue
		}
		if why, ok := g.privileged[r.To]; ok {
			return fmt.Errorf("rule opens group %s to %s, but its machines %s; allowed: blocks of /%d or narrower", r.To, c, why, WidestPrivilegedBits)
		}
		if g.wide == nil {
			g.wide = map[string]string{}
		}
		g.wide[r.To] = c
	}
	return nil
}
