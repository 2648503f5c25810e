package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestBinary runs the built server as the lab does and stops it as systemd
// would, with SIGTERM.
func TestBinary(t *testing.T) {
	bin := testkit.BuildApp(t, "apps/fibonacci")
	addr := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	t.Setenv("FIBONACCI_MAX_N", "100")
	p := testkit.Start(t, addr, bin, "--listen", addr)

	resp, err := http.Post("http://"+addr+"/fibonacci", "application/json", strings.NewReader(`{"fibonacci_number": 20}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `{"fibonacci_number": 20, "value": 6765}`; string(body) != want {
		t.Errorf("lab example: got %q, want %q", body, want)
	}
	if code, body := get(t, "http://"+addr+"/fibonacci?n=101"); code != 400 || !strings.Contains(body, "maximum 100") {
		t.Errorf("n=101 with FIBONACCI_MAX_N=100: got %d %q", code, body)
	}
	if code, body := get(t, "http://"+addr+"/status"); code != 200 || body != `{"cache_length": 21, "requests": 2}` {
		t.Errorf("status: got %d %q", code, body)
	}
	if code, _ := get(t, "http://"+addr+"/healthz"); code != 200 {
		t.Errorf("healthz: got %d", code)
	}
	if code, body := get(t, "http://"+addr+"/metrics"); code != 200 || !strings.Contains(body, "fibonacci_requests_total 2") {
		t.Errorf("metrics: got %d, fibonacci_requests_total missing", code)
	}

	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.Cmd.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v, want a clean exit", err)
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name    string
		env     string // FIBONACCI_MAX_N, "" for unset
		args    []string
		wantMax int    // served maximum, 0 when run must fail
		wantErr string // substring of run's error
	}{
		{"default", "", nil, 10000, ""},
		{"flag", "", []string{"--max-n", "50"}, 50, ""},
		{"environment", "70", nil, 70, ""},
		{"flag beats environment", "70", []string{"--max-n", "60"}, 60, ""},
		{"zero", "", []string{"--max-n", "0"}, 0, "max-n 0: must be from 1 to 50000"},
		{"above the limit", "", []string{"--max-n", "50001"}, 0, "max-n 50001"},
		{"bad environment", "many", nil, 0, "FIBONACCI_MAX_N"},
		{"unknown flag", "", []string{"--port", "80"}, 0, "flags"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("FIBONACCI_MAX_N", tc.env)
			}
			addr := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
			t.Setenv("FIBONACCI_LISTEN", addr)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- run(ctx, tc.args, io.Discard, slog.New(slog.DiscardHandler)) }()
			if tc.wantErr != "" {
				err := <-done
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("run error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			testkit.WaitTCP(t, addr, 10*time.Second)
			over := fmt.Sprintf("http://%s/fibonacci?n=%d", addr, tc.wantMax+1)
			if code, body := get(t, over); code != 400 || !strings.Contains(body, fmt.Sprintf("maximum %d", tc.wantMax)) {
				t.Errorf("n=max+1: got %d %q, want 400 naming the maximum %d", code, body, tc.wantMax)
			}
			if code, _ := get(t, fmt.Sprintf("http://%s/fibonacci?n=%d", addr, tc.wantMax)); code != 200 {
				t.Errorf("n=max: got %d, want 200", code)
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run after cancel: %v", err)
			}
		})
	}
}

// keepMemoryLimit restores the process's memory limit, which run sets.
func keepMemoryLimit(t *testing.T) {
	t.Helper()
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
}

// TestMemoryLimitApplied runs the server with each form of --memory-limit and
// reads back the limit the Go runtime was given.
func TestMemoryLimitApplied(t *testing.T) {
	tests := []struct {
		name string
		env  string // FIBONACCI_MEMORY_LIMIT, "" for unset
		args []string
		want int64
	}{
		{"default is auto at the default max-n", "", nil, 19_560_000*3/2 + 32<<20},          // MemoBytes(10000) = 19.56 MB
		{"auto at max-n 50000", "", []string{"--max-n", "50000"}, 437_800_000*3/2 + 32<<20}, // MemoBytes(50000) = 437.8 MB
		{"size in MiB", "", []string{"--memory-limit", "200MiB"}, 200 << 20},
		{"size in bytes", "", []string{"--memory-limit", "123456789"}, 123456789},
		{"environment", "1GiB", nil, 1 << 30},
		{"flag beats environment", "1GiB", []string{"--memory-limit", "300MiB"}, 300 << 20},
		{"off", "", []string{"--memory-limit", "off"}, math.MaxInt64},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keepMemoryLimit(t)
			debug.SetMemoryLimit(7 << 20) // a value no case expects, so "not applied" shows
			if tc.env != "" {
				t.Setenv("FIBONACCI_MEMORY_LIMIT", tc.env)
			}
			addr := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
			t.Setenv("FIBONACCI_LISTEN", addr)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- run(ctx, tc.args, io.Discard, slog.New(slog.DiscardHandler)) }()
			// Serving means run got past setting the limit.
			testkit.WaitTCP(t, addr, 10*time.Second)
			if got := debug.SetMemoryLimit(-1); got != tc.want {
				t.Errorf("memory limit: got %d, want %d", got, tc.want)
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run after cancel: %v", err)
			}
		})
	}
}

// TestMemoryLimitRefused: a limit the memo cannot fit in, or one that is not
// a size, stops the server before it serves, with the reason and the way out.
func TestMemoryLimitRefused(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"below the memo at max-n 50000", []string{"--max-n", "50000", "--memory-limit", "100MiB"},
			"memory-limit 100MiB is below what max-n 50000 needs: the memo alone holds up to 418MiB; give at least 434MiB, or a smaller --max-n"},
		{"below the memo at the default max-n", []string{"--memory-limit", "20MiB"},
			"memory-limit 20MiB is below what max-n 10000 needs: the memo alone holds up to 19MiB; give at least 35MiB, or a smaller --max-n"},
		{"not a size", []string{"--memory-limit", "lots"},
			`invalid value "lots" for flag -memory-limit: "lots": want auto, off, or a positive size such as 512MiB (suffixes B, KiB, MiB, GiB)`},
		{"unknown unit", []string{"--memory-limit", "1TB"}, `"1TB": want auto, off`},
		{"zero", []string{"--memory-limit", "0"}, `"0": want auto, off`},
		{"overflow", []string{"--memory-limit", "9000000000GiB"}, `"9000000000GiB": want auto, off`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keepMemoryLimit(t)
			debug.SetMemoryLimit(7 << 20)
			t.Setenv("FIBONACCI_LISTEN", fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t)))
			// Canceled up front: a run that wrongly accepts returns at once
			// (nil) instead of serving for ever.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			err := run(ctx, tc.args, io.Discard, slog.New(slog.DiscardHandler))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("run error = %v, want one containing %q", err, tc.wantErr)
			}
			if got := debug.SetMemoryLimit(-1); got != 7<<20 {
				t.Errorf("a refused start changed the memory limit to %d", got)
			}
		})
	}
}
