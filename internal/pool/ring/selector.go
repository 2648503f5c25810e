package ring

import (
	"fmt"
	"net"
	"strings"

	"github.com/bradfitz/gomemcache/memcache"
)

// Selector is a memcache.ServerSelector that sends each key to the node its
// Ring names. Nodes are "host:port" (or a unix socket path containing "/",
// as gomemcache's ServerList accepts), resolved once by NewSelector.
//
// A Selector is immutable and safe for concurrent use by multiple
// goroutines, as gomemcache requires; a resize builds a new Ring, a new
// Selector and a new memcache.Client.
type Selector struct {
	ring  Ring
	addrs map[string]net.Addr
	order []net.Addr
}

var _ memcache.ServerSelector = (*Selector)(nil)

// NewSelector resolves every node of r and returns a Selector over them.
func NewSelector(r Ring) (*Selector, error) {
	nodes := r.Nodes()
	s := &Selector{ring: r, addrs: make(map[string]net.Addr, len(nodes)), order: make([]net.Addr, 0, len(nodes))}
	for _, n := range nodes {
		a, err := resolve(n)
		if err != nil {
			return nil, fmt.Errorf("ring: resolve memcached node %q: %w", n, err)
		}
		s.addrs[n] = a
		s.order = append(s.order, a)
	}
	return s, nil
}

// PickServer returns the address of the node owning key.
func (s *Selector) PickServer(key string) (net.Addr, error) {
	a, ok := s.addrs[s.ring.Node(key)]
	if !ok {
		// Only a Ring that breaks its contract gets here.
		return nil, memcache.ErrNoServers
	}
	return a, nil
}

// Each calls f for every node in ring order, stopping at the first error.
func (s *Selector) Each(f func(net.Addr) error) error {
	for _, a := range s.order {
		if err := f(a); err != nil {
			return err
		}
	}
	return nil
}

func resolve(node string) (net.Addr, error) {
	var a net.Addr
	var err error
	if strings.Contains(node, "/") {
		a, err = net.ResolveUnixAddr("unix", node)
	} else {
		a, err = net.ResolveTCPAddr("tcp", node)
	}
	if err != nil {
		return nil, err
	}
	return staticAddr{network: a.Network(), str: a.String()}, nil
}

// staticAddr keeps String precomputed: gomemcache calls it on every request
// to find the connection pool, and TCPAddr.String formats each time.
type staticAddr struct{ network, str string }

func (a staticAddr) Network() string { return a.network }
func (a staticAddr) String() string  { return a.str }
