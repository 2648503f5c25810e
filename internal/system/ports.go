package system

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// lowestPort is the least port FreeLoopbackPorts hands out: below it are
// the well-known and common service ports.
const lowestPort = 10000

// FreeLoopbackPorts returns n distinct TCP ports that were free on
// 127.0.0.1 a moment ago, for a program that must be told its port
// before it binds it (a test's server, QEMU's forwarding).
//
// They are taken below the kernel's ephemeral range
// (net.ipv4.ip_local_port_range). A port the kernel hands out for
// "port 0" is one it also gives to outgoing connections as their source
// port, so between its release here and the program's bind any busy
// client on the machine may take it ("address already in use"). The
// kernel never picks a port below that range by itself; only a process
// naming the same port can, and the pick is random. When the range
// leaves no room below it, the kernel's choice is used after all.
func FreeLoopbackPorts(n int) ([]int, error) {
	span := ephemeralLow() - lowestPort
	below := span >= 64*n
	start := 0
	if below {
		start = rand.IntN(span)
	}
	// Every port stays bound until all are chosen, so they differ.
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	var ports []int
	for k := 0; len(ports) < n; k++ {
		port := 0 // the kernel's choice
		if below {
			if k == span {
				return nil, fmt.Errorf("no %d free ports on 127.0.0.1 between %d and %d", n, lowestPort, lowestPort+span-1)
			}
			port = lowestPort + (start+k)%span
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			if below {
				continue // taken
			}
			return nil, err
		}
		held = append(held, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// ephemeralLow is the first port of the kernel's ephemeral range
// (32768 when it cannot be read: Linux's default).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 32768
	}
	low, err := strconv.Atoi(f[0])
	if err != nil {
		return 32768
	}
	return low
}
