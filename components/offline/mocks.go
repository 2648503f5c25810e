// Package offline runs Pulumi programs against recording mocks: no CLI,
// no plugins, no credentials. Tests assert on the recorded inputs and
// lifecycle options of every resource, children of components included,
// after the program returns.
package offline

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Machine resource types, by platform: what readers of a recorded run
// (render, cost) look for.
const (
	AWSInstance = "aws:ec2/instance:Instance"
	GCPInstance = "gcp:compute/instance:Instance"
	LocalHost   = "cloudlabs:local:Host"
)

// Resource is one registered resource as the mocks saw it.
type Resource struct {
	Type   string // "aws:ec2/instance:Instance"
	Name   string
	Inputs resource.PropertyMap
	// Options are the resource options the engine would have received.
	Options Options
}

// Options are the lifecycle options of a registered resource, read from
// the register request the SDK sends the engine (after it merged the
// options given to the constructor with what the resource inherits from
// its parent), so tests see what a real `up` would act on.
type Options struct {
	IgnoreChanges       []string // property paths a later update ignores
	ReplaceOnChanges    []string // property paths whose change replaces the resource
	DeleteBeforeReplace bool
	Protect             bool
	RetainOnDelete      bool
	Parent              string // the parent's URN ("" for the stack's direct children)
}

// Ignores reports whether a change to the property path would be ignored:
// path itself, one of its parents ("metadata" covers "metadata.user-data")
// or "*" is among the ignored paths.
func (o Options) Ignores(path string) bool { return covers(o.IgnoreChanges, path) }

// Replaces reports whether a change to the property path replaces the
// resource, by the same rule as Ignores.
func (o Options) Replaces(path string) bool { return covers(o.ReplaceOnChanges, path) }

func covers(paths []string, path string) bool {
	for _, p := range paths {
		if p == "*" || p == path || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[") {
			return true
		}
	}
	return false
}

// optionsOf reads the options from a register request; a read of an
// existing resource has none.
func optionsOf(args pulumi.MockResourceArgs) Options {
	rpc := args.RegisterRPC
	if rpc == nil {
		return Options{}
	}
	return Options{
		IgnoreChanges:       slices.Clone(rpc.GetIgnoreChanges()),
		ReplaceOnChanges:    slices.Clone(rpc.GetReplaceOnChanges()),
		DeleteBeforeReplace: rpc.GetDeleteBeforeReplace(),
		Protect:             rpc.GetProtect(),
		RetainOnDelete:      rpc.GetRetainOnDelete(),
		Parent:              rpc.GetParent(),
	}
}

// Str returns a string input ("" when absent or not a string). Secret
// values are unwrapped.
func (r Resource) Str(key string) string {
	v, ok := r.Inputs[resource.PropertyKey(key)]
	if !ok {
		return ""
	}
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	if v.IsString() {
		return v.StringValue()
	}
	return ""
}

// Paths lists the paths of the string inputs that match, in the form
// IgnoreChanges takes ("metadata.user-data", "a.b[0].c"), walking objects
// and arrays and unwrapping secrets: where a value a test knows (a pinned
// image, a #cloud-config) sits in a resource's inputs.
func (r Resource) Paths(match func(string) bool) []string {
	var out []string
	var walk func(path string, v resource.PropertyValue)
	walk = func(path string, v resource.PropertyValue) {
		for v.IsSecret() {
			v = v.SecretValue().Element
		}
		switch {
		case v.IsString():
			if match(v.StringValue()) {
				out = append(out, path)
			}
		case v.IsObject():
			obj := v.ObjectValue()
			for _, k := range obj.StableKeys() {
				walk(strings.TrimPrefix(path+"."+string(k), "."), obj[k])
			}
		case v.IsArray():
			for i, e := range v.ArrayValue() {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		}
	}
	walk("", resource.NewObjectProperty(r.Inputs))
	return out
}

// Mocks records resources and answers invokes with plausible values.
// Safe for concurrent use, as the SDK requires.
type Mocks struct {
	mu        sync.Mutex
	resources []Resource
	// Calls answers invokes by token ("aws:ec2/getAmi:getAmi"); unlisted
	// tokens get DefaultCalls' answer or echo their arguments.
	Calls map[string]resource.PropertyMap
}

// DefaultCalls are the invokes the cloud platforms make.
var DefaultCalls = map[string]resource.PropertyMap{
	"aws:ec2/getAmi:getAmi":         {"id": resource.NewStringProperty("ami-0123456789abcdef0")},
	"aws:index/getRegion:getRegion": {"name": resource.NewStringProperty("us-east-1"), "id": resource.NewStringProperty("us-east-1")},
	// Two zones, as every region has: an RDS subnet group needs two.
	"aws:index/getAvailabilityZones:getAvailabilityZones": {"names": resource.NewArrayProperty([]resource.PropertyValue{resource.NewStringProperty("us-east-1a"), resource.NewStringProperty("us-east-1b")})},
	"aws:index/getCallerIdentity:getCallerIdentity":       {"accountId": resource.NewStringProperty("123456789012")},
	"gcp:compute/getImage:getImage":                       {"selfLink": resource.NewStringProperty("projects/ubuntu-os-cloud/global/images/ubuntu-2404-noble-amd64-v20261101")},
	"gcp:organizations/getProject:getProject":             {"projectId": resource.NewStringProperty("cloudlabs-test"), "number": resource.NewStringProperty("123")},
	"gcp:organizations/getClientConfig:getClientConfig":   {"project": resource.NewStringProperty("cloudlabs-test"), "region": resource.NewStringProperty("us-central1"), "zone": resource.NewStringProperty("us-central1-a")},
}

// NewResource records the resource and returns its inputs as its state,
// with the addresses and identifiers clouds compute.
func (m *Mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.resources = append(m.resources, Resource{Type: args.TypeToken, Name: args.Name, Inputs: args.Inputs.Copy(), Options: optionsOf(args)})
	state := args.Inputs.Copy()
	// Addresses follow from the name, not the order of registration
	// (which varies run to run), so two runs of a program compare equal.
	h := fnv.New32a()
	h.Write([]byte(args.Name))
	n := h.Sum32()%250 + 2
	ip := fmt.Sprintf("10.42.1.%d", n)
	pub := fmt.Sprintf("203.0.113.%d", n)
	switch args.TypeToken {
	case "aws:ec2/instance:Instance":
		state["privateIp"] = resource.NewStringProperty(ip)
		state["publicIp"] = resource.NewStringProperty(pub)
		state["arn"] = resource.NewStringProperty("arn:aws:ec2:us-east-1:123456789012:instance/" + args.Name)
	case "aws:ec2/eip:Eip":
		state["publicIp"] = resource.NewStringProperty(pub)
	case "gcp:compute/instance:Instance":
		state["networkInterfaces"] = resource.NewArrayProperty([]resource.PropertyValue{resource.NewObjectProperty(resource.PropertyMap{
			"networkIp": resource.NewStringProperty(ip),
			"accessConfigs": resource.NewArrayProperty([]resource.PropertyValue{resource.NewObjectProperty(resource.PropertyMap{
				"natIp": resource.NewStringProperty(pub),
			})}),
		})})
	case "gcp:compute/address:Address":
		state["address"] = resource.NewStringProperty(pub)
	case "gcp:serviceaccount/account:Account":
		state["email"] = resource.NewStringProperty(args.Name + "@cloudlabs-test.iam.gserviceaccount.com")
	}
	if _, ok := state["arn"]; !ok && strings.HasPrefix(args.TypeToken, "aws:") {
		state["arn"] = resource.NewStringProperty("arn:aws:mock:::" + args.Name)
	}
	if _, ok := state["bucket"]; !ok && strings.HasPrefix(args.TypeToken, "aws:s3/bucketV2") {
		state["bucket"] = resource.NewStringProperty(args.Name + "-mock")
	}
	if _, ok := state["name"]; !ok && args.TypeToken == "gcp:storage/bucket:Bucket" {
		// The provider autonames buckets (names are global).
		state["name"] = resource.NewStringProperty(args.Name + "-mock")
	}
	if strings.HasPrefix(args.TypeToken, "random:") {
		state["result"] = resource.MakeSecret(resource.NewStringProperty("mock-random-" + args.Name))
	}
	if args.TypeToken == "cloudlabs:local:Secret" {
		state["value"] = resource.MakeSecret(resource.NewStringProperty("mock-secret-" + args.Name))
	}
	return args.Name + "-id", state, nil
}

// Call answers an invoke.
func (m *Mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	if v, ok := m.Calls[args.Token]; ok {
		return v, nil
	}
	if v, ok := DefaultCalls[args.Token]; ok {
		return v, nil
	}
	return args.Args, nil
}

// Resources returns what was registered, in order.
func (m *Mocks) Resources() []Resource {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.resources)
}

// OfType returns the resources of one type token.
func (m *Mocks) OfType(token string) []Resource {
	var out []Resource
	for _, r := range m.Resources() {
		if r.Type == token {
			out = append(out, r)
		}
	}
	return out
}

// Named returns the resource of a type with a name, or false.
func (m *Mocks) Named(token, name string) (Resource, bool) {
	for _, r := range m.OfType(token) {
		if r.Name == name {
			return r, true
		}
	}
	return Resource{}, false
}

// Run runs program against fresh mocks with the given config
// ("project:key" -> value) and returns the mocks with what it recorded.
func Run(program pulumi.RunFunc, project, stack string, cfg map[string]string) (*Mocks, error) {
	m := &Mocks{}
	err := pulumi.RunErr(program, pulumi.WithMocks(project, stack, m), withConfig(cfg))
	return m, err
}

func withConfig(cfg map[string]string) pulumi.RunOption {
	return func(info *pulumi.RunInfo) {
		if info.Config == nil {
			info.Config = map[string]string{}
		}
		for k, v := range cfg {
			info.Config[k] = v
		}
	}
}
