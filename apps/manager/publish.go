package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/cloudlabs/cloudlabs/apps/manager/internal/control"
	"github.com/cloudlabs/cloudlabs/internal/pool/metrics/cwstore"
	"github.com/cloudlabs/cloudlabs/internal/pool/nodegroup"
)

// PublishInterval is how often the nodes' statistics reach CloudWatch:
// the lab's 5 s, at CloudWatch's high resolution.
const PublishInterval = 5 * time.Second

// runPublish is `manager publish`, the AWS stand-in for a Prometheus
// scrape: every 5 s it reads each slot's GET /stats and sends it to
// CloudWatch under the slot's name. A parked or unreachable slot sends
// nothing (a gap, not a zero), so the autoscaler never decides on it.
func runPublish(ctx context.Context, c config, logger *slog.Logger) error {
	slots, err := readSlots(c.slotsFile)
	if err != nil {
		return err
	}
	cfg, err := awsConfig(ctx, c)
	if err != nil {
		return err
	}
	p := newNodePublisher(cloudwatch.NewFromConfig(cfg), c.cwNamespace, slots, &control.NodeClient{})
	t := time.NewTicker(PublishInterval)
	defer t.Stop()
	logger.Info("publishing node statistics", "namespace", c.cwNamespace, "slots", len(slots), "every", PublishInterval)
	return p.run(ctx, t.C, func(slot string, err error) { logger.Warn("publish", "slot", slot, "err", err) })
}

// readSlots reads the name and admin address of every slot.
func readSlots(path string) ([]nodegroup.Slot, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--slots-file: %w", err)
	}
	var slots []nodegroup.Slot
	if err := json.Unmarshal(b, &slots); err != nil {
		return nil, fmt.Errorf("--slots-file %s: %w", path, err)
	}
	if len(slots) == 0 {
		return nil, fmt.Errorf("--slots-file %s: no slots", path)
	}
	return slots, nil
}

// nodePublisher keeps one CloudWatch publisher per slot (each remembers
// its node's last counters, to send increases).
type nodePublisher struct {
	slots []nodegroup.Slot
	pubs  []*cwstore.Publisher
	nodes interface {
		Stats(ctx context.Context, admin string) (control.Stats, error)
	}
}

func newNodePublisher(api cwstore.API, namespace string, slots []nodegroup.Slot, nodes *control.NodeClient) *nodePublisher {
	p := &nodePublisher{slots: slots, nodes: nodes}
	for _, s := range slots {
		p.pubs = append(p.pubs, &cwstore.Publisher{API: api, Namespace: namespace, Node: s.Name})
	}
	return p
}

// run publishes on every tick until ctx ends; onErr hears of each slot
// that could not be read or sent.
func (p *nodePublisher) run(ctx context.Context, ticks <-chan time.Time, onErr func(slot string, err error)) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case at := <-ticks:
			p.once(ctx, at, onErr)
		}
	}
}

// once reads and sends every slot at once, each bounded by the interval.
func (p *nodePublisher) once(ctx context.Context, at time.Time, onErr func(slot string, err error)) {
	ctx, cancel := context.WithTimeout(ctx, PublishInterval)
	defer cancel()
	var wg sync.WaitGroup
	for i, s := range p.slots {
		wg.Go(func() {
			st, err := p.nodes.Stats(ctx, s.Admin)
			if err == nil {
				err = p.pubs[i].Publish(ctx, at, cwstore.NodeStats{
					Hits: st.Hits, Misses: st.Misses, Sets: st.Sets, Evictions: st.Evictions, Requests: st.Requests,
					Items: st.Items, Bytes: st.Bytes, Capacity: st.CapacityBytes,
				})
			}
			if err != nil && onErr != nil {
				onErr(s.Name, err)
			}
		})
	}
	wg.Wait()
}
