package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/cloudlabs/cloudlabs/apps/cachenode/internal/cache"
)

// tokenFile writes content to a 0600 file, as the cloud roles deliver the
// Pulumi secret, and returns its path.
func tokenFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "admin-token")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
		check   func(options) string
	}{
		{name: "defaults", check: func(o options) string {
			if o.listen != ":11211" || o.admin != "127.0.0.1:8081" || o.adminToken != "" || o.capacity.n != 64<<20 || o.policy.String() != "lru" || o.maxConns != 1024 {
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
		{name: "admin listen private", args: []string{"-admin-listen", "private:11212"}, check: func(o options) string {
			if o.admin != "private:11212" {
				return fmt.Sprintf("%+v", o)
			}
			return ""
		}},
		{name: "admin listen from environment", env: map[string]string{"CACHENODE_ADMIN_LISTEN": "10.0.0.5:9000"}, check: func(o options) string {
			if o.admin != "10.0.0.5:9000" {
				return fmt.Sprintf("%+v", o)
			}
			return ""
		}},
		{name: "deprecated admin flag still works", args: []string{"-admin", "127.0.0.2:9000"}, check: func(o options) string {
			if o.admin != "127.0.0.2:9000" {
				return fmt.Sprintf("%+v", o)
			}
			return ""
		}},
		{name: "admin listen and deprecated admin agreeing", args: []string{"-admin", "127.0.0.2:9000", "-admin-listen", "127.0.0.2:9000"}, check: func(o options) string {
			if o.admin != "127.0.0.2:9000" {
				return fmt.Sprintf("%+v", o)
			}
			return ""
		}},
		{name: "admin listen and deprecated admin disagreeing", args: []string{"-admin", "127.0.0.2:9000", "-admin-listen", "127.0.0.3:9000"}, wantErr: "set only -admin-listen"},
		{name: "admin listen without port", args: []string{"-admin-listen", "private"}, wantErr: "want host:port, private:port"},
		{name: "token file trimmed", args: []string{"-admin-token-file", tokenFile(t, " tok-123\n")}, check: func(o options) string {
			if o.adminToken != "tok-123" {
				return fmt.Sprintf("token %q, want tok-123", o.adminToken)
			}
			return ""
		}},
		{name: "token file from environment", env: map[string]string{"CACHENODE_ADMIN_TOKEN_FILE": tokenFile(t, "env-tok\n")}, check: func(o options) string {
			if o.adminToken != "env-tok" {
				return fmt.Sprintf("token %q, want env-tok", o.adminToken)
			}
			return ""
		}},
		{name: "empty token file", args: []string{"-admin-token-file", tokenFile(t, "\n \n")}, wantErr: "is empty"},
		{name: "token with inner space", args: []string{"-admin-token-file", tokenFile(t, "two words\n")}, wantErr: "one word"},
		{name: "missing token file", args: []string{"-admin-token-file", "/nonexistent/token"}, wantErr: "no such file"},
		{name: "capacity over the maximum", args: []string{"-capacity", "2048GB"}, wantErr: "want 0B to 1024GB"},
		{name: "bad policy", args: []string{"-policy", "fifo"}, wantErr: "lru, random, lfu"},
		{name: "bad capacity", args: []string{"-capacity", "lots"}, wantErr: "size"},
		{name: "bad max conns", args: []string{"-max-conns", "0"}, wantErr: "max-conns"},
		{name: "event loops by default", check: func(o options) string {
			if o.goroutines {
				return "goroutine layer chosen without -net"
			}
			return ""
		}},
		{name: "goroutine layer", args: []string{"-net", "goroutine"}, check: func(o options) string {
			if !o.goroutines {
				return "-net goroutine ignored"
			}
			return ""
		}},
		{name: "network layer from environment", env: map[string]string{"CACHENODE_NET": "goroutine"}, check: func(o options) string {
			if !o.goroutines {
				return "CACHENODE_NET=goroutine ignored"
			}
			return ""
		}},
		{name: "bad network layer", args: []string{"-net", "epoll"}, wantErr: "want eventloop or goroutine"},
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
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-admin-listen", "127.0.0.1:0", "-capacity", "1MB",
			"-admin-token-file", tokenFile(t, "node-token\n")}, io.Discard, logger, ready)
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
	put := func(token string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("PUT", "http://"+addrs[1]+"/config", strings.NewReader(`{"capacity":"64KB","policy":"random"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := put("wrong"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("PUT /config with a wrong token: %s, want 401", resp.Status)
	}
	resp := put("node-token")
	if resp.StatusCode != 200 {
		t.Fatalf("PUT /config: %s", resp.Status)
	}
	resp, err := http.Get("http://" + addrs[1] + "/stats")
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

func TestResolveAdminAddr(t *testing.T) {
	nets := func(cidrs ...string) func() ([]net.Addr, error) {
		return func() ([]net.Addr, error) {
			var out []net.Addr
			for _, c := range cidrs {
				ip, n, err := net.ParseCIDR(c)
				if err != nil {
					return nil, err
				}
				n.IP = ip
				out = append(out, n)
			}
			return out, nil
		}
	}
	tests := []struct {
		name, addr string
		addrs      func() ([]net.Addr, error)
		want, err  string
	}{
		{"explicit host untouched", "127.0.0.1:8081", nets("10.0.0.4/24"), "127.0.0.1:8081", ""},
		{"all interfaces untouched", ":8081", nets(), ":8081", ""},
		{"first private IPv4", "private:11212", nets("127.0.0.1/8", "203.0.113.9/24", "10.1.2.3/16", "192.168.1.5/24"), "10.1.2.3:11212", ""},
		{"172.16/12 counts", "private:11212", nets("127.0.0.1/8", "172.31.40.7/20"), "172.31.40.7:11212", ""},
		{"IPv4 before an earlier ULA", "private:1", nets("fd12:3456::1/64", "192.168.7.7/24"), "192.168.7.7:1", ""},
		{"ULA when no private IPv4", "private:1", nets("127.0.0.1/8", "::1/128", "fd12:3456::1/64"), "[fd12:3456::1]:1", ""},
		{"case-insensitive", "PRIVATE:1", nets("10.0.0.1/8"), "10.0.0.1:1", ""},
		{"none private", "private:11212", nets("127.0.0.1/8", "203.0.113.9/24", "fe80::1/64"), "", "no private address (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or fc00::/7) on this machine's interfaces (found 127.0.0.1, 203.0.113.9, fe80::1)"},
		{"no interfaces", "private:11212", nets(), "", "(found none)"},
		{"lister fails", "private:1", func() ([]net.Addr, error) { return nil, errors.New("boom") }, "", "list interface addresses: boom"},
		{"no port", "private", nets("10.0.0.1/8"), "", "want host:port or private:port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolveAdminAddr(tt.addr, tt.addrs)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("resolveAdminAddr(%q) = %q, %v; want an error containing %q", tt.addr, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("resolveAdminAddr(%q) = %q, %v; want %q", tt.addr, got, err, tt.want)
			}
		})
	}
}

// TestRunPrivateAdminListen checks run binds a private address, or that the
// error reaches the operator
// when --admin-listen private:port cannot be resolved on this machine.
func TestRunPrivateAdminListen(t *testing.T) {
	_, wantErr := resolveAdminAddr("private:0", net.InterfaceAddrs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan [2]string, 1)
	done := make(chan error, 1)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-admin-listen", "private:0"}, io.Discard, logger, ready)
	}()
	select {
	case addrs := <-ready:
		if wantErr != nil {
			t.Fatalf("run listened on %v although this machine has no private address (%v)", addrs, wantErr)
		}
		host, _, _ := net.SplitHostPort(addrs[1])
		if ip := net.ParseIP(host); ip == nil || !ip.IsPrivate() {
			t.Errorf("admin API on %s, want a private address", addrs[1])
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	case err := <-done:
		if wantErr == nil {
			t.Fatalf("run failed although this machine has a private address: %v", err)
		}
		if err == nil || !strings.Contains(err.Error(), "-admin-listen") || !strings.Contains(err.Error(), "no private address") {
			t.Errorf("run error %v, want one naming -admin-listen and the missing private address", err)
		}
	}
}

func TestMemoryLimit(t *testing.T) {
	tests := []struct {
		capacity, want int64
	}{
		{0, 64 << 20},
		{-1, 64 << 20},
		{64 << 20, 80<<20 + 64<<20},
		{cache.MaxCapacity, cache.MaxCapacity + cache.MaxCapacity/4 + 64<<20},
		{math.MaxInt64, math.MaxInt64},
		{math.MaxInt64 / 5 * 4, math.MaxInt64},
	}
	for _, tt := range tests {
		if got := memoryLimit(tt.capacity); got != tt.want {
			t.Errorf("memoryLimit(%d) = %d, want %d", tt.capacity, got, tt.want)
		}
	}
	// Monotonic and never negative around the point where the naive sum
	// would overflow (2000 capacities astride it).
	edge := int64((math.MaxInt64 - 64<<20) / 5 * 4)
	prev := memoryLimit(edge - 1000)
	for c := edge - 999; c <= edge+1000; c++ {
		got := memoryLimit(c)
		if got < prev || got <= 0 {
			t.Fatalf("memoryLimit(%d) = %d after %d: want monotonic and positive", c, got, prev)
		}
		prev = got
	}
}
