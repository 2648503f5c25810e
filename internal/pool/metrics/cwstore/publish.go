// Package cwstore is the pool's metric store on AWS: CloudWatch custom
// metrics. Each node publishes its statistics every 5 s with PutMetricData
// (high resolution, StorageResolution 1, dimension Node, one namespace per
// stack); the autoscaler and the charts read the pool back with
// GetMetricData, summing over the nodes with SEARCH expressions so that a
// reader needs no membership list.
package cwstore

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// API is the part of *cloudwatch.Client this package uses.
type API interface {
	PutMetricData(ctx context.Context, in *cloudwatch.PutMetricDataInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error)
	GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

// The CloudWatch metric names, each with the dimension Node.
const (
	MetricHits      = "Hits"      // Count per publish (delta)
	MetricMisses    = "Misses"    // Count per publish (delta)
	MetricGets      = "Gets"      // Count per publish (delta), Hits + Misses
	MetricSets      = "Sets"      // Count per publish (delta)
	MetricEvictions = "Evictions" // Count per publish (delta)
	MetricRequests  = "Requests"  // Count per publish (delta)
	MetricItems     = "Items"     // gauge, Count
	MetricBytes     = "Bytes"     // gauge, Bytes
	MetricCapacity  = "CapacityBytes"
	MetricUp        = "Up" // 1 per publish: counts the nodes that reported
	DimensionNode   = "Node"
)

// Namespace is the stack's CloudWatch namespace.
func Namespace(stack string) string { return "Cloudlabs/" + stack }

// NodeStats is a node's statistics as its cache keeps them: counters since
// the node started, and current gauges (cachenode's cache.Stats).
type NodeStats struct {
	Hits, Misses, Sets, Evictions, Requests int64
	Items, Bytes, Capacity                  int64
}

// Publisher sends one node's statistics to CloudWatch. CloudWatch sums
// what it receives, so counters go out as the increase since the previous
// publish. A Publisher is used by one goroutine.
type Publisher struct {
	API       API
	Namespace string
	Node      string

	prev *NodeStats
}

// Publish sends s, stamped at, as one PutMetricData call.
func (p *Publisher) Publish(ctx context.Context, at time.Time, s NodeStats) error {
	if p.Namespace == "" || p.Node == "" {
		return fmt.Errorf("cloudwatch publish: Namespace %q and Node %q: want both set", p.Namespace, p.Node)
	}
	var prev NodeStats
	if p.prev != nil {
		prev = *p.prev
	}
	delta := func(now, before int64) float64 {
		if now < before { // the node restarted: its counters did too
			return float64(now)
		}
		return float64(now - before)
	}
	dims := []types.Dimension{{Name: aws.String(DimensionNode), Value: aws.String(p.Node)}}
	datum := func(name string, v float64, unit types.StandardUnit) types.MetricDatum {
		return types.MetricDatum{
			MetricName: aws.String(name), Dimensions: dims, Timestamp: aws.Time(at),
			Value: aws.Float64(v), Unit: unit, StorageResolution: aws.Int32(1),
		}
	}
	hits, misses := delta(s.Hits, prev.Hits), delta(s.Misses, prev.Misses)
	in := &cloudwatch.PutMetricDataInput{
		Namespace: aws.String(p.Namespace),
		MetricData: []types.MetricDatum{
			datum(MetricHits, hits, types.StandardUnitCount),
			datum(MetricMisses, misses, types.StandardUnitCount),
			datum(MetricGets, hits+misses, types.StandardUnitCount),
			datum(MetricSets, delta(s.Sets, prev.Sets), types.StandardUnitCount),
			datum(MetricEvictions, delta(s.Evictions, prev.Evictions), types.StandardUnitCount),
			datum(MetricRequests, delta(s.Requests, prev.Requests), types.StandardUnitCount),
			datum(MetricItems, float64(s.Items), types.StandardUnitCount),
			datum(MetricBytes, float64(s.Bytes), types.StandardUnitBytes),
			datum(MetricCapacity, float64(s.Capacity), types.StandardUnitBytes),
			datum(MetricUp, 1, types.StandardUnitCount),
		},
	}
	if _, err := p.API.PutMetricData(ctx, in); err != nil {
		// prev stays: the next publish carries this one's increase too.
		return fmt.Errorf("cloudwatch publish %s node %s: %w", p.Namespace, p.Node, err)
	}
	p.prev = &s
	return nil
}

// Run publishes stats() at every tick until ctx is done; the node passes
// time.NewTicker(5 * time.Second).C. A failed publish is reported to onErr
// (if set) and retried with the next tick's increase.
func (p *Publisher) Run(ctx context.Context, ticks <-chan time.Time, stats func() NodeStats, onErr func(error)) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case at := <-ticks:
			if err := p.Publish(ctx, at, stats()); err != nil && onErr != nil {
				onErr(err)
			}
		}
	}
}
