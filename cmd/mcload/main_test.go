package main

import (
	"context"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

// TestRunAgainstMemcached runs a short load against the real memcached:
// every operation must succeed and, with every key preloaded, every get hit.
func TestRunAgainstMemcached(t *testing.T) {
	mc := testkit.Memcached(t)
	tests := []struct {
		name  string
		ratio float64
	}{
		{"mixed", 0.9},
		{"gets only", 1},
		{"sets only", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Run(context.Background(), Options{Addr: mc.Addr, Conns: 4, Duration: 300 * time.Millisecond,
				Keys: 100, Value: 100, GetRatio: tt.ratio, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			if res.Errors != 0 || res.Ops == 0 || res.Hits != res.Gets || res.Gets+res.Sets != res.Ops {
				t.Errorf("result %+v: want ops > 0, no errors, every get a hit", res)
			}
			if tt.ratio == 1 && res.Sets != 0 || tt.ratio == 0 && res.Gets != 0 {
				t.Errorf("mix not respected: %+v", res)
			}
		})
	}
}
