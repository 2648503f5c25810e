package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/cloudlabs/cloudlabs/internal/system"
	"github.com/cloudlabs/cloudlabs/internal/twin/hostnet"
)

// Network is the cloudlabs:local:Network resource: a stack's private
// network in namespace mode (hostnet): the bridge with the gateway
// address and the registry folder its hosts and rules are kept in. Hosts
// and rules name its dir, so destroy deletes it last; its Delete sweeps
// whatever of the stack is left (namespaces, veths, processes inside),
// also what a killed run never recorded.
type Network struct{}

// NetworkArgs are the inputs.
type NetworkArgs struct {
	// Name is the stack's name, for messages.
	Name string `pulumi:"name"`
	// ID is the stack's hostnet.StackID: every name of the network has it.
	ID string `pulumi:"stackId"`
	// Subnet is the stack's /24 ("10.213.37.0/24").
	Subnet string `pulumi:"subnet"`
	// Dir is the registry folder (absolute).
	Dir string `pulumi:"dir"`
}

// NetworkState is what the provider records.
type NetworkState struct {
	NetworkArgs
	// Bridge is the bridge's link name.
	Bridge string `pulumi:"bridge"`
	// Gateway is this machine's address on the network: the source the
	// hosts' firewalls see for traffic from this machine (the internet).
	Gateway string `pulumi:"gateway"`
}

// Annotate sets the token and documents the resource in the schema.
func (n *Network) Annotate(a infer.Annotator) {
	a.SetToken("local", "Network")
	a.Describe(n, "A stack's private network on the local twin (namespace mode): a bridge on a /24 that every host's namespace joins.")
}

func (a NetworkArgs) parse() (hostnet.Network, error) {
	sub, err := netip.ParsePrefix(a.Subnet)
	if err != nil {
		return hostnet.Network{}, fmt.Errorf("network %s: subnet: %w", a.Name, err)
	}
	n := hostnet.Network{ID: a.ID, Subnet: sub}
	if !filepath.IsAbs(a.Dir) || filepath.Clean(a.Dir) == "/" {
		return n, fmt.Errorf("network %s: dir %q must be an absolute folder below /", a.Name, a.Dir)
	}
	if a.ID == "" || sub.Bits() != 24 || !sub.Addr().Is4() {
		return n, fmt.Errorf("network %s: want an id and an IPv4 /24, got %q and %s", a.Name, a.ID, a.Subnet)
	}
	return n, nil
}

func (a NetworkArgs) state(n hostnet.Network) NetworkState {
	return NetworkState{NetworkArgs: a, Bridge: hostnet.BridgeName(a.ID), Gateway: n.Gateway().String()}
}

// Create brings the bridge up (repairing a leftover of the same name) and
// writes the registry's network.json.
func (Network) Create(ctx context.Context, req infer.CreateRequest[NetworkArgs]) (infer.CreateResponse[NetworkState], error) {
	n, err := req.Inputs.parse()
	if err != nil {
		return infer.CreateResponse[NetworkState]{}, err
	}
	if !req.DryRun {
		if err := ensureNetwork(req.Inputs, n); err != nil {
			return infer.CreateResponse[NetworkState]{}, err
		}
	}
	return infer.CreateResponse[NetworkState]{ID: req.Name, Output: req.Inputs.state(n)}, nil
}

func ensureNetwork(a NetworkArgs, n hostnet.Network) error {
	if err := n.Ensure(); err != nil {
		return err
	}
	if err := os.MkdirAll(a.Dir, 0o755); err != nil {
		return fmt.Errorf("network %s: %w", a.Name, err)
	}
	r := registry{dir: a.Dir}
	unlock, err := r.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if err := writeJSON(filepath.Join(a.Dir, "network.json"), netRecord{ID: a.ID, Subnet: n.Subnet.String()}); err != nil {
		return fmt.Errorf("network %s: %w", a.Name, err)
	}
	return nil
}

// Diff: another id, subnet or folder is another network (delete first:
// the hosts move with it, as their addresses change). A bridge gone
// (this machine rebooted) is a change, so `up` brings it back.
func (Network) Diff(ctx context.Context, req infer.DiffRequest[NetworkArgs, NetworkState]) (infer.DiffResponse, error) {
	d := map[string]p.PropertyDiff{}
	o, n := req.State.NetworkArgs, req.Inputs
	if o.ID != n.ID {
		d["stackId"] = p.PropertyDiff{Kind: p.UpdateReplace, InputDiff: true}
	}
	if o.Subnet != n.Subnet {
		d["subnet"] = p.PropertyDiff{Kind: p.UpdateReplace, InputDiff: true}
	}
	if o.Dir != n.Dir {
		d["dir"] = p.PropertyDiff{Kind: p.UpdateReplace, InputDiff: true}
	}
	if o.Name != n.Name {
		d["name"] = p.PropertyDiff{Kind: p.Update, InputDiff: true}
	}
	if len(d) == 0 && !(hostnet.Network{ID: o.ID}).Up() {
		d["bridge"] = p.PropertyDiff{Kind: p.Update}
	}
	return infer.DiffResponse{HasChanges: len(d) > 0, DetailedDiff: d, DeleteBeforeReplace: true}, nil
}

// Update brings a missing bridge back.
func (Network) Update(ctx context.Context, req infer.UpdateRequest[NetworkArgs, NetworkState]) (infer.UpdateResponse[NetworkState], error) {
	n, err := req.Inputs.parse()
	if err != nil {
		return infer.UpdateResponse[NetworkState]{}, err
	}
	if !req.DryRun {
		if err := ensureNetwork(req.Inputs, n); err != nil {
			return infer.UpdateResponse[NetworkState]{}, err
		}
	}
	return infer.UpdateResponse[NetworkState]{Output: req.Inputs.state(n)}, nil
}

// Delete sweeps the stack's network from this machine and removes the
// registry.
func (Network) Delete(ctx context.Context, req infer.DeleteRequest[NetworkState]) (infer.DeleteResponse, error) {
	a := req.State.NetworkArgs
	if _, err := a.parse(); err != nil {
		return infer.DeleteResponse{}, err
	}
	sw, err := hostnet.Sweep(a.ID)
	if err != nil {
		return infer.DeleteResponse{}, fmt.Errorf("network %s: %w", a.Name, err)
	}
	if sw.Processes > 0 || sw.Namespaces > 0 {
		p.GetLogger(ctx).Warningf("network %s: swept what no host recorded: %d namespaces, %d processes still inside", a.Name, sw.Namespaces, sw.Processes)
	}
	if _, err := os.Stat(filepath.Join(a.Dir, "network.json")); err == nil {
		if err := os.RemoveAll(a.Dir); err != nil {
			return infer.DeleteResponse{}, fmt.Errorf("network %s: %w", a.Name, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return infer.DeleteResponse{}, fmt.Errorf("network %s: %w", a.Name, err)
	}
	return infer.DeleteResponse{}, nil
}

// Rule is the cloudlabs:local:Rule resource: one of the platform's Allow
// rules on a stack network, enforced by nftables in every namespace of
// its To group.
type Rule struct{}

// PortRange is an inclusive range of TCP ports.
type PortRange struct {
	From int `pulumi:"from"`
	To   int `pulumi:"to"`
}

// RuleArgs are the inputs.
type RuleArgs struct {
	// Network is the registry folder of the stack's Network (its dir).
	Network string `pulumi:"network"`
	// To is the group whose hosts admit the traffic; "*" is every host.
	To string `pulumi:"to"`
	// From is the group whose hosts may connect; or CIDRs, the blocks.
	From  string      `pulumi:"from,optional"`
	CIDRs []string    `pulumi:"cidrs,optional"`
	Ports []PortRange `pulumi:"ports"`
}

// RuleState is what the provider records.
type RuleState struct{ RuleArgs }

// Annotate sets the token and documents the resource in the schema.
func (r *Rule) Annotate(a infer.Annotator) {
	a.SetToken("local", "Rule")
	a.Describe(r, "A firewall rule of the local twin's network: TCP ports of a group's hosts, open to another group or to address blocks.")
}

func (a RuleArgs) record(name string) (ruleRecord, error) {
	rec := ruleRecord{Name: name, To: a.To, From: a.From, CIDRs: a.CIDRs}
	if !filepath.IsAbs(a.Network) {
		return rec, fmt.Errorf("rule %s: network %q: want the Network's dir", name, a.Network)
	}
	if a.To == "" || (a.From == "") == (len(a.CIDRs) == 0) {
		return rec, fmt.Errorf("rule %s: want a To group and exactly one of From and CIDRs", name)
	}
	for _, c := range a.CIDRs {
		if _, err := netip.ParsePrefix(c); err != nil {
			return rec, fmt.Errorf("rule %s: cidr %q: %w", name, c, err)
		}
	}
	if len(a.Ports) == 0 {
		return rec, fmt.Errorf("rule %s: no ports", name)
	}
	for _, p := range a.Ports {
		if p.From < 1 || p.To > 65535 || p.From > p.To {
			return rec, fmt.Errorf("rule %s: ports %d-%d: want 1 <= from <= to <= 65535", name, p.From, p.To)
		}
		rec.Ports = append(rec.Ports, [2]uint16{uint16(p.From), uint16(p.To)})
	}
	return rec, nil
}

// Create records the rule and applies it.
func (Rule) Create(ctx context.Context, req infer.CreateRequest[RuleArgs]) (infer.CreateResponse[RuleState], error) {
	rec, err := req.Inputs.record(req.Name)
	if err != nil {
		return infer.CreateResponse[RuleState]{}, err
	}
	if !req.DryRun {
		r := registry{dir: req.Inputs.Network}
		if err := r.change(func() error { return r.put("rules", rec.Name, rec) }); err != nil {
			return infer.CreateResponse[RuleState]{}, err
		}
	}
	return infer.CreateResponse[RuleState]{ID: req.Name, Output: RuleState{req.Inputs}}, nil
}

// Update rewrites the rule; a rule on another network is replaced.
func (Rule) Update(ctx context.Context, req infer.UpdateRequest[RuleArgs, RuleState]) (infer.UpdateResponse[RuleState], error) {
	rec, err := req.Inputs.record(req.ID)
	if err != nil {
		return infer.UpdateResponse[RuleState]{}, err
	}
	if !req.DryRun {
		r := registry{dir: req.Inputs.Network}
		if err := r.change(func() error { return r.put("rules", rec.Name, rec) }); err != nil {
			return infer.UpdateResponse[RuleState]{}, err
		}
	}
	return infer.UpdateResponse[RuleState]{Output: RuleState{req.Inputs}}, nil
}

// Diff: a rule moves networks by replacement; anything else updates it.
func (Rule) Diff(ctx context.Context, req infer.DiffRequest[RuleArgs, RuleState]) (infer.DiffResponse, error) {
	d := map[string]p.PropertyDiff{}
	o, n := req.State.RuleArgs, req.Inputs
	if o.Network != n.Network {
		d["network"] = p.PropertyDiff{Kind: p.UpdateReplace, InputDiff: true}
	}
	if o.To != n.To || o.From != n.From || !slices.Equal(o.CIDRs, n.CIDRs) || !slices.Equal(o.Ports, n.Ports) {
		d["rule"] = p.PropertyDiff{Kind: p.Update, InputDiff: true}
	}
	return infer.DiffResponse{HasChanges: len(d) > 0, DetailedDiff: d, DeleteBeforeReplace: true}, nil
}

// Delete drops the rule; with the network gone already there is nothing
// left to close.
func (Rule) Delete(ctx context.Context, req infer.DeleteRequest[RuleState]) (infer.DeleteResponse, error) {
	r := registry{dir: req.State.Network}
	if _, err := os.Stat(filepath.Join(r.dir, "network.json")); errors.Is(err, fs.ErrNotExist) {
		return infer.DeleteResponse{}, nil
	}
	return infer.DeleteResponse{}, r.change(func() error { return r.drop("rules", req.ID) })
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return system.WriteFile(path, append(b, '\n'), 0o644)
}
