package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/machine/role"
)

// Machine is one machine to verify: its name, the role the program gave it
// and how to reach it.
type Machine struct {
	Name string
	Role role.Role
	// Root is the prefix the platform put before the role's paths (the
	// twin host's folder; "" on a cloud machine): names of file checks
	// leave it out, so they read as the machine's own paths.
	Root      string
	Transport Transport
}

// Check is one probe of one machine.
type Check struct {
	Machine string
	Name    string
	// Eventually marks checks of what settles after a change (a port, a
	// health endpoint, the load balancer's list): the runner retries them
	// with backoff before calling them failed.
	Eventually bool
	Probe      func(ctx context.Context) Outcome
}

// ID is machine/name.
func (c Check) ID() string { return c.Machine + "/" + c.Name }

// ChecksFor derives a machine's checks from its role, in the role's order:
// per service running, enabled at boot (SSH), listening, healthy; per
// download and rendered file its SHA-256; per package installed.
func ChecksFor(m Machine) []Check {
	var cs []Check
	add := func(name string, eventually bool, p func(ctx context.Context) Outcome) {
		cs = append(cs, Check{Machine: m.Name, Name: name, Eventually: eventually, Probe: p})
	}
	t := m.Transport
	for _, s := range m.Role.Services {
		add("service:"+s.Name, true, func(ctx context.Context) Outcome {
			st, err := t.Service(ctx, s)
			if err != nil {
				return Outcome{Status: Unknown, Expected: "running", Found: err.Error()}
			}
			if st.Parked {
				return Outcome{Status: OK, Expected: "running, or parked", Found: st.Active}
			}
			if !st.Running {
				return Outcome{Status: Critical, Expected: "running", Found: st.Active}
			}
			return Outcome{Status: OK, Expected: "running", Found: st.Active}
		})
		if t.Kind() == "ssh" {
			add("enabled:"+s.Name, false, func(ctx context.Context) Outcome {
				st, err := t.Service(ctx, s)
				if err != nil {
					return Outcome{Status: Unknown, Expected: "enabled", Found: err.Error()}
				}
				if st.Enabled != "enabled" {
					return Outcome{Status: Critical, Expected: Unit(s) + " enabled at boot", Found: st.Enabled}
				}
				return Outcome{Status: OK, Expected: Unit(s) + " enabled at boot", Found: st.Enabled}
			})
		}
		if s.Port == 0 {
			continue
		}
		// A parked service's port must be closed: the slot takes no keys.
		parked := func(ctx context.Context) (Outcome, bool) {
			st, err := t.Service(ctx, s)
			if err != nil || !st.Parked {
				return Outcome{}, false
			}
			want := fmt.Sprintf("port %d closed while %s is parked", s.Port, s.Name)
			if c, err := t.Dial(ctx, s.Port); err == nil {
				c.Close()
				return Outcome{Status: Critical, Expected: want, Found: "something accepts connections"}, true
			}
			return Outcome{Status: OK, Expected: want, Found: "closed"}, true
		}
		add("port:"+s.Name, true, func(ctx context.Context) Outcome {
			if o, ok := parked(ctx); ok {
				return o
			}
			want := fmt.Sprintf("port %d accepting TCP", s.Port)
			c, err := t.Dial(ctx, s.Port)
			if err != nil {
				return Outcome{Status: Critical, Expected: want, Found: err.Error()}
			}
			c.Close()
			return Outcome{Status: OK, Expected: want, Found: "connected"}
		})
		if s.Health != "" {
			add("health:"+s.Name, true, func(ctx context.Context) Outcome {
				if o, ok := parked(ctx); ok {
					return o
				}
				want := fmt.Sprintf("GET %s on port %d answers 200", s.Health, s.Port)
				code, _, err := httpGet(ctx, t, s.Port, s.Health)
				if err != nil {
					return Outcome{Status: Critical, Expected: want, Found: err.Error()}
				}
				if code != http.StatusOK {
					return Outcome{Status: Critical, Expected: want, Found: fmt.Sprintf("status %d", code)}
				}
				return Outcome{Status: OK, Expected: want, Found: "status 200"}
			})
		}
	}
	for _, d := range m.Role.Downloads {
		add("download:"+d.Name, false, hashProbe(t, d.Path, strings.ToLower(d.SHA256), "the pinned SHA-256"))
	}
	for _, f := range m.Role.Files {
		sum := sha256.Sum256([]byte(f.Content))
		add("file:"+strings.TrimPrefix(f.Path, m.Root), false, hashProbe(t, f.Path, hex.EncodeToString(sum[:]), "what the program rendered"))
	}
	for _, p := range m.Role.Packages {
		add("package:"+p, false, func(ctx context.Context) Outcome {
			want := p + " installed"
			if t.Kind() == "local" {
				return Outcome{Status: OK, Expected: want, Skipped: "the twin's hosts share this computer's packages: not a machine's own"}
			}
			out, code, err := t.Run(ctx, "dpkg-query -W -f='${Status} ${Version}' "+ShellQuote(p))
			if err != nil {
				return Outcome{Status: Unknown, Expected: want, Found: err.Error()}
			}
			out = strings.TrimSpace(out)
			if code != 0 || !strings.HasPrefix(out, "install ok installed") {
				if out == "" {
					out = fmt.Sprintf("dpkg-query exit %d", code)
				}
				return Outcome{Status: Critical, Expected: want, Found: out}
			}
			return Outcome{Status: OK, Expected: want, Found: out}
		})
	}
	return cs
}

// hashProbe compares a file's SHA-256 with want; a drift reports both.
func hashProbe(t Transport, path, want, what string) func(ctx context.Context) Outcome {
	return func(ctx context.Context) Outcome {
		exp := "sha256 " + want + " (" + what + ")"
		got, err := t.Hash(ctx, path)
		if err != nil {
			return Outcome{Status: Critical, Expected: exp, Found: err.Error()}
		}
		if got != want {
			return Outcome{Status: Critical, Expected: exp, Found: "sha256 " + got + " (drift: " + path + " was changed)"}
		}
		return Outcome{Status: OK, Expected: exp, Found: "sha256 " + got}
	}
}

// httpGet sends GET path to a port of the machine through the transport.
func httpGet(ctx context.Context, t Transport, port int, path string) (int, []byte, error) {
	tr := &http.Transport{
		DialContext:       func(ctx context.Context, _, _ string) (net.Conn, error) { return t.Dial(ctx, port) },
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://machine:"+strconv.Itoa(port)+path, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}
