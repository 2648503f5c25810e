package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"
)

// defaultAdmin keeps the admin API off the network unless asked: its reads
// are unauthenticated, and it is the pool manager's, not the world's.
const defaultAdmin = "127.0.0.1:8081"

// privateHost is the --admin-listen host that stands for this machine's
// private address, which a cloud role cannot know when it renders flags.
const privateHost = "private"

// resolveAdminAddr replaces the host "private" in addr with the first
// private (RFC 1918 or IPv6 ULA) address among addrs(): IPv4 first, in
// interface order, so a dual-stack node binds where its peers reach it.
func resolveAdminAddr(addr string, addrs func() ([]net.Addr, error)) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%q: want host:port or %s:port: %w", addr, privateHost, err)
	}
	if !strings.EqualFold(host, privateHost) {
		return addr, nil
	}
	list, err := addrs()
	if err != nil {
		return "", fmt.Errorf("%q: list interface addresses: %w", addr, err)
	}
	var v4, v6 net.IP
	var seen []string
	for _, a := range list {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		seen = append(seen, ipn.IP.String())
		switch {
		case !ipn.IP.IsPrivate():
		case ipn.IP.To4() != nil && v4 == nil:
			v4 = ipn.IP
		case ipn.IP.To4() == nil && v6 == nil:
			v6 = ipn.IP
		}
	}
	ip := v4
	if ip == nil {
		ip = v6
	}
	if ip == nil {
		found := "none"
		if len(seen) > 0 {
			found = strings.Join(seen, ", ")
		}
		return "", fmt.Errorf("%q: no private address (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or fc00::/7) on this machine's interfaces (found %s); give an explicit host:port instead",
			addr, found)
	}
	return net.JoinHostPort(ip.String(), port), nil
}

// readToken reads the admin write token from path, trimmed of surrounding
// white space (files usually end with a newline). An empty file is an
// error: the operator meant to allow writes, and a silent "writes refused"
// would only surface later as 403s.
func readToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("%s: no such file (it should hold the admin token, mode 0600)", path)
		}
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("%s is empty: want the admin token (one line)", path)
	}
	if strings.ContainsAny(tok, " \t\r\n") {
		return "", fmt.Errorf("%s: the token must be one word without white space inside", path)
	}
	return tok, nil
}
