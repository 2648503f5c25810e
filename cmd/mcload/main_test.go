package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

// TestRunAgainstMemcached runs a count-bounded load against the real
// memcached: exactly the operations asked for must be done, every one must
// succeed and, with every key preloaded, every get hit. Bounding by count,
// not time, makes "ops done" an exact number on any machine.
func TestRunAgainstMemcached(t *testing.T) {
	mc := testkit.Memcached(t)
	tests := []struct {
		name     string
		ratio    float64
		duration time.Duration // 0: count bound only
		pipeline int
	}{
		{"mixed", 0.9, 0, 1},
		{"gets only", 1, 0, 1},
		{"sets only", 0, 0, 1},
		{"count bound ends a long timed run", 0.9, time.Hour, 1},
		// 400 is not a multiple of 7: the last batch is cut to what is left.
		{"pipelined mixed", 0.9, 0, 7},
		{"pipelined sets", 0, 0, 7},
	}
	const ops = 400
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Run(context.Background(), Options{Addr: mc.Addr, Conns: 4, Duration: tt.duration, Ops: ops,
				Keys: 100, Value: 100, GetRatio: tt.ratio, Seed: 1, Pipeline: tt.pipeline})
			if err != nil {
				t.Fatal(err)
			}
			if res.Ops != ops || res.Errors != 0 {
				t.Fatalf("got %d ops and %d errors, want exactly %d ops and no errors: %+v", res.Ops, res.Errors, ops, res)
			}
			if res.Hits != res.Gets || res.Gets+res.Sets != res.Ops {
				t.Errorf("result %+v: want every get a hit and gets+sets = ops", res)
			}
			switch tt.ratio {
			case 1:
				if res.Sets != 0 || res.Gets != ops {
					t.Errorf("gets only: got %d gets, %d sets", res.Gets, res.Sets)
				}
			case 0:
				if res.Gets != 0 || res.Sets != ops {
					t.Errorf("sets only: got %d gets, %d sets", res.Gets, res.Sets)
				}
			default:
				if res.Gets == 0 || res.Sets == 0 {
					t.Errorf("mix 0.9 over %d ops: got %d gets, %d sets, want both", ops, res.Gets, res.Sets)
				}
			}
		})
	}
}

// TestCommand runs the command line with -ops and reads its JSON.
func TestCommand(t *testing.T) {
	mc := testkit.Memcached(t)
	var out, errOut bytes.Buffer
	if err := run([]string{"-addr", mc.Addr, "-conns", "2", "-ops", "50", "-duration", "0", "-keys", "10", "-json"}, &out, &errOut); err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	var res Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("output %q: %v", out.String(), err)
	}
	if res.Ops != 50 || res.Errors != 0 || res.Conns != 2 || res.Addr != mc.Addr {
		t.Errorf("got %+v, want 50 ops, no errors, 2 conns against %s", res, mc.Addr)
	}
}

func TestCommandRejectsBadFlags(t *testing.T) {
	cases := []struct {
		name string
		args []string
	}{
		{"no bound at all", []string{"-duration", "0"}},
		{"negative ops", []string{"-ops", "-1"}},
		{"negative duration", []string{"-duration", "-1s"}},
		{"no connections", []string{"-conns", "0"}},
	}
	if err := run([]string{"-addr", "127.0.0.1:1", "-pipeline", "0"}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "-pipeline 0") {
		t.Errorf("-pipeline 0: got %v, want the flag named", err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Port 1: a run that wrongly starts fails on the preload, with another message.
			err := run(append([]string{"-addr", "127.0.0.1:1"}, c.args...), &bytes.Buffer{}, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), "-duration > 0 or -ops > 0") {
				t.Fatalf("got %v, want the flag rule", err)
			}
		})
	}
}
