package local

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"golang.org/x/crypto/ssh"

	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/config/stackconfig"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
	"github.com/cloudlabs/cloudlabs/internal/twin/hostnet"
	"github.com/cloudlabs/cloudlabs/internal/verify"
)

// netnsProbe bounds each connection attempt: a filtered port answers
// nothing, so its probe ends here.
const netnsProbe = 700 * time.Millisecond

func probeFrom(ns, addr string) error { return hostnet.Probe(ns, addr, netnsProbe) }

func isFiltered(err error) bool { return hostnet.Filtered(err) }

// TestAutomationNetns runs up → checks → destroy with the real CLI in
// namespace mode: a public front (HTTP on port 80, no offset) and a
// backend (memcached) open only to the front's group, SSH open from this
// machine alone with the host keys the program made.
func TestAutomationNetns(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("namespace mode needs root: run this test as root (CI does)")
	}
	memcached := testkit.Binary(t, "memcached", "memcached")
	testkit.Binary(t, "sshd", "openssh-server")
	state := t.TempDir()
	id := hostnet.StackID(filepath.Join(state, "e2e"))
	t.Cleanup(func() { _, _ = hostnet.Sweep(id) })
	// Claimed (bridge up) before up, so a test running at once elsewhere
	// cannot take the /24 the program will choose (its own bridge it skips).
	n, err := hostnet.Claim(netip.MustParsePrefix(hostnet.DefaultRange), id)
	if err != nil {
		t.Fatal(err)
	}
	sub, gateway := n.Subnet, n.Gateway()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	authorized := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))

	program := func(int) pulumi.RunFunc {
		return func(ctx *pulumi.Context) error {
			p, err := New(ctx, Settings{StateDir: state, Network: stackconfig.LocalNetns,
				SSHAllowCIDR: netip.PrefixFrom(gateway, 32).String(), SSHPublicKey: authorized})
			if err != nil {
				return err
			}
			fl, bl := p.Layout("front"), p.Layout("back")
			front := role.Role{Name: "front",
				Files: []role.File{{Path: fl.Path("/srv/index.html"), Content: "front", Mode: "0644"}},
				Services: []role.Service{{Name: "web", Exec: "/usr/bin/python3", Port: fl.Port(80), Health: "/",
					Args: []string{"-m", "http.server", "--bind", fl.Bind, "--directory", fl.Path("/srv"), fmt.Sprint(fl.Port(80))}}}}
			back := role.Role{Name: "back",
				Services: []role.Service{{Name: "memcached", Exec: memcached, Port: 11211,
					Args: []string{"-l", bl.Bind, "-p", "11211", "-U", "0", "-m", "8", "-u", "nobody"}}}}
			fm, err := p.Machine(ctx, "front", platform.MachineArgs{Group: "lb", Public: true, Role: platform.ConstRole(front)})
			if err != nil {
				return err
			}
			bm, err := p.Machine(ctx, "back", platform.MachineArgs{Group: "app", Role: platform.ConstRole(back)})
			if err != nil {
				return err
			}
			if err := p.Allow(ctx, "front-http", platform.Rule{To: "lb", CIDRs: []string{"0.0.0.0/0"}, Ports: []platform.PortRange{platform.Port(80)}}); err != nil {
				return err
			}
			if err := p.Allow(ctx, "back-from-lb", platform.Rule{To: "app", From: "lb", Ports: []platform.PortRange{platform.Port(11211)}}); err != nil {
				return err
			}
			ctx.Export("front", fm.PrivateIP)
			ctx.Export("back", bm.PrivateIP)
			ctx.Export("backSSH", bm.SSHHost)
			ctx.Export("backDir", bm.Resource.(*Host).Dir)
			ctx.Export("knownHosts", p.KnownHosts())
			return nil
		}
	}
	nss, _ := hostnet.Namespaces(id)
	links, _ := hostnet.Links(id)
	if len(nss) != 0 || len(links) != 1 {
		t.Fatalf("before up: %d namespaces, %d links of the stack; want none but the claimed bridge", len(nss), len(links))
	}
	up, destroy := stack(t, program)
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			destroy()
		}
	})
	res := up(1)
	out := func(k string) string { s, _ := res.Outputs[k].Value.(string); return s }
	front, back := out("front"), out("back")
	if !sub.Contains(netip.MustParseAddr(front)) || !sub.Contains(netip.MustParseAddr(back)) || out("backSSH") != back {
		t.Fatalf("addresses front %q back %q (ssh %q), want both in %s", front, back, out("backSSH"), sub)
	}
	frontNS := "/run/netns/" + hostnet.Namespace(id, "front")

	t.Run("the front answers from this machine on port 80", func(t *testing.T) {
		c := http.Client{Timeout: 5 * time.Second}
		resp, err := c.Get("http://" + front + "/index.html")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(b) != "front" {
			t.Fatalf("GET front: %d %q", resp.StatusCode, b)
		}
	})
	t.Run("the backend is filtered from this machine", func(t *testing.T) {
		if err := probeFrom("", back+":11211"); !isFiltered(err) {
			t.Fatalf("back:11211 from this machine: %v, want filtered", err)
		}
	})
	t.Run("the backend answers the front's group", func(t *testing.T) {
		if err := probeFrom(frontNS, back+":11211"); err != nil {
			t.Fatalf("back:11211 from the front: %v", err)
		}
	})
	t.Run("ssh is filtered outside the allowed block", func(t *testing.T) {
		if err := probeFrom(frontNS, back+":22"); !isFiltered(err) {
			t.Fatalf("back:22 from the front (outside %s/32): %v, want filtered", gateway, err)
		}
	})
	t.Run("ssh with the pinned host key reaches the host's namespace", func(t *testing.T) {
		var pin string
		for _, l := range strings.Split(out("knownHosts"), "\n") {
			if strings.HasPrefix(l, back+" ") {
				pin = l
			}
		}
		if pin == "" {
			t.Fatalf("no known_hosts line for %s in %q", back, out("knownHosts"))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := verify.DialSSH(ctx, verify.SSHConfig{Addr: back + ":22", User: SSHUser, Key: signer, HostKey: pin, TwinDir: out("backDir"), Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		dev, code, err := c.Run(ctx, "cat /proc/net/dev")
		if err != nil || code != 0 {
			t.Fatalf("run: %v exit %d", err, code)
		}
		if !strings.Contains(dev, "eth0:") || strings.Contains(dev, hostnet.BridgeName(id)) {
			t.Fatalf("/proc/net/dev over SSH is not the host's namespace (want eth0, no bridge):\n%s", dev)
		}
		st, err := c.Service(ctx, role.Service{Name: "memcached"})
		if err != nil || !st.Running {
			t.Fatalf("memcached over SSH: %+v %v, want running", st, err)
		}
		// The operator's key is no host key of the host: pinned, it fails.
		wrong := back + " " + authorized
		if _, err := verify.DialSSH(ctx, verify.SSHConfig{Addr: back + ":22", User: SSHUser, Key: signer, HostKey: wrong, Timeout: 5 * time.Second}); !errors.Is(err, verify.ErrHostKey) {
			t.Fatalf("dial with another pinned key: %v, want %v", err, verify.ErrHostKey)
		}
	})

	nss, _ = hostnet.Namespaces(id)
	links, _ = hostnet.Links(id)
	if len(nss) != 2 || len(links) != 3 {
		t.Fatalf("while up: namespaces %v, %d links; want 2 and 3", nss, len(links))
	}
	destroy()
	destroyed = true
	nss, _ = hostnet.Namespaces(id)
	links, _ = hostnet.Links(id)
	if len(nss) != 0 || len(links) != 0 {
		t.Fatalf("after destroy: namespaces %v, %d links", nss, len(links))
	}
}
