package system

import (
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestFreeLoopbackPortsAreDistinctBindableAndBelowTheEphemeralRange(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		t.Fatalf("this test reads the kernel's ephemeral range: %v", err)
	}
	low, err := strconv.Atoi(strings.Fields(string(b))[0])
	if err != nil {
		t.Fatal(err)
	}
	const n = 5
	ports, err := FreeLoopbackPorts(n)
	if err != nil {
		t.Fatal(err)
	}
	if len(ports) != n {
		t.Fatalf("got %d ports (%v), want %d", len(ports), ports, n)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] {
			t.Errorf("port %d handed out twice in %v", p, ports)
		}
		seen[p] = true
		if p < 1024 || p >= low {
			t.Errorf("port %d: want an unprivileged port below the ephemeral range (which starts at %d)", p, low)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Errorf("port %d is not free: %v", p, err)
			continue
		}
		l.Close()
	}
}
