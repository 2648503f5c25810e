package hostnet

import (
	"fmt"
	"hash/fnv"
	"strings"
)

// Names are derived from a stack's ID so that a sweep finds everything of
// one stack, and nothing of another, by name alone.
const (
	nsPrefix     = "cl-" // network namespace: cl-<id>-<machine>
	bridgePrefix = "clb" // bridge: clb<id>
	vethPrefix   = "clv" // host side of a veth: clv<10 hex>
	aliasPrefix  = "cloudlabs:"
	// Table is the nftables table (family inet) in each host's namespace.
	Table = "cloudlabs"
)

// StackID is the short name of a stack's network: 8 hex digits of the
// stack folder's path, so two stacks of the same name in two state
// folders never share a bridge.
func StackID(stackDir string) string {
	h := fnv.New32a()
	h.Write([]byte(stackDir))
	return fmt.Sprintf("%08x", h.Sum32())
}

// BridgeName is the stack's bridge link (at most 15 bytes, as Linux wants).
func BridgeName(id string) string { return bridgePrefix + id }

// Namespace is the named network namespace of a machine of the stack
// (/run/netns/<name>).
func Namespace(id, machine string) string { return nsPrefix + id + "-" + machine }

// vethName is the host-side veth of a machine: a hash, as machine names
// are longer than the 15 bytes a link name may have; its alias names the
// stack and the machine for people and for Sweep.
func vethName(id, machine string) string {
	h := fnv.New64a()
	h.Write([]byte(id + "/" + machine))
	return fmt.Sprintf("%s%010x", vethPrefix, h.Sum64()&0xffffffffff)
}

func alias(id, machine string) string { return aliasPrefix + id + ":" + machine }

func ofStack(id, name string) bool { return strings.HasPrefix(name, nsPrefix+id+"-") }
