package ring

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"strings"
)

// Ring maps a key to the node that owns it.
//
// Rings returned by [New] are immutable after construction and safe for
// concurrent use by multiple goroutines; a resize builds a new Ring.
type Ring interface {
	// Node returns the node that owns key; it is always one of Nodes.
	Node(key string) string
	// Nodes returns a copy of the nodes in the order given to New.
	Nodes() []string
}

// Scheme names accepted by New and Moved.
const (
	SchemeLab        = "lab"
	SchemeJump       = "jump"
	SchemeRendezvous = "rendezvous"
)

// Schemes lists the accepted scheme names.
func Schemes() []string { return []string{SchemeLab, SchemeJump, SchemeRendezvous} }

// Hash maps a key to 64 bits. Every process routing the same keys must use
// the same Hash, so the default ([MD5]) is one any language can reproduce.
// The lab scheme reads the top 4 bits as the partition.
type Hash func(key []byte) uint64

// MD5 is the default Hash: the first 8 bytes of the key's MD5, big-endian,
// so its first hex digit is the MD5's first hex digit (the lab partition).
func MD5(key []byte) uint64 {
	sum := md5.Sum(key)
	return binary.BigEndian.Uint64(sum[:8])
}

// md5String is MD5 without converting key to a heap-allocated []byte:
// memcached keys are at most 250 bytes, so a stack buffer covers them.
func md5String(key string) uint64 {
	var buf [256]byte
	if len(key) <= len(buf) {
		n := copy(buf[:], key)
		return MD5(buf[:n])
	}
	return MD5([]byte(key))
}

// Option configures New.
type Option func(*config)

type config struct {
	hash func(string) uint64
}

// WithHash replaces the default MD5 key hash, as groupcache's consistenthash
// does, so tests can place keys where they want them.
func WithHash(h Hash) Option {
	return func(c *config) {
		if h != nil {
			c.hash = func(key string) uint64 { return h([]byte(key)) }
		}
	}
}

// New returns a Ring of the given scheme over nodes, kept in the given order
// (node identity matters: the lab and jump schemes assign by position).
// Nodes must be non-empty, distinct and not empty strings; the lab scheme
// takes at most 16, since it has only 16 partitions to hand out.
func New(scheme string, nodes []string, opts ...Option) (Ring, error) {
	cfg := config{hash: md5String}
	for _, o := range opts {
		o(&cfg)
	}
	if err := checkNodes(nodes); err != nil {
		return nil, err
	}
	nodes = append([]string(nil), nodes...)
	switch scheme {
	case SchemeLab:
		return newLab(nodes, cfg.hash)
	case SchemeJump:
		return &jumpRing{nodes: nodes, hash: cfg.hash}, nil
	case SchemeRendezvous:
		return newRendezvous(nodes, cfg.hash), nil
	}
	return nil, unknownScheme(scheme)
}

func unknownScheme(scheme string) error {
	return fmt.Errorf("ring: unknown scheme %q (allowed: %s)", scheme, strings.Join(Schemes(), ", "))
}

func checkNodes(nodes []string) error {
	if len(nodes) == 0 {
		return fmt.Errorf("ring: no nodes")
	}
	seen := make(map[string]int, len(nodes))
	for i, n := range nodes {
		if n == "" {
			return fmt.Errorf("ring: node %d is an empty name", i)
		}
		if j, dup := seen[n]; dup {
			return fmt.Errorf("ring: node %q listed twice (positions %d and %d)", n, j, i)
		}
		seen[n] = i
	}
	return nil
}
