package cloudinit

import (
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

// cloudConfig is the part of the user data the host key changes.
type cloudConfig struct {
	DeleteKeys *bool     `yaml:"ssh_deletekeys"`
	GenTypes   *[]string `yaml:"ssh_genkeytypes"`
	Runcmd     []any     // a step is a list of words or a line of shell
}

func parseCloudConfig(t *testing.T, ud string) cloudConfig {
	t.Helper()
	var c cloudConfig
	if err := yaml.Unmarshal([]byte(ud), &c); err != nil {
		t.Fatalf("user data is not YAML: %v\n%s", err, ud)
	}
	return c
}

// stepIndex is the index of the first runcmd step whose words, joined
// by spaces (or whose line), contain s; -1 if none.
func stepIndex(c cloudConfig, s string) int {
	for i, step := range c.Runcmd {
		if strings.Contains(fmt.Sprint(step), s) {
			return i
		}
	}
	return -1
}

// TestHostKeyRoleKeepsOnlyTheStacksKey: a role installing the SSH host key
// from the secret store boots with cloud-init deleting the image's keys and
// generating only an ed25519 key (the path the stack's key overwrites;
// cloud-init's schema takes no empty list), and restarts ssh after the secret steps, before setup
// and services; the user data passes cloud-init's schema and holds no key.
func TestHostKeyRoleKeepsOnlyTheStacksKey(t *testing.T) {
	ids := map[string]string{"riak-cookie": "/cloudlabs/dev/riak-cookie", "admin-token": "/cloudlabs/dev/admin-token", "ssh-host-key-web-1": "/cloudlabs/dev/ssh-host-key-web-1"}
	for _, o := range []Options{
		{Platform: "aws", Region: "eu-west-1", SecretIDs: ids, SSHKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGb0yU1p9wWc0Ojt0Fh2p7dEwpI3lS3b8Wm3mBvI3x1X user@host"},
		{Platform: "gcp", SecretIDs: ids},
	} {
		t.Run(o.Platform, func(t *testing.T) {
			r := secretRole()
			r.Secrets = append(r.Secrets, role.SecretFile{Name: "ssh-host-key-web-1", Path: "/etc/ssh/ssh_host_ed25519_key", Mode: "0600"})
			ud, err := Render(r, o)
			if err != nil {
				t.Fatal(err)
			}
			testkit.CloudConfig(t, ud)
			if strings.Contains(ud, "PRIVATE KEY") {
				t.Error("user data holds a private key")
			}
			c := parseCloudConfig(t, ud)
			if c.DeleteKeys == nil || !*c.DeleteKeys {
				t.Errorf("ssh_deletekeys is %s, want true", show(c.DeleteKeys))
			}
			if c.GenTypes == nil || len(*c.GenTypes) != 1 || (*c.GenTypes)[0] != "ed25519" {
				t.Errorf("ssh_genkeytypes is %s, want [ed25519] only", show(c.GenTypes))
			}
			install := stepIndex(c, "/etc/ssh/ssh_host_ed25519_key")
			restart := stepIndex(c, "systemctl restart ssh")
			setup := stepIndex(c, r.Setup[0])
			enable := stepIndex(c, "systemctl enable")
			if install < 0 || restart < 0 || setup < 0 || enable < 0 {
				t.Fatalf("steps: install %d, restart %d, setup %d, enable %d in:\n%s", install, restart, setup, enable, ud)
			}
			if len(r.Secrets) != 3 {
				t.Fatalf("role has %d secrets, want 3", len(r.Secrets))
			}
			for _, s := range r.Secrets {
				if at := stepIndex(c, s.Path); at < 0 || at > restart {
					t.Errorf("secret %s installed at step %d, after the ssh restart (step %d)", s.Name, at, restart)
				}
			}
			if restart > setup || restart > enable {
				t.Errorf("ssh restarts at step %d, after setup (%d) or the services (%d)", restart, setup, enable)
			}
		})
	}
}

// TestNoHostKeyNoChangeToSSH: without the host key the image's keys stay
// (cloud-init's defaults) and nothing restarts ssh.
func TestNoHostKeyNoChangeToSSH(t *testing.T) {
	for name, r := range map[string]role.Role{"no secrets": sampleRole(), "other secrets": secretRole()} {
		t.Run(name, func(t *testing.T) {
			ud, err := Render(r, Options{Platform: "gcp", SecretIDs: map[string]string{"riak-cookie": "a", "admin-token": "b"}})
			if err != nil {
				t.Fatal(err)
			}
			c := parseCloudConfig(t, ud)
			if c.DeleteKeys != nil || c.GenTypes != nil {
				t.Errorf("ssh_deletekeys %s, ssh_genkeytypes %s: want both unset", show(c.DeleteKeys), show(c.GenTypes))
			}
			if at := stepIndex(c, "restart ssh"); at >= 0 {
				t.Errorf("step %d restarts ssh: %s", at, fmt.Sprint(c.Runcmd[at]))
			}
		})
	}
}

// show prints what a pointer field holds, "unset" when nil.
func show[T any](p *T) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}
