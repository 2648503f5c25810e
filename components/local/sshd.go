package local

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
)

// hostnetShape is the link every host gets in namespace mode.
type hostnetShape struct {
	RateKbit, DelayMs int
	LossPct           float64
}

// sshSettings open SSH on every host (namespace mode only).
type sshSettings struct{ allow, key string }

func (s sshSettings) open() bool { return s.allow != "" && s.key != "" }

// SSHUser is who logs in to a twin host: services run as root there, as
// the provider does (a cloud machine's user is ubuntu, with sudo).
const SSHUser = "root"

// sshdExec is Debian's OpenSSH server (apt-get install -y openssh-server).
var sshdExec = "/usr/sbin/sshd"

// withSSH makes the host key of machine name (a random seed kept in the
// stack, as the clouds' are: platform.HostKeyPair), adds it to
// args.Secrets and wraps args.Role with an OpenSSH server that offers it
// alone and lets in the stack's key. It records the known_hosts line.
func (p *Platform) withSSH(ctx *pulumi.Context, name string, l platform.Layout, args platform.MachineArgs, opts ...pulumi.ResourceOption) (platform.MachineArgs, error) {
	secret := platform.HostKeySecret(name)
	if _, ok := args.Secrets[secret]; ok {
		return args, fmt.Errorf("machine %s: MachineArgs.Secrets already has %q, the host key's name", name, secret)
	}
	seed, err := p.RandomSecret(ctx, name+"-host-key", platform.HostKeySeedLength, opts...)
	if err != nil {
		return args, fmt.Errorf("machine %s: host key: %w", name, err)
	}
	pair := seed.ApplyT(func(s string) ([]string, error) {
		priv, pub, err := platform.HostKeyPair([]byte(s), name)
		return []string{priv, pub}, err
	}).(pulumi.StringArrayOutput)
	private := pulumi.ToSecret(pair.Index(pulumi.Int(0))).(pulumi.StringOutput)
	public := pulumi.Unsecret(pair.Index(pulumi.Int(1))).(pulumi.StringOutput)
	secrets := maps.Clone(args.Secrets)
	if secrets == nil {
		secrets = map[string]pulumi.StringOutput{}
	}
	secrets[secret] = private
	args.Secrets = secrets
	key := p.ssh.key
	args.Role = platform.RoleOf(pulumi.All(args.Role, public).ApplyT(func(v []any) (role.Role, error) {
		r, ok := v[0].(role.Role)
		if !ok {
			return role.Role{}, fmt.Errorf("machine %s: role output holds %T, want role.Role", name, v[0])
		}
		return SSHDRole(r, l, secret, v[1].(string), key)
	}))
	p.keys = append(p.keys, platform.KnownHost{Machine: name, Line: pulumi.Sprintf("%s %s", l.Bind, public)})
	return args, nil
}

// SSHDRole adds to r an OpenSSH server on the host's address, port 22:
// its own sshd_config (the host key the program made and no other, the
// stack's key for root, no passwords), the key as a SecretFile, and a
// start script that makes the privilege-separation folder sshd needs.
// StrictModes is off: a twin's state folder may lie below /tmp, whose
// modes sshd would refuse.
func SSHDRole(r role.Role, l platform.Layout, secret, hostPublic, authorized string) (role.Role, error) {
	for _, s := range r.Services {
		if s.Name == "sshd" || s.Port == 22 {
			return r, fmt.Errorf("role %s: service %s already takes sshd's name or port 22", r.Name, s.Name)
		}
	}
	keyPath := l.Path("/etc/ssh/ssh_host_ed25519_key")
	conf := l.Path("/etc/ssh/sshd_config")
	start := l.Path("/usr/local/sbin/cloudlabs-sshd")
	r.Secrets = append(slices.Clone(r.Secrets), role.SecretFile{Name: secret, Path: keyPath, Mode: "0600", Owner: "root"})
	r.Files = append(slices.Clone(r.Files),
		role.File{Path: keyPath + ".pub", Content: hostPublic + "\n", Mode: "0644"},
		role.File{Path: l.Path("/root/.ssh/authorized_keys"), Content: strings.TrimSpace(authorized) + "\n", Mode: "0600"},
		role.File{Path: conf, Mode: "0644", Content: strings.Join([]string{
			"# cloudlabs twin: this host's own sshd, in its namespace",
			"Port 22",
			"ListenAddress " + l.Bind,
			"HostKey " + keyPath,
			"PidFile " + l.Path("/run/sshd.pid"),
			"AuthorizedKeysFile " + l.Path("/root/.ssh/authorized_keys"),
			"AllowUsers " + SSHUser,
			"PermitRootLogin prohibit-password",
			"PasswordAuthentication no",
			"KbdInteractiveAuthentication no",
			"UsePAM no",
			"UseDNS no",
			"StrictModes no",
			"PrintMotd no",
			"",
		}, "\n")},
		role.File{Path: start, Mode: "0755", Content: "#!/bin/sh\n# sshd wants its privilege-separation folder; the twin has no systemd to make it\nmkdir -p /run/sshd\nexec " + sshdExec + " -D -e -f " + conf + "\n"},
	)
	r.Services = append(slices.Clone(r.Services), role.Service{Name: "sshd", Exec: start, Port: 22})
	return r, nil
}

// KnownHosts is one known_hosts line per machine in namespace mode with
// SSH open ("<address> ssh-ed25519 AAAA... <machine>"), sorted by machine;
// "" otherwise. Export it as the knownHosts output, as the clouds do.
func (p *Platform) KnownHosts() pulumi.StringOutput { return platform.KnownHostsFile(p.keys) }
