package platform

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"golang.org/x/crypto/ssh"

	"github.com/cloudlabs/cloudlabs/internal/machine/cloudinit"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
)

// SSH host keys are made by the program, so that known_hosts is written
// from the stack's outputs and no key is ever trusted on first use: each
// machine's private key is a secret of its own in the cloud's secret store
// (installed at boot, as the Riak cookie is), its public key a plain role
// file and a line of the knownHosts output.

// HostKeySeedLength is the length of the random secret a host key is
// derived from: 64 letters and digits are about 381 bits, hashed to the
// 32-byte ed25519 seed.
const HostKeySeedLength = 64

// HostKeyConfig is the sshd drop-in naming the one host key sshd offers
// (Ubuntu's sshd_config includes sshd_config.d/*.conf first, and any
// HostKey line replaces sshd's default list).
const HostKeyConfig = "/etc/ssh/sshd_config.d/10-cloudlabs-host-key.conf"

// HostKeySecret is the name of a machine's host key in the secret store:
// one entry per machine, so each machine's grant covers its own key only.
func HostKeySecret(machine string) string { return "ssh-host-key-" + machine }

// HostKeyPair derives a machine's ed25519 host key from a seed (any
// length; it is hashed): the private key in OpenSSH's PEM format, as sshd
// reads it, and the public key in authorized_keys form with the comment.
// The same seed gives the same text, so the secret-store entry does not
// change from one `up` to the next.
func HostKeyPair(seed []byte, comment string) (private, public string, err error) {
	if len(seed) == 0 {
		return "", "", fmt.Errorf("host key %s: empty seed", comment)
	}
	sum := sha256.Sum256(append([]byte("cloudlabs ssh host key\x00"), seed...))
	priv := ed25519.NewKeyFromSeed(sum[:])
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		return "", "", fmt.Errorf("host key %s: %w", comment, err)
	}
	public = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	if comment != "" {
		public += " " + comment
	}
	return string(pem.EncodeToMemory(openSSHPrivateKey(priv, pub, comment))), public, nil
}

// openSSHPrivateKey is ssh.MarshalPrivateKey without its random check
// words (PROTOCOL.key, "openssh-key-v1", unencrypted): they only detect a
// wrong passphrase, and being derived from the key they keep the text
// stable across runs.
func openSSHPrivateKey(priv ed25519.PrivateKey, pub ssh.PublicKey, comment string) *pem.Block {
	check := binary.BigEndian.Uint32(priv.Seed()[:4]) ^ 0x5a5a5a5a
	body := ssh.Marshal(struct {
		Check1, Check2 uint32
		KeyType        string
		Pub            []byte
		Priv           []byte
		Comment        string
	}{check, check, ssh.KeyAlgoED25519, priv.Public().(ed25519.PublicKey), priv, comment})
	for i := byte(1); len(body)%8 != 0; i++ {
		body = append(body, i)
	}
	key := ssh.Marshal(struct {
		CipherName, KdfName, KdfOpts string
		NumKeys                      uint32
		PubKey, PrivKeyBlock         []byte
	}{"none", "none", "", 1, pub.Marshal(), body})
	return &pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: append([]byte("openssh-key-v1\x00"), key...)}
}

// WithHostKey returns r installing the host key: the private key as the
// SecretFile secret (root, 0600, from the secret store at boot), the
// public key and the sshd drop-in as plain files. cloudinit.Render then
// deletes the image's keys, generates none and restarts sshd on this one.
func WithHostKey(r role.Role, secret, public string) role.Role {
	r.Secrets = append(slices.Clone(r.Secrets), role.SecretFile{Name: secret, Path: cloudinit.SSHHostKey, Mode: "0600", Owner: "root"})
	r.Files = append(slices.Clone(r.Files),
		role.File{Path: cloudinit.SSHHostKey + ".pub", Content: public + "\n", Mode: "0644"},
		role.File{Path: HostKeyConfig, Content: "# cloudlabs: the host key the stack made (knownHosts output), and no other\nHostKey " + cloudinit.SSHHostKey + "\n", Mode: "0644"},
	)
	return r
}

// HostKeys gives every machine of a cloud platform a host key of its own
// and collects the known_hosts lines. Used only when the stack opens SSH;
// like the platform it wraps, not safe for concurrent use.
type HostKeys struct {
	Platform
	keys []KnownHost
}

// KnownHost is one machine's known_hosts line.
type KnownHost struct {
	Machine string
	Line    pulumi.StringOutput // "<SSH address> ssh-ed25519 AAAA... <machine>"
}

// WithHostKeys wraps p.
func WithHostKeys(p Platform) *HostKeys { return &HostKeys{Platform: p} }

// Machine makes the machine's host key (a random secret of the stack kept
// in state, named <machine>-host-key), adds it to the role and to
// args.Secrets, and creates the machine.
func (h *HostKeys) Machine(ctx *pulumi.Context, name string, args MachineArgs, opts ...pulumi.ResourceOption) (*Machine, error) {
	secret := HostKeySecret(name)
	if _, ok := args.Secrets[secret]; ok {
		return nil, fmt.Errorf("machine %s: MachineArgs.Secrets already has %q, the host key's name", name, secret)
	}
	seed, err := h.Platform.RandomSecret(ctx, name+"-host-key", HostKeySeedLength, opts...)
	if err != nil {
		return nil, fmt.Errorf("machine %s: host key: %w", name, err)
	}
	pair := seed.ApplyT(func(s string) ([]string, error) {
		priv, pub, err := HostKeyPair([]byte(s), name)
		return []string{priv, pub}, err
	}).(pulumi.StringArrayOutput)
	private := pulumi.ToSecret(pair.Index(pulumi.Int(0))).(pulumi.StringOutput)
	// The public key is no secret: it goes to the role and the outputs.
	public := pulumi.Unsecret(pair.Index(pulumi.Int(1))).(pulumi.StringOutput)

	secrets := make(map[string]pulumi.StringOutput, len(args.Secrets)+1)
	for k, v := range args.Secrets {
		secrets[k] = v
	}
	secrets[secret] = private
	args.Secrets = secrets
	args.Role = RoleOf(pulumi.All(args.Role, public).ApplyT(func(v []any) (role.Role, error) {
		r, ok := v[0].(role.Role)
		if !ok {
			return role.Role{}, fmt.Errorf("machine %s: role output holds %T, want role.Role", name, v[0])
		}
		return WithHostKey(r, secret, v[1].(string)), nil
	}))
	m, err := h.Platform.Machine(ctx, name, args, opts...)
	if err != nil {
		return nil, err
	}
	h.keys = append(h.keys, KnownHost{Machine: name, Line: pulumi.Sprintf("%s %s", m.SSHHost, public)})
	return m, nil
}

// KnownHosts is one known_hosts line per machine, sorted by machine name:
// "<SSH address> ssh-ed25519 AAAA... <machine>".
func (h *HostKeys) KnownHosts() pulumi.StringOutput { return KnownHostsFile(h.keys) }

// KnownHostsFile is a known_hosts file of the machines' lines, sorted by
// machine name: what a platform that makes host keys exports as knownHosts.
func KnownHostsFile(keys []KnownHost) pulumi.StringOutput {
	keys = slices.Clone(keys)
	sort.Slice(keys, func(i, j int) bool { return keys[i].Machine < keys[j].Machine })
	lines := make([]any, len(keys))
	for i, k := range keys {
		lines[i] = k.Line
	}
	return pulumi.All(lines...).ApplyT(func(v []any) string {
		var b strings.Builder
		for _, l := range v {
			b.WriteString(l.(string) + "\n")
		}
		return b.String()
	}).(pulumi.StringOutput)
}
