package local

import (
	"fmt"
	"hash/fnv"
	"path/filepath"

	"github.com/cloudlabs/cloudlabs/components/platform"
)

// Layout places a machine in its own folder and on its own loopback
// address, so every host can bind the ports its role names (two
// memcacheds both on 11211) as separate cloud machines would.
func (p *Platform) Layout(machine string) platform.Layout {
	if l, ok := p.layouts[machine]; ok {
		return l
	}
	l := platform.Layout{
		Root:       filepath.Join(p.dir, machine),
		Bind:       p.claim(machine),
		PortOffset: p.portOffset(),
		Local:      true,
	}
	p.layouts[machine] = l
	return l
}

// claim gives machine the first free address of its probe sequence (a
// 127.x.y.z of its own, or in netns mode one of the stack's /24). The
// sequence depends only on (stack, machine), so a machine keeps its address
// across runs; only a hash collision (about 1 in 4 million per pair) makes
// the address depend on the order machines are declared in.
func (p *Platform) claim(machine string) string {
	for i := 0; ; i++ {
		a := Address(p.stack, machine, i)
		if p.net != nil {
			a = p.net.address(machine, i)
		}
		if o, taken := p.owner[a]; !taken || o == machine {
			p.owner[a] = machine
			return a
		}
	}
}

// Address is the attempt-th candidate loopback address of a machine:
// inside 127.64.0.0/10, clear of 127.0.0.0/16 where other programs of the
// computer usually listen, and never ending in .0 or .255. Linux routes
// all of 127.0.0.0/8 to lo, so binding it needs no setup.
func Address(stack, machine string, attempt int) string {
	for salt := 0; ; salt++ {
		h := fnv.New32a()
		fmt.Fprintf(h, "%s/%s#%d.%d", stack, machine, attempt, salt)
		v := h.Sum32()
		b2, b3, b4 := 64+(v>>16)&63, (v>>8)&255, v&255
		if b4 != 0 && b4 != 255 {
			return fmt.Sprintf("127.%d.%d.%d", b2, b3, b4)
		}
	}
}
