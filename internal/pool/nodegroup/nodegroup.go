// Package nodegroup is the seam between a pool-size decision and the
// machines the nodes run on, as cluster-autoscaler's cloudprovider.NodeGroup
// is: the stack declares a fixed list of slots (up to 8), the manager decides
// how many of them are active, and a NodeGroup starts or stops one slot on
// its platform — a supervised process on the twin (package twin), an EC2
// instance (package ec2), a GCE instance (package gce).
//
//	manager: grow ─> Start(slot N) ─> Ready(slot N) answers `version` ─> PUT /config ─> member
//	         shrink ─> leave membership (new epoch) ─> Stop(slot N-1)
//
// A NodeGroup only moves machines; membership, epochs and configuration are
// the manager's.
package nodegroup

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Slot is one place a pool node can run. Slots are listed in ring order:
// with N nodes active, the active ones are the first N.
type Slot struct {
	// Name identifies the slot (the machine's name in the stack: cachepool-node-0).
	Name string `json:"name"`
	// Addr is the node's memcached address, host:port.
	Addr string `json:"addr"`
	// Admin is the node's HTTP admin address, host:port (cachenode
	// --admin-listen): PUT /config, POST /clear, GET /stats, /metrics.
	Admin string `json:"admin"`
}

// NodeGroup starts and stops the pool's slots on one platform.
//
// Implementations in this module are safe for concurrent use by several
// goroutines, but calls for the same slot are not ordered against each
// other: the caller (the manager) serializes membership changes, so one slot
// is never started and stopped at once.
type NodeGroup interface {
	// MaxSize is how many slots there are: the most nodes the pool can have.
	MaxSize() int
	// Slots lists every slot in ring order; the caller must not modify it.
	Slots() []Slot
	// Start brings the slot's machine or process up. It returns once the
	// platform reports it running (not necessarily serving: see Ready).
	// Starting a running slot is not an error.
	Start(ctx context.Context, s Slot) error
	// Stop parks the slot: process ended, instance stopped. Stopping a
	// stopped slot is not an error.
	Stop(ctx context.Context, s Slot) error
	// Ready reports nil when the slot's node answers memcached `version`.
	Ready(ctx context.Context, s Slot) error
}

// Version asks the memcached server at addr for its version: the readiness
// probe every NodeGroup uses. It honours ctx's deadline (5 s without one).
func Version(ctx context.Context, addr string) (string, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("version %s: %w", addr, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if _, err := c.Write([]byte("version\r\n")); err != nil {
		return "", fmt.Errorf("version %s: %w", addr, err)
	}
	line, err := bufio.NewReaderSize(c, 256).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("version %s: %w", addr, err)
	}
	v, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "VERSION ")
	if !ok {
		return "", fmt.Errorf("version %s: want \"VERSION <v>\", got %q", addr, strings.TrimSpace(line))
	}
	return v, nil
}

// WaitReady polls g.Ready until it succeeds, ctx ends or timeout passes;
// the error then carries the last probe's failure.
func WaitReady(ctx context.Context, g NodeGroup, s Slot, timeout, every time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if every <= 0 {
		every = 100 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		err := g.Ready(pctx, s)
		pcancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("slot %s not ready within %s: %w", s.Name, timeout, errors.Join(err, ctx.Err()))
		case <-t.C:
		}
	}
}

// Find returns the slot named name.
func Find(g NodeGroup, name string) (Slot, bool) {
	for _, s := range g.Slots() {
		if s.Name == name {
			return s, true
		}
	}
	return Slot{}, false
}
