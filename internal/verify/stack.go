package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/twin/supervise"
)

// HostType is the twin's host resource in a stack's state.
const HostType = "cloudlabs:local:Host"

// TwinHost is a twin host as its stack's state records it: the role it was
// realized with (the program's rendering, what drift is measured against),
// its folder and its address.
type TwinHost struct {
	Name    string
	Dir     string
	Address string
	Role    role.Role
}

// TwinHosts reads the twin's hosts from a stack export (the JSON of
// `pulumi stack export`'s deployment, or the Automation API's
// Stack.Export Deployment), sorted by name.
func TwinHosts(deployment []byte) ([]TwinHost, error) {
	var d struct {
		Resources []struct {
			URN     string         `json:"urn"`
			Type    string         `json:"type"`
			Outputs map[string]any `json:"outputs"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(deployment, &d); err != nil {
		return nil, fmt.Errorf("stack state: %w", err)
	}
	var hs []TwinHost
	for _, r := range d.Resources {
		if r.Type != HostType {
			continue
		}
		str := func(k string) string { s, _ := r.Outputs[k].(string); return s }
		h := TwinHost{Name: str("name"), Dir: str("dir"), Address: str("address")}
		if h.Dir == "" {
			h.Dir = str("stateDir")
		}
		if h.Address == "" {
			h.Address = str("bind")
		}
		if h.Name == "" || h.Dir == "" || h.Address == "" {
			return nil, fmt.Errorf("stack state: host %s lacks its name, folder or address", r.URN)
		}
		raw := str("role")
		if raw == "" {
			return nil, fmt.Errorf("stack state: host %s has no role (is it a secret?)", h.Name)
		}
		if err := json.Unmarshal([]byte(raw), &h.Role); err != nil {
			return nil, fmt.Errorf("stack state: host %s: role: %w", h.Name, err)
		}
		hs = append(hs, h)
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i].Name < hs[j].Name })
	return hs, nil
}

// Machine is the host reached through the local transport.
func (h TwinHost) Machine() Machine {
	return Machine{Name: h.Name, Role: h.Role, Root: h.Dir, Transport: Local{Dir: h.Dir, Bind: h.Address}}
}

// Outputs are a stack's outputs, as `labctl outputs --json` prints them.
type Outputs map[string]any

func (o Outputs) str(k string) string { s, _ := o[k].(string); return s }

func (o Outputs) list(k string) []string {
	raw, _ := o[k].([]any)
	var out []string
	for _, v := range raw {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// SSHCommands are the `ssh user@host` lines a stack with SSH open exports,
// by machine.
func (o Outputs) SSHCommands() map[string]string {
	raw, _ := o["sshCommands"].(map[string]any)
	out := map[string]string{}
	for k, v := range raw {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

// Endpoints are the stack's public URLs, each with the string its page
// must hold: the phone book's form, the load balancer's health page.
func (o Outputs) Endpoints() []Endpoint {
	var es []Endpoint
	if u := o.str("phonebookUrl"); u != "" {
		es = append(es, Endpoint{Machine: "phonebook", Name: "http:form", URL: u + "/add/", Contains: `action="/add/handle/"`})
	}
	if u := o.str("fibonacciUrl"); u != "" {
		es = append(es, Endpoint{Machine: "fibonacci", Name: "http:lb-health", URL: u + "/lb-health", Contains: "ok"})
	}
	return es
}

// CrossChecks are the environments' checks across machines, made from
// this computer through the public URLs: every backend through the load
// balancer, a phone-book round trip, a gallery image round trip. They
// carry the environment's name in place of a machine's.
func (o Outputs) CrossChecks() []Check {
	var cs []Check
	if u := o.str("fibonacciUrl"); u != "" {
		cs = append(cs, LBBackends("fibonacci", u, o.list("fibonacciBackends")))
	}
	if u := o.str("phonebookUrl"); u != "" {
		cs = append(cs, PhonebookRoundTrip("phonebook", u))
	}
	if u := o.str("galleryUrl"); u != "" {
		cs = append(cs, GalleryRoundTrip("gallery", u))
	}
	return cs
}

// CachePoolNodes are the pool's nodes from cachepoolEndpoints and
// cachepoolAdmin, in node order, named as their machines
// (cachepool-node-N); none reached through a transport yet.
func (o Outputs) CachePoolNodes() []PoolNode {
	eps, admin := o.list("cachepoolSlots"), o.list("cachepoolAdmin")
	if len(eps) == 0 { // a pool without slots: every node active
		eps = o.list("cachepoolEndpoints")
	}
	var ns []PoolNode
	for i := range max(len(eps), len(admin)) {
		n := PoolNode{Name: fmt.Sprintf("cachepool-node-%d", i+1)}
		if i < len(eps) {
			n.Endpoint = eps[i]
		}
		if i < len(admin) {
			n.Admin = admin[i]
		}
		ns = append(ns, n)
	}
	return ns
}

// poolMembers reads the live membership from the manager when the stack
// has one (managerUrl, managerToken); nil: every node is a member.
func (o Outputs) poolMembers(netns string) func(ctx context.Context) ([]string, error) {
	if u, tok := o.str("managerUrl"), o.str("managerToken"); u != "" && tok != "" {
		return ManagerMembers(u, tok, netns)
	}
	return nil
}

// ManagerMachine is the name of the pool manager's machine.
const ManagerMachine = "cachepool-manager"

// MembersVia is the pool's live membership, asked of the manager through
// a transport to its machine (SSH on a cloud); nil when the stack exports
// no manager.
func (o Outputs) MembersVia(t Transport) func(ctx context.Context) ([]string, error) {
	if u, tok := o.str("managerUrl"), o.str("managerToken"); u != "" && tok != "" {
		return ManagerMembersOver(t, u, tok)
	}
	return nil
}

// twinNetNS is the network namespace of a twin machine's host ("" in
// loopback mode, or for a machine verify does not know).
func twinNetNS(m Machine) string {
	if l, ok := m.Transport.(Local); ok {
		return supervise.HostNetNS(l.Dir)
	}
	return ""
}

// upMembers are the members as of the end of up (cachepoolEndpoints) when
// the stack has slots beyond them; nil: every node is a member.
func (o Outputs) upMembers() func(ctx context.Context) ([]string, error) {
	eps := o.UpMembers()
	if eps == nil {
		return nil
	}
	return func(context.Context) ([]string, error) { return eps, nil }
}

// UpMembers are the pool's members as up left them (cachepoolEndpoints),
// when the stack has slots beyond them (cachepoolSlots); nil otherwise.
func (o Outputs) UpMembers() []string {
	if len(o.list("cachepoolSlots")) == 0 {
		return nil
	}
	return o.list("cachepoolEndpoints")
}

// RiakNodeNames are the Riak nodes' names, riak@<private address>, from
// the riakNodes output (empty when the stack exports none).
func (o Outputs) RiakNodeNames() []string {
	var out []string
	for _, a := range o.list("riakNodes") {
		out = append(out, "riak@"+a)
	}
	return out
}

// ClusterChecks are the environments' checks that reach into machines,
// with notes on those that cannot run and why:
//
//   - cachepool/agree, when the stack has a cache pool: on the twin
//     (platform "local") straight from this computer; on a cloud, whose
//     nodes' admin APIs listen on their private addresses only, through
//     each node's own transport (SSH), asking the manager's membership on
//     its machine (the members up left without it); a member not among
//     machines fails it. Without slots beyond the members, it needs every
//     node among machines.
//   - riak/members, on a cloud stack whose phone book has riakNodes > 0
//     (its riak:nodes; the twin has no Riak), through the first Riak
//     machine's transport (SSH).
//
// machines are those verify reaches (on a cloud, the SSH-pinned ones).
func (o Outputs) ClusterChecks(platform string, riakNodes int, machines []Machine) ([]Check, []string) {
	var cs []Check
	var notes []string
	byName := map[string]Machine{}
	for _, m := range machines {
		byName[m.Name] = m
	}
	if nodes := o.CachePoolNodes(); len(nodes) > 0 {
		if platform == "local" {
			// In netns mode this computer is the internet: reach each node
			// and the manager from their own host's namespace, as a cloud
			// reaches them from the machine over SSH.
			for i, n := range nodes {
				nodes[i].NetNS = twinNetNS(byName[n.Name])
			}
			cs = append(cs, CachePoolAgree(nodes, o.poolMembers(twinNetNS(byName[ManagerMachine]))))
		} else {
			// The nodes' admin APIs are private: each is asked over SSH on
			// its own machine, and the manager's membership on the
			// manager's; without the manager, the active set is the one up
			// left (cachepoolEndpoints).
			var missing []string
			for i, n := range nodes {
				m, ok := byName[n.Name]
				if !ok {
					missing = append(missing, n.Name)
					nodes[i].Unreached = n.Name + " is not reached over SSH (parked when verify started, or not pinned)"
					continue
				}
				nodes[i].Via = m.Transport
			}
			members := o.upMembers()
			var live func(context.Context) ([]string, error)
			if mgr, ok := byName[ManagerMachine]; ok {
				live = o.MembersVia(mgr.Transport)
			}
			if live != nil {
				members = live
			} else if members != nil {
				notes = append(notes, fmt.Sprintf("cachepool/agree takes the members up left (cachepoolEndpoints): %s is not reached over SSH to ask the manager", ManagerMachine))
			}
			if members == nil && len(missing) > 0 {
				notes = append(notes, fmt.Sprintf("cachepool/agree is skipped: the cache nodes' admin APIs listen on their private addresses only, so it reads them over SSH, and %s %s not reached over SSH",
					strings.Join(missing, ", "), plural(len(missing), "is", "are")))
			} else {
				cs = append(cs, CachePoolAgree(nodes, members))
			}
		}
	}
	if platform != "local" && riakNodes > 0 {
		var first *Machine
		for _, m := range machines {
			if m.Role.Name == "riak" && (first == nil || m.Name < first.Name) {
				first = &m
			}
		}
		if first == nil {
			notes = append(notes, fmt.Sprintf("riak/members is skipped: it runs `%s` on a Riak machine over SSH, and no Riak machine is reached over SSH", RiakMembersCommand))
		} else {
			cs = append(cs, RiakMembers(first.Transport, riakNodes, o.RiakNodeNames()))
		}
	}
	return cs, notes
}
