// Package twin runs the pool's slots as supervised cachenode processes on
// this machine, the local twin's way to start and stop a service: each slot
// is a twin host folder, and parking a slot stops its cachenode process
// while leaving the host (its files, its address) in place.
package twin

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/pool/nodegroup"
	"github.com/cloudlabs/cloudlabs/internal/twin/supervise"
)

// Slot is one twin host that runs cachenode.
type Slot struct {
	nodegroup.Slot
	// Dir is the host's folder (the provider's host dir): the pid file and
	// the log live below it where the twin provider puts them.
	Dir string `json:"dir"`
	// Bind is the host's loopback address (127.x.y.z).
	Bind string `json:"bind"`
	// Service is the host role's cachenode service, as the provider
	// realizes it.
	Service role.Service `json:"service"`
}

// Group is a NodeGroup of twin hosts. It is safe for concurrent use; calls
// for one slot must not overlap (the manager serializes them).
type Group struct {
	// List holds the slots; it gives Group MaxSize and Slots.
	*nodegroup.List[Slot]
	// StopGrace is the time between SIGTERM and SIGKILL (default 5 s, the
	// provider's).
	StopGrace time.Duration
	// HealthTimeout bounds Start's wait for the process (default 20 s).
	HealthTimeout time.Duration
}

var _ nodegroup.NodeGroup = (*Group)(nil)

// New checks the slots and returns their group.
func New(slots []Slot) (*Group, error) {
	list, err := nodegroup.NewList("twin", slots, func(s Slot) error {
		switch {
		case s.Dir == "" || !filepath.IsAbs(s.Dir):
			return fmt.Errorf("twin slot %s: dir %q: want an absolute host folder", s.Name, s.Dir)
		case s.Service.Name == "" || s.Service.Exec == "":
			return fmt.Errorf("twin slot %s: service needs a name and an exec", s.Name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Group{List: list, StopGrace: 5 * time.Second, HealthTimeout: 20 * time.Second}, nil
}

// Spec is the supervised process of a slot: the very spec the twin
// provider starts it with (same pid file, log, folder and health check).
func (s Slot) Spec(healthTimeout time.Duration) supervise.Spec {
	return supervise.HostSpec(s.Dir, s.Bind, s.Service, healthTimeout)
}

// Running returns the pid of the slot's process, 0 when it is parked.
func (s Slot) Running() int { return supervise.Alive(supervise.PidFile(s.Dir, s.Service.Name)) }

// Parked reports whether the slot is marked parked (supervise.Park), which
// tells the twin provider's refresh and up to leave it stopped.
func (s Slot) Parked() bool { return supervise.Parked(s.Dir, s.Service.Name) }

// Start unparks the slot, then starts its cachenode unless it already
// runs, and waits for its health check. The marker goes first: a start
// that fails leaves a dead service, which the next `up` restarts.
func (g *Group) Start(ctx context.Context, s nodegroup.Slot) error {
	t, err := g.Lookup(s)
	if err != nil {
		return err
	}
	if err := supervise.Unpark(t.Dir, t.Service.Name); err != nil {
		return fmt.Errorf("twin slot %s: %w", t.Name, err)
	}
	if t.Running() != 0 {
		return nil
	}
	if _, err := supervise.Start(ctx, t.Spec(g.HealthTimeout)); err != nil {
		return fmt.Errorf("twin slot %s: %w", t.Name, err)
	}
	return nil
}

// Stop parks the slot, then ends its cachenode (SIGTERM, SIGKILL after
// StopGrace). The marker goes first, so a refresh or up running meanwhile
// never takes the slot for a dead service and starts it again.
func (g *Group) Stop(_ context.Context, s nodegroup.Slot) error {
	t, err := g.Lookup(s)
	if err != nil {
		return err
	}
	if err := supervise.Park(t.Dir, t.Service.Name); err != nil {
		return fmt.Errorf("twin slot %s: %w", t.Name, err)
	}
	if err := supervise.Stop(supervise.PidFile(t.Dir, t.Service.Name), g.StopGrace); err != nil {
		return fmt.Errorf("twin slot %s: stop: %w", t.Name, err)
	}
	return nil
}

// Ready asks the slot's node for its version.
func (g *Group) Ready(ctx context.Context, s nodegroup.Slot) error {
	_, err := nodegroup.Version(ctx, s.Addr)
	return err
}
