// Package ec2 parks and unparks the pool's slots as EC2 instances: a parked
// slot is a stopped instance (no compute cost), Start is StartInstances and
// then DescribeInstances until the instance is running, Stop is
// StopInstances and then DescribeInstances until it is stopped (an instance
// still stopping cannot be started again). Never AWS Auto Scaling.
package ec2

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/cloudlabs/cloudlabs/internal/pool/nodegroup"
)

// API is the part of the EC2 client the group uses (*ec2.Client).
type API interface {
	StartInstances(ctx context.Context, in *ec2.StartInstancesInput, opts ...func(*ec2.Options)) (*ec2.StartInstancesOutput, error)
	StopInstances(ctx context.Context, in *ec2.StopInstancesInput, opts ...func(*ec2.Options)) (*ec2.StopInstancesOutput, error)
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, opts ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
}

// Slot is one pool instance.
type Slot struct {
	nodegroup.Slot
	InstanceID string `json:"instance_id"`
}

// Group is a NodeGroup of EC2 instances. It is safe for concurrent use
// (the SDK client is); calls for one slot must not overlap.
type Group struct {
	API API
	// List holds the slots; it gives Group MaxSize and Slots.
	*nodegroup.List[Slot]
	// Poll is the time between DescribeInstances calls (default 2 s).
	Poll time.Duration
	// Timeout bounds the wait for running or stopped (default 5 min).
	Timeout time.Duration
}

var _ nodegroup.NodeGroup = (*Group)(nil)

// New checks the slots and returns their group.
func New(api API, slots []Slot) (*Group, error) {
	list, err := nodegroup.NewList("ec2", slots, func(s Slot) error {
		if s.InstanceID == "" {
			return fmt.Errorf("ec2 slot %s: instance_id is required", s.Name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Group{API: api, List: list, Poll: 2 * time.Second, Timeout: 5 * time.Minute}, nil
}

func (g *Group) id(s nodegroup.Slot) (string, error) {
	t, err := g.Lookup(s)
	return t.InstanceID, err
}

// Start starts the slot's instance and waits until it is running. An
// instance that is still stopping is first waited for.
func (g *Group) Start(ctx context.Context, s nodegroup.Slot) error {
	id, err := g.id(s)
	if err != nil {
		return err
	}
	st, err := g.state(ctx, id)
	if err != nil {
		return fmt.Errorf("ec2 slot %s: %w", s.Name, err)
	}
	switch st {
	case types.InstanceStateNameRunning:
		return nil
	case types.InstanceStateNameStopping:
		if err := g.wait(ctx, id, types.InstanceStateNameStopped); err != nil {
			return fmt.Errorf("ec2 slot %s: before start: %w", s.Name, err)
		}
	}
	if _, err := g.API.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}}); err != nil {
		return fmt.Errorf("ec2 slot %s: start %s: %w", s.Name, id, err)
	}
	if err := g.wait(ctx, id, types.InstanceStateNameRunning); err != nil {
		return fmt.Errorf("ec2 slot %s: %w", s.Name, err)
	}
	return nil
}

// Stop stops the slot's instance and waits until it is stopped.
func (g *Group) Stop(ctx context.Context, s nodegroup.Slot) error {
	id, err := g.id(s)
	if err != nil {
		return err
	}
	if _, err := g.API.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
		return fmt.Errorf("ec2 slot %s: stop %s: %w", s.Name, id, err)
	}
	if err := g.wait(ctx, id, types.InstanceStateNameStopped); err != nil {
		return fmt.Errorf("ec2 slot %s: %w", s.Name, err)
	}
	return nil
}

// Ready asks the slot's node for its version.
func (g *Group) Ready(ctx context.Context, s nodegroup.Slot) error {
	_, err := nodegroup.Version(ctx, s.Addr)
	return err
}

func (g *Group) state(ctx context.Context, id string) (types.InstanceStateName, error) {
	out, err := g.API.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		return "", fmt.Errorf("describe %s: %w", id, err)
	}
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			if in.InstanceId != nil && *in.InstanceId == id && in.State != nil {
				return in.State.Name, nil
			}
		}
	}
	return "", fmt.Errorf("describe %s: instance not in the answer", id)
}

var errTerminal = errors.New("instance can never reach that state")

// wait polls DescribeInstances until the instance is in want, bounded by
// Timeout.
func (g *Group) wait(ctx context.Context, id string, want types.InstanceStateName) error {
	ctx, cancel := context.WithTimeout(ctx, g.Timeout)
	defer cancel()
	t := time.NewTicker(g.Poll)
	defer t.Stop()
	var last types.InstanceStateName // the last state read; a failed poll keeps it
	for {
		st, err := g.state(ctx, id)
		if err == nil {
			last = st
		}
		if err == nil && st == want {
			return nil
		}
		if err == nil && (st == types.InstanceStateNameTerminated || st == types.InstanceStateNameShuttingDown) {
			return fmt.Errorf("wait for %s %s: it is %s: %w", id, want, st, errTerminal)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s %s: last state %q, error %v: %w", id, want, last, err, ctx.Err())
		case <-t.C:
		}
	}
}
