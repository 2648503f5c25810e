package verify

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/cloudlabs/cloudlabs/internal/machine/role"
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
// balancer, a phone-book round trip. They carry the environment's name in
// place of a machine's.
func (o Outputs) CrossChecks() []Check {
	var cs []Check
	if u := o.str("fibonacciUrl"); u != "" {
		cs = append(cs, LBBackends("fibonacci", u, o.list("fibonacciBackends")))
	}
	if u := o.str("phonebookUrl"); u != "" {
		cs = append(cs, PhonebookRoundTrip("phonebook", u))
	}
	return cs
}
