package provider

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"

	"github.com/cloudlabs/cloudlabs/internal/twin/hostnet"
)

// A stack network's firewall is group-based, like a cloud's security
// groups: a rule names groups, and a host joining a group later is
// admitted (or reached) without touching the rule. The provider keeps the
// membership and the rules in a registry folder of the network
// (hosts/<machine>.json, rules/<name>.json, network.json) and, after each
// change, recomputes every host's table from it (syncFirewalls): the one
// place where groups become addresses.

// netRecord is the registry's network.json.
type netRecord struct {
	ID     string `json:"id"`
	Subnet string `json:"subnet"`
}

// hostRecord is one host of the network.
type hostRecord struct {
	Machine string `json:"machine"`
	Group   string `json:"group"`
	Addr    string `json:"addr"`
}

// ruleRecord is one Allow rule: TCP Ports of the hosts of group To ("*":
// every host) from the hosts of group From or from the blocks CIDRs.
type ruleRecord struct {
	Name  string      `json:"name"`
	To    string      `json:"to"`
	From  string      `json:"from,omitempty"`
	CIDRs []string    `json:"cidrs,omitempty"`
	Ports [][2]uint16 `json:"ports"`
}

// allHosts is the To of a rule for every host of the network (SSH).
const allHosts = "*"

// syncMu serializes registry changes of this provider process; the file
// lock, those of two processes (two stacks' operations never share a
// registry, but a crashed one may still hold it).
var syncMu sync.Mutex

type registry struct{ dir string }

func (r registry) lock() (func(), error) {
	syncMu.Lock()
	f, err := os.OpenFile(filepath.Join(r.dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		syncMu.Unlock()
		return nil, fmt.Errorf("network registry %s: %w", r.dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		syncMu.Unlock()
		return nil, fmt.Errorf("network registry %s: lock: %w", r.dir, err)
	}
	return func() { f.Close(); syncMu.Unlock() }, nil
}

func (r registry) put(kind, name string, v any) error {
	if err := os.MkdirAll(filepath.Join(r.dir, kind), 0o755); err != nil {
		return err
	}
	return writeJSON(filepath.Join(r.dir, kind, name+".json"), v)
}

func (r registry) drop(kind, name string) error {
	err := os.Remove(filepath.Join(r.dir, kind, name+".json"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func readAll[T any](dir string) ([]T, error) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	slices.Sort(files)
	out := make([]T, 0, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func (r registry) network() (hostnet.Network, error) {
	b, err := os.ReadFile(filepath.Join(r.dir, "network.json"))
	if err != nil {
		return hostnet.Network{}, fmt.Errorf("network registry %s: %w (is the stack's Network up?)", r.dir, err)
	}
	var n netRecord
	if err := json.Unmarshal(b, &n); err != nil {
		return hostnet.Network{}, fmt.Errorf("network registry %s: %w", r.dir, err)
	}
	sub, err := netip.ParsePrefix(n.Subnet)
	if err != nil {
		return hostnet.Network{}, fmt.Errorf("network registry %s: %w", r.dir, err)
	}
	return hostnet.Network{ID: n.ID, Subnet: sub}, nil
}

// change applies one edit to the registry and then brings every host's
// firewall in line with it, all under the lock.
func (r registry) change(edit func() error) error {
	unlock, err := r.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if err := edit(); err != nil {
		return fmt.Errorf("network registry %s: %w", r.dir, err)
	}
	return r.syncFirewalls()
}

// syncFirewalls gives each host of the registry whose namespace exists the
// table its group's rules ask for.
func (r registry) syncFirewalls() error {
	n, err := r.network()
	if err != nil {
		return err
	}
	hosts, err := readAll[hostRecord](filepath.Join(r.dir, "hosts"))
	if err != nil {
		return err
	}
	rules, err := readAll[ruleRecord](filepath.Join(r.dir, "rules"))
	if err != nil {
		return err
	}
	var errs []error
	for _, h := range hosts {
		addr, err := netip.ParseAddr(h.Addr)
		if err != nil {
			errs = append(errs, fmt.Errorf("host %s: %w", h.Machine, err))
			continue
		}
		hn := hostnet.Host{Net: n, Machine: h.Machine, Addr: addr}
		if !hn.Exists() {
			continue
		}
		in, err := inboundFor(h.Group, rules, hosts)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := hn.Firewall(in); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// inboundFor resolves the rules that reach group into address blocks: a
// rule from a group admits each member's /32 (none while it has no
// members, as a security group naming an empty group admits nobody).
func inboundFor(group string, rules []ruleRecord, hosts []hostRecord) ([]hostnet.Inbound, error) {
	var out []hostnet.Inbound
	for _, r := range rules {
		if r.To != group && r.To != allHosts {
			continue
		}
		in := hostnet.Inbound{}
		for _, p := range r.Ports {
			in.Ports = append(in.Ports, hostnet.PortRange{From: p[0], To: p[1]})
		}
		if r.From != "" {
			for _, h := range hosts {
				if h.Group != r.From {
					continue
				}
				a, err := netip.ParseAddr(h.Addr)
				if err != nil {
					return nil, fmt.Errorf("rule %s: member %s: %w", r.Name, h.Machine, err)
				}
				in.From = append(in.From, netip.PrefixFrom(a, 32))
			}
		}
		for _, c := range r.CIDRs {
			p, err := netip.ParsePrefix(c)
			if err != nil {
				return nil, fmt.Errorf("rule %s: %w", r.Name, err)
			}
			in.From = append(in.From, p.Masked())
		}
		if len(in.From) > 0 && len(in.Ports) > 0 {
			out = append(out, in)
		}
	}
	return out, nil
}
