package main

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/cloudlabs/cloudlabs/apps/manager/internal/control"
	"github.com/cloudlabs/cloudlabs/apps/manager/internal/managertest"
	"github.com/cloudlabs/cloudlabs/internal/pool/metrics/cwstore"
	"github.com/cloudlabs/cloudlabs/internal/pool/nodegroup"
)

// recorder stands in for CloudWatch (cwstore's tests check what the SDK
// sends on the wire): it keeps every PutMetricData input.
type recorder struct {
	mu   sync.Mutex
	puts []*cloudwatch.PutMetricDataInput
}

func (r *recorder) PutMetricData(_ context.Context, in *cloudwatch.PutMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.puts = append(r.puts, in)
	return &cloudwatch.PutMetricDataOutput{}, nil
}

func (r *recorder) GetMetricData(context.Context, *cloudwatch.GetMetricDataInput, ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	panic("publish never reads")
}

// value is metric name's value for node in the recorded put i.
func (r *recorder) value(t *testing.T, node, name string) []float64 {
	t.Helper()
	var vs []float64
	for _, in := range r.puts {
		for _, d := range in.MetricData {
			if aws.ToString(d.MetricName) == name && aws.ToString(d.Dimensions[0].Value) == node {
				vs = append(vs, aws.ToFloat64(d.Value))
			}
		}
	}
	return vs
}

func TestPublishSendsEveryAnsweringSlotEachTick(t *testing.T) {
	rig := managertest.New(t, 2, 2)
	slots := []nodegroup.Slot{rig.Slots[0].Slot, rig.Slots[1].Slot,
		{Name: "cachepool-node-3", Addr: "127.0.0.1:1", Admin: "127.0.0.1:1"}} // a parked slot: nothing listens
	rec := &recorder{}
	p := newNodePublisher(rec, cwstore.Namespace("dev"), slots, &control.NodeClient{})
	var mu sync.Mutex
	failed := map[string]int{}
	onErr := func(slot string, err error) { mu.Lock(); failed[slot]++; mu.Unlock() }

	for _, key := range []string{"a", "b", "c"} { // three misses on node 1
		rig.Memcache(t, 0, "get "+key+"\r\n")
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	p.once(context.Background(), t0, onErr)
	rig.Memcache(t, 0, "get d\r\n") // one more before the second tick
	p.once(context.Background(), t0.Add(PublishInterval), onErr)

	if len(rec.puts) != 4 {
		t.Fatalf("%d PutMetricData calls after two ticks, want 4: the two answering slots each tick", len(rec.puts))
	}
	if failed["cachepool-node-3"] != 2 || len(failed) != 1 {
		t.Errorf("errors by slot %v, want the parked slot's two failed reads only", failed)
	}
	if got := rec.value(t, rig.Slots[0].Name, cwstore.MetricMisses); !slices.Equal(got, []float64{3, 1}) {
		t.Errorf("node 1 misses sent %v, want the increases [3 1]", got)
	}
	if got := rec.value(t, rig.Slots[1].Name, cwstore.MetricMisses); !slices.Equal(got, []float64{0, 0}) {
		t.Errorf("node 2 misses sent %v, want [0 0]", got)
	}
	for _, in := range rec.puts {
		if ns := aws.ToString(in.Namespace); ns != cwstore.Namespace("dev") {
			t.Errorf("namespace %q, want the stack's", ns)
		}
	}
}
