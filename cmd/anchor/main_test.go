package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

func TestAnchorAnswersEveryRequestWithTheBody(t *testing.T) {
	tests := []struct {
		name, body, contentType, method, path string
	}{
		{"fibonacci reply to a POST", `{"fibonacci_number": 20, "value": 6765}`, "application/json", http.MethodPost, "/fibonacci"},
		{"phone book reply with its newline", "{\"name\":\"John Doe\",\"number\":\"+358408053254\"}\n", "application/json", http.MethodGet, "/get/John%20Doe"},
		{"plain text at the root", "hello", "text/plain", http.MethodGet, "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := serve(t, "--body", tt.body, "--content-type", tt.contentType)
			req, err := http.NewRequest(tt.method, "http://"+addr+tt.path, strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.body {
				t.Errorf("body: got %q, want %q", got, tt.body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != tt.contentType {
				t.Errorf("Content-Type: got %q, want %q", ct, tt.contentType)
			}
		})
	}
}

func TestAnchorRequiresABody(t *testing.T) {
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"--listen", "127.0.0.1:0"}, &stderr, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "--body") {
		t.Fatalf("got %v, want an error naming --body", err)
	}
}

// TestAnchorAnswersFromMemcached: with --memcached, each request is one Get
// of --key from the real memcached; a missing key is a 502, never an empty
// success.
func TestAnchorAnswersFromMemcached(t *testing.T) {
	mc := testkit.Memcached(t)
	value := "{\"name\":\"John Doe\",\"number\":\"+358408053254\"}\n"
	if err := memcache.New(mc.Addr).Set(&memcache.Item{Key: "anchor-john", Value: []byte(value)}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key, want string
		status    int
	}{
		{"anchor-john", value, http.StatusOK},
		{"no-such-key", "", http.StatusBadGateway},
	} {
		t.Run(tc.key, func(t *testing.T) {
			addr := serve(t, "--memcached", mc.Addr, "--key", tc.key)
			resp, err := http.Get("http://" + addr + "/get/John%20Doe")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || (tc.want != "" && string(got) != tc.want) {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, got, tc.status, tc.want)
			}
		})
	}
}

func TestAnchorReplySourceFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--body", "x", "--memcached", "127.0.0.1:1", "--key", "k"},
		{"--memcached", "127.0.0.1:1"},
	} {
		err := run(context.Background(), append([]string{"--listen", "127.0.0.1:0"}, args...), io.Discard, slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), "flags:") {
			t.Errorf("%v: got %v, want a flags error", args, err)
		}
	}
}

// serve runs the anchor with args on a free loopback port until the test
// ends, and returns its address once it accepts connections.
func serve(t *testing.T, args ...string) string {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"--listen", addr}, args...), io.Discard, slog.New(slog.DiscardHandler))
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	testkit.WaitTCP(t, addr, 10*time.Second)
	return addr
}
