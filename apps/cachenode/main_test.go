package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
		check   func(options) string
	}{
		{name: "defaults", check: func(o options) string {
			if o.listen != ":11211" || o.admin != ":8081" || o.capacity.n != 64<<20 || o.policy.String() != "lru" || o.maxConns != 1024 {
				return fmt.Sprintf("%+v", o)
			}
			return ""
		}},
		{name: "units and policy", args: []string{"-capacity", "512KB", "-policy", "random"}, check: func(o options) string {
			if o.capacity.n != 512<<10 || o.policy.String() != "random" {
				return fmt.Sprintf("%+v", o)
			}
			return ""
		}},
		{name: "environment", env: map[string]string{"CACHENODE_CAPACITY": "1GB", "CACHENODE_ADMIN": ""}, check: func(o options) string {
			if o.capacity.n != 1<<30 || o.admin != "" {
				return fmt.Sprintf("%+v", o)
			}
			return ""
		}},
		{name: "bad policy", args: []string{"-policy", "fifo"}, wantErr: "lru, random, lfu"},
		{name: "bad capacity", args: []string{"-capacity", "lots"}, wantErr: "size"},
		{name: "bad max conns", args: []string{"-max-conns", "0"}, wantErr: "max-conns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			o, err := parseFlags(tt.args, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if msg := tt.check(o); msg != "" {
				t.Errorf("unexpected options %s", msg)
			}
		})
	}
}

// TestRuntimeReconfigure runs the whole node, fills it over the protocol,
// shrinks it and switches policy over the admin API, and checks the
// protocol side sees the change.
func TestRuntimeReconfigure(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan [2]string, 1)
	done := make(chan error, 1)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-admin", "127.0.0.1:0", "-capacity", "1MB"}, io.Discard, logger, ready)
	}()
	var addrs [2]string
	select {
	case addrs = <-ready:
	case err := <-done:
		t.Fatalf("run exited early: %v", err)
	}
	mc := memcache.New(addrs[0])
	mc.Timeout = 20 * time.Second
	for i := range 2000 {
		if err := mc.Set(&memcache.Item{Key: fmt.Sprintf("k%d", i), Value: make([]byte, 200)}); err != nil {
			t.Fatalf("set: %v", err)
		}
	}
	req, _ := http.NewRequest("PUT", "http://"+addrs[1]+"/config", strings.NewReader(`{"capacity":"64KB","policy":"random"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT /config: %s", resp.Status)
	}
	resp, err = http.Get("http://" + addrs[1] + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Bytes         int64  `json:"bytes"`
		CapacityBytes int64  `json:"capacity_bytes"`
		Evictions     int64  `json:"evictions"`
		Policy        string `json:"policy"`
	}
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("decode /stats: %v", err)
	}
	if st.CapacityBytes != 64<<10 || st.Bytes > 64<<10 || st.Policy != "random" || st.Evictions == 0 {
		t.Errorf("after PUT /config: %+v", st)
	}
	// New writes still fit under the new capacity with the new policy.
	for i := range 500 {
		if err := mc.Set(&memcache.Item{Key: fmt.Sprintf("n%d", i), Value: make([]byte, 200)}); err != nil {
			t.Fatalf("set after shrink: %v", err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}
