package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/cloudlabs/cloudlabs/internal/machine/role"
)

// Host is the cloudlabs:local:Host resource: one machine of the local twin.
type Host struct{}

// HostArgs are the inputs. Role changes update the host in place; a new
// folder or address replaces it.
type HostArgs struct {
	// Name is the machine's name, for messages.
	Name string `pulumi:"name"`
	// StateDir is the host's own folder (absolute); role paths lie below it.
	StateDir string `pulumi:"stateDir"`
	// Bind is the host's loopback address, such as 127.93.12.7.
	Bind string `pulumi:"bind"`
	// Role is the JSON of a role.Role rendered for this host's layout.
	Role string `pulumi:"role"`
	// Reloads maps a file path to the service that rereads it on SIGHUP:
	// a change to that file alone reloads instead of restarting.
	Reloads map[string]string `pulumi:"reloads,optional"`
	// Secrets maps a path inside StateDir to a secret's content, written
	// with mode 0600 before services start (the role's SecretFiles).
	Secrets map[string]string `pulumi:"secrets,optional" provider:"secret"`
	// DataDir is the machine's disk (a cloudlabs:local:Disk's dir), outside
	// StateDir: the role's Data folders live there, linked from their
	// place in StateDir, so a replace of the host keeps them. "" keeps
	// them in StateDir, deleted with the host.
	DataDir string `pulumi:"dataDir,optional"`
	// Net puts the host in its own network namespace on the stack's
	// Network (namespace mode); absent, the host lives on this machine's
	// loopback (Bind is a 127.x.y.z address).
	Net *HostNet `pulumi:"net,optional"`
}

// HostNet is a host's place on the stack's Network.
type HostNet struct {
	// Network is the Network's registry folder (its dir output).
	Network string `pulumi:"network"`
	// Group is the firewall group the host belongs to: the rules naming
	// it open its ports; those naming it as From admit its address.
	Group string `pulumi:"group,optional"`
	// RateKbit caps the host's link both ways (tbf); DelayMs and LossPct
	// add netem where the kernel has it (a warning says when it does not).
	RateKbit int     `pulumi:"rateKbit,optional"`
	DelayMs  int     `pulumi:"delayMs,optional"`
	LossPct  float64 `pulumi:"lossPct,optional"`
}

// HostState is what the provider records.
type HostState struct {
	HostArgs
	// Address is where the host's services listen (= Bind).
	Address string `pulumi:"address"`
	// Dir is the host's folder (= StateDir).
	Dir string `pulumi:"dir"`
	// Services maps each running service to its pid.
	Services map[string]int `pulumi:"services"`
	// Healthy is true when every service of the role is running or parked.
	Healthy bool `pulumi:"healthy"`
	// Parked lists the services their owner stopped on purpose (a pool
	// slot the manager parked, supervise.Park): not dead, so neither
	// refresh nor up starts them.
	Parked []string `pulumi:"parked,optional"`
}

// Annotate sets the token and documents the resource in the schema.
func (h *Host) Annotate(a infer.Annotator) {
	a.SetToken("local", "Host")
	a.Describe(h, "A machine of the local twin: the role's files in a state folder and its services as processes on a loopback address.")
}

// hostOf logs routine steps (start, stop, reload) at debug level, so a
// normal `up` shows no diagnostics, and what needs a look as warnings.
func hostOf(ctx context.Context, args HostArgs) host {
	log := p.GetLogger(ctx)
	return host{name: args.Name, dir: args.StateDir, bind: args.Bind, dataDir: args.DataDir, net: args.Net, logf: log.Debugf, warnf: log.Warningf}
}

// desiredOf is what the inputs ask the host to be.
func desiredOf(args HostArgs, r role.Role) desired {
	return desired{role: r, secrets: args.Secrets, reloads: args.Reloads}
}

func decodeRole(s string) (role.Role, error) {
	var r role.Role
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return r, fmt.Errorf("role is not the JSON of a role.Role: %w", err)
	}
	return r, nil
}

func (h HostState) done(s status) HostState {
	h.Address, h.Dir, h.Services, h.Parked = h.Bind, h.StateDir, s.pids, s.parked
	h.Healthy = s.complete()
	return h
}

// Create makes the folder, writes the files, fetches downloads and starts
// the services, waiting for each to be healthy. A failed create stops what
// it started, keeping the folder and its logs for a look.
func (Host) Create(ctx context.Context, req infer.CreateRequest[HostArgs]) (infer.CreateResponse[HostState], error) {
	st := HostState{HostArgs: req.Inputs, Address: req.Inputs.Bind, Dir: req.Inputs.StateDir}
	if req.DryRun {
		return infer.CreateResponse[HostState]{ID: req.Name, Output: st}, nil
	}
	r, err := decodeRole(req.Inputs.Role)
	if err != nil {
		return infer.CreateResponse[HostState]{}, err
	}
	h := hostOf(ctx, req.Inputs)
	// Leftovers of a host whose state was lost would hold the ports.
	if err := h.stopAll(); err != nil {
		return infer.CreateResponse[HostState]{}, fmt.Errorf("host %s: stop leftovers: %w", h.name, err)
	}
	s, err := h.apply(ctx, nil, desiredOf(req.Inputs, r))
	if err != nil {
		_ = h.stopAll()
		return infer.CreateResponse[HostState]{}, err
	}
	return infer.CreateResponse[HostState]{ID: req.Name, Output: st.done(s)}, nil
}

// Diff: a new folder or address replaces the host (deleting the old one
// first, since both may share the folder); anything else updates it in
// place. Dead services also show as a change, so `up` restarts them;
// parked ones do not.
func (Host) Diff(ctx context.Context, req infer.DiffRequest[HostArgs, HostState]) (infer.DiffResponse, error) {
	d := map[string]p.PropertyDiff{}
	o, n := req.State.HostArgs, req.Inputs
	if o.StateDir != n.StateDir {
		d["stateDir"] = p.PropertyDiff{Kind: p.UpdateReplace, InputDiff: true}
	}
	if o.Bind != n.Bind {
		d["bind"] = p.PropertyDiff{Kind: p.UpdateReplace, InputDiff: true}
	}
	if o.Name != n.Name {
		d["name"] = p.PropertyDiff{Kind: p.Update, InputDiff: true}
	}
	if o.Role != n.Role {
		d["role"] = p.PropertyDiff{Kind: p.Update, InputDiff: true}
	}
	if !maps.Equal(o.Reloads, n.Reloads) {
		d["reloads"] = p.PropertyDiff{Kind: p.Update, InputDiff: true}
	}
	if !maps.Equal(o.Secrets, n.Secrets) {
		d["secrets"] = p.PropertyDiff{Kind: p.Update, InputDiff: true}
	}
	if o.DataDir != n.DataDir {
		d["dataDir"] = p.PropertyDiff{Kind: p.Update, InputDiff: true}
	}
	switch on, nn := o.Net, n.Net; {
	case (on == nil) != (nn == nil) || (on != nil && on.Network != nn.Network):
		d["net"] = p.PropertyDiff{Kind: p.UpdateReplace, InputDiff: true}
	case on != nil && *on != *nn:
		d["net"] = p.PropertyDiff{Kind: p.Update, InputDiff: true}
	}
	if len(d) == 0 {
		if r, err := decodeRole(o.Role); err == nil {
			if !hostOf(ctx, o).status(r).complete() {
				d["services"] = p.PropertyDiff{Kind: p.Update}
			}
		}
	}
	return infer.DiffResponse{HasChanges: len(d) > 0, DetailedDiff: d, DeleteBeforeReplace: true}, nil
}

// Read reports the services that still run and those parked; a host
// whose folder and processes are all gone is reported deleted.
func (Host) Read(ctx context.Context, req infer.ReadRequest[HostArgs, HostState]) (infer.ReadResponse[HostArgs, HostState], error) {
	st := req.State
	h := hostOf(ctx, st.HostArgs)
	r, err := decodeRole(st.Role)
	if err != nil {
		return infer.ReadResponse[HostArgs, HostState]{}, err
	}
	s := h.status(r)
	if !h.exists() && len(s.pids) == 0 {
		return infer.ReadResponse[HostArgs, HostState]{}, nil
	}
	return infer.ReadResponse[HostArgs, HostState]{ID: req.ID, Inputs: req.Inputs, State: st.done(s)}, nil
}

// Update rewrites what changed and restarts only the services whose spec
// or files changed; a reload-only file gets SIGHUP; the rest keep their
// processes. Parked services stay parked: their files are written, their
// processes not started.
func (Host) Update(ctx context.Context, req infer.UpdateRequest[HostArgs, HostState]) (infer.UpdateResponse[HostState], error) {
	st := HostState{HostArgs: req.Inputs, Address: req.Inputs.Bind, Dir: req.Inputs.StateDir, Services: req.State.Services, Healthy: req.State.Healthy, Parked: req.State.Parked}
	if req.DryRun {
		return infer.UpdateResponse[HostState]{Output: st}, nil
	}
	old, err := decodeRole(req.State.Role)
	if err != nil {
		return infer.UpdateResponse[HostState]{}, fmt.Errorf("recorded %w", err)
	}
	r, err := decodeRole(req.Inputs.Role)
	if err != nil {
		return infer.UpdateResponse[HostState]{}, err
	}
	prev := desiredOf(req.State.HostArgs, old)
	s, err := hostOf(ctx, req.Inputs).apply(ctx, &prev, desiredOf(req.Inputs, r))
	if err != nil {
		return infer.UpdateResponse[HostState]{}, err
	}
	return infer.UpdateResponse[HostState]{Output: st.done(s)}, nil
}

// Delete stops every service (TERM, then KILL after a grace period),
// parked or not, and removes the folder with the parked markers. Data folders linked to DataDir stay on their disk:
// Delete cannot tell a replace from a destroy, so the Disk resource, which
// only a destroy (or dropping the machine) deletes, owns them.
func (Host) Delete(ctx context.Context, req infer.DeleteRequest[HostState]) (infer.DeleteResponse, error) {
	h := hostOf(ctx, req.State.HostArgs)
	if r, err := decodeRole(req.State.Role); err == nil && len(r.Data) > 0 && h.dataDir == "" && h.exists() {
		p.GetLogger(ctx).Infof("host %s: deleting its data with it (no disk): %s", h.name, strings.Join(r.Data, ", "))
	}
	return infer.DeleteResponse{}, h.remove()
}
