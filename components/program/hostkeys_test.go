package program

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"golang.org/x/crypto/ssh"
	"gopkg.in/yaml.v3"

	"github.com/cloudlabs/cloudlabs/components/offline"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

const hostKeyTestUserKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGb0yU1p9wWc0Ojt0Fh2p7dEwpI3lS3b8Wm3mBvI3x1X user@host"

// sshStack is a run of the program with what it exported that the host
// keys concern.
type sshStack struct {
	m          *offline.Mocks
	exported   map[string]bool
	knownHosts string
	sshHosts   map[string]string // machine -> address, from sshCommands
}

// runSSHStack runs every environment on cloud, with SSH open or not.
// sshStackMachines is how many machines runSSHStack's config makes: the
// phone book's app and 3 Riak nodes, the LB and 2 backends, 2 pool slots
// and the pool's manager, the gallery.
const sshStackMachines = 1 + 3 + 1 + 2 + 2 + 1 + 1

func runSSHStack(t *testing.T, cloud string, open bool) sshStack {
	t.Helper()
	cfg := map[string]string{"fibonacci:nodes": "2", "cachepool:nodes": "2", "cachepool:maxNodes": "2", "riak:nodes": "3"}
	if open {
		cfg["ssh:allowCidr"], cfg["ssh:publicKey"] = "198.51.100.0/24", hostKeyTestUserKey
	}
	var mu sync.Mutex
	s := sshStack{exported: map[string]bool{}, sshHosts: map[string]string{}}
	m, err := offline.Run(func(ctx *pulumi.Context) error {
		ob := newObserver()
		if err := runObserved(ctx, fakeBuild("v1"), false, ob); err != nil {
			return err
		}
		for k := range ob.exports {
			s.exported[k] = true
		}
		if v, ok := ob.exports["knownHosts"].(pulumi.StringOutput); ok {
			ctx.Export("test-knownHosts", v.ApplyT(func(kh string) string { mu.Lock(); defer mu.Unlock(); s.knownHosts = kh; return kh }))
		}
		if v, ok := ob.exports["sshCommands"].(pulumi.StringMap); ok {
			ctx.Export("test-sshCommands", v.ToStringMapOutput().ApplyT(func(cmds map[string]string) map[string]string {
				mu.Lock()
				defer mu.Unlock()
				for machine, cmd := range cmds {
					_, host, _ := strings.Cut(cmd, "@")
					s.sshHosts[machine] = host
				}
				return cmds
			}))
		}
		return nil
	}, "cloudlabs", "test", stackConfig(cloud, cfg))
	if err != nil {
		t.Fatalf("program on %s (ssh %v): %v", cloud, open, err)
	}
	s.m = m
	return s
}

// publicKeyFiles are the public host keys the machines' roles write, by
// machine, read from their user data's write_files.
func publicKeyFiles(t *testing.T, boot map[string]string) map[string]ssh.PublicKey {
	t.Helper()
	out := map[string]ssh.PublicKey{}
	for machine, ud := range boot {
		var c struct {
			WriteFiles []struct{ Path, Content string } `yaml:"write_files"`
		}
		if err := yaml.Unmarshal([]byte(ud), &c); err != nil {
			t.Fatalf("%s: user data: %v", machine, err)
		}
		for _, f := range c.WriteFiles {
			if f.Path != "/etc/ssh/ssh_host_ed25519_key.pub" {
				continue
			}
			k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(f.Content))
			if err != nil {
				t.Fatalf("%s: public host key file %q: %v", machine, f.Content, err)
			}
			out[machine] = k
		}
	}
	return out
}

// storeEntry is a secret-store entry holding a private key.
type storeEntry struct {
	id  string // what a grant names: the parameter's ARN, the secret's id
	pub ssh.PublicKey
}

// privateKeyOf parses a store value as an SSH private key.
func privateKeyOf(v string) (ssh.PublicKey, bool) {
	raw, err := ssh.ParseRawPrivateKey([]byte(v))
	if err != nil {
		return nil, false
	}
	k, ok := raw.(*ed25519.PrivateKey)
	if !ok {
		return nil, false
	}
	pub, err := ssh.NewPublicKey(k.Public())
	return pub, err == nil
}

// hostKeyEntries are the store entries holding a private key, and what
// each machine may read, by machine (the ids its grants name).
func hostKeyEntries(t *testing.T, cloud string, m *offline.Mocks) ([]storeEntry, map[string][]string) {
	t.Helper()
	var entries []storeEntry
	reads := map[string][]string{}
	switch cloud {
	case "aws":
		for _, p := range m.OfType("aws:ssm/parameter:Parameter") {
			if pub, ok := privateKeyOf(p.Str("value")); ok {
				// The mocks' ARN of a resource is arn:aws:mock:::<name>.
				entries = append(entries, storeEntry{id: "arn:aws:mock:::" + p.Name, pub: pub})
			}
		}
		for _, inst := range m.OfType(offline.AWSInstance) {
			pol, ok := m.Named("aws:iam/rolePolicy:RolePolicy", inst.Name+"-secrets")
			if !ok {
				continue
			}
			var doc struct{ Statement []struct{ Resource []string } }
			if err := json.Unmarshal([]byte(pol.Str("policy")), &doc); err != nil {
				t.Fatalf("%s: policy: %v", inst.Name, err)
			}
			for _, st := range doc.Statement {
				reads[inst.Name] = append(reads[inst.Name], st.Resource...)
			}
		}
	case "gcp":
		secretIDs := map[string]string{} // the Secret's mock id -> its secretId
		for _, s := range m.OfType("gcp:secretmanager/secret:Secret") {
			secretIDs[s.Name+"-id"] = s.Str("secretId")
		}
		for _, v := range m.OfType("gcp:secretmanager/secretVersion:SecretVersion") {
			if pub, ok := privateKeyOf(v.Str("secretData")); ok {
				entries = append(entries, storeEntry{id: secretIDs[v.Str("secret")], pub: pub})
			}
		}
		emails := map[string]string{}
		for _, inst := range m.OfType(offline.GCPInstance) {
			emails["serviceAccount:"+prop(inst, "serviceAccount.email").StringValue()] = inst.Name
		}
		for _, g := range m.OfType("gcp:secretmanager/secretIamMember:SecretIamMember") {
			if machine, ok := emails[g.Str("member")]; ok {
				reads[machine] = append(reads[machine], g.Str("secretId"))
			}
		}
	}
	return entries, reads
}

// TestEachMachineReadsOnlyItsOwnHostKey: with SSH open, every machine's
// host key is one secret-store entry of its own, holding the private half
// of the public key its role writes; the machine's grants cover that
// entry and no other machine's.
func TestEachMachineReadsOnlyItsOwnHostKey(t *testing.T) {
	for _, cloud := range []string{"aws", "gcp"} {
		t.Run(cloud, func(t *testing.T) {
			s := runSSHStack(t, cloud, true)
			boot := mustBootFiles(t, s.m)
			pubs := publicKeyFiles(t, boot)
			if len(boot) != sshStackMachines || len(pubs) != len(boot) {
				t.Fatalf("%d machines, %d with a public host key file; want %d and %d", len(boot), len(pubs), sshStackMachines, sshStackMachines)
			}
			entries, reads := hostKeyEntries(t, cloud, s.m)
			if len(entries) != len(boot) {
				t.Fatalf("%d store entries hold a private key, want one per machine (%d)", len(entries), len(boot))
			}
			owner := map[string]string{} // entry id -> machine whose key it holds
			for _, e := range entries {
				for machine, pub := range pubs {
					if bytes.Equal(e.pub.Marshal(), pub.Marshal()) {
						if prev, dup := owner[e.id]; dup {
							t.Errorf("entry %s holds the key of %s and %s", e.id, prev, machine)
						}
						owner[e.id] = machine
					}
				}
			}
			if len(owner) != len(boot) {
				t.Fatalf("%d entries hold a machine's key, want %d: %v", len(owner), len(boot), owner)
			}
			for machine := range boot {
				var own, others []string
				for _, id := range reads[machine] {
					switch m, ok := owner[id]; {
					case ok && m == machine:
						own = append(own, id)
					case ok:
						others = append(others, m)
					}
				}
				if len(own) != 1 || len(others) != 0 {
					t.Errorf("%s reads %d entries of its own host key (want 1) and the host keys of %v (want none)", machine, len(own), others)
				}
			}
		})
	}
}

// TestNoPrivateKeyInUserData: no user data holds private key material, and
// each installs the key after the secret step, restarts ssh on it and only
// then starts services; cloud-init's schema takes it.
func TestNoPrivateKeyInUserData(t *testing.T) {
	for _, cloud := range []string{"aws", "gcp"} {
		t.Run(cloud, func(t *testing.T) {
			s := runSSHStack(t, cloud, true)
			boot := mustBootFiles(t, s.m)
			entries, _ := hostKeyEntries(t, cloud, s.m)
			if len(boot) != sshStackMachines || len(entries) != sshStackMachines {
				t.Fatalf("%d machines, %d host keys; want %d and %d", len(boot), len(entries), sshStackMachines, sshStackMachines)
			}
			for machine, ud := range boot {
				if strings.Contains(ud, "PRIVATE KEY") || strings.Contains(ud, "b3BlbnNzaC1rZXktdjE") { // base64 of "openssh-key-v1"
					t.Errorf("%s: user data holds private key material", machine)
				}
				var c struct{ Runcmd []any } // a step is a list of words or a line of shell
				if err := yaml.Unmarshal([]byte(ud), &c); err != nil {
					t.Fatal(err)
				}
				at := func(s string) int {
					for i, step := range c.Runcmd {
						if strings.Contains(fmt.Sprint(step), s) {
							return i
						}
					}
					return -1
				}
				install, restart, enable := at("/etc/ssh/ssh_host_ed25519_key"), at("systemctl restart ssh"), at("systemctl enable")
				if install < 0 || restart < 0 || enable < 0 || !(install < restart && restart < enable) {
					t.Errorf("%s: key installed at step %d, ssh restarted at %d, first service at %d: want that order", machine, install, restart, enable)
				}
				testkit.CloudConfig(t, ud)
			}
		})
	}
}

// TestKnownHostsPinsEachMachine: the knownHosts output has one line per
// machine with SSH, for the address of its ssh command, holding the public
// key its role writes.
func TestKnownHostsPinsEachMachine(t *testing.T) {
	for _, cloud := range []string{"aws", "gcp"} {
		t.Run(cloud, func(t *testing.T) {
			s := runSSHStack(t, cloud, true)
			pubs := publicKeyFiles(t, mustBootFiles(t, s.m))
			lines := strings.Split(strings.TrimRight(s.knownHosts, "\n"), "\n")
			if len(s.sshHosts) != sshStackMachines || len(lines) != len(s.sshHosts) {
				t.Fatalf("%d ssh commands, %d known_hosts lines; want %d and %d:\n%s", len(s.sshHosts), len(lines), sshStackMachines, sshStackMachines, s.knownHosts)
			}
			byHost := map[string]ssh.PublicKey{}
			for _, l := range lines {
				_, hosts, key, _, _, err := ssh.ParseKnownHosts([]byte(l))
				if err != nil || len(hosts) != 1 {
					t.Fatalf("known_hosts line %q: hosts %v, %v", l, hosts, err)
				}
				byHost[hosts[0]] = key
			}
			machines := make([]string, 0, len(s.sshHosts))
			for m := range s.sshHosts {
				machines = append(machines, m)
			}
			sort.Strings(machines)
			for _, machine := range machines {
				host := s.sshHosts[machine]
				key, ok := byHost[host]
				switch {
				case host == "":
					t.Errorf("%s: no address in its ssh command", machine)
				case !ok:
					t.Errorf("%s: no known_hosts line for %s", machine, host)
				case pubs[machine] == nil || !bytes.Equal(key.Marshal(), pubs[machine].Marshal()):
					t.Errorf("%s: known_hosts pins %s, its role writes %v", machine, ssh.FingerprintSHA256(key), fingerprint(pubs[machine]))
				}
			}
		})
	}
}

func fingerprint(k ssh.PublicKey) string {
	if k == nil {
		return "no key"
	}
	return ssh.FingerprintSHA256(k)
}

// TestNoSSHNoHostKeys: without SSH configured, no host key exists (no
// store entry holds a private key, no role writes a public host key, no
// extra random secret), nothing is exported for SSH, and no ingress rule
// reaches port 22.
func TestNoSSHNoHostKeys(t *testing.T) {
	for _, cloud := range []string{"aws", "gcp"} {
		t.Run(cloud, func(t *testing.T) {
			closed, open := runSSHStack(t, cloud, false), runSSHStack(t, cloud, true)
			boot := mustBootFiles(t, closed.m)
			if len(boot) != sshStackMachines {
				t.Fatalf("%d machines, want %d", len(boot), sshStackMachines)
			}
			if entries, _ := hostKeyEntries(t, cloud, closed.m); len(entries) != 0 {
				t.Errorf("%d store entries hold a private key", len(entries))
			}
			if pubs := publicKeyFiles(t, boot); len(pubs) != 0 {
				t.Errorf("%d machines write a public host key", len(pubs))
			}
			for machine, ud := range boot {
				if strings.Contains(ud, "ssh_deletekeys") || strings.Contains(ud, "restart ssh") {
					t.Errorf("%s: user data changes sshd's keys without SSH open", machine)
				}
			}
			randoms := func(m *offline.Mocks) int {
				n := 0
				for _, r := range m.Resources() {
					if strings.HasPrefix(r.Type, "random:") {
						n++
					}
				}
				return n
			}
			if extra := randoms(open.m) - randoms(closed.m); extra != len(boot) {
				t.Errorf("opening SSH adds %d random resources, want one host key seed per machine (%d)", extra, len(boot))
			}
			for _, k := range []string{"knownHosts", "sshCommands"} {
				if closed.exported[k] {
					t.Errorf("%s is exported with SSH closed", k)
				}
			}
			ingress := awsIngress
			if cloud == "gcp" {
				ingress = gcpIngress
			}
			for e := range ingress(t, closed.m) {
				if covers22(e.ports) {
					t.Errorf("with SSH closed, ingress %s reaches port 22", e)
				}
			}
		})
	}
}

// covers22 reads the ports of an ingressEntry ("22", "4369-4370", "all:").
func covers22(ports string) bool {
	if strings.HasPrefix(ports, "all") {
		return true
	}
	var from, to int
	if _, err := fmt.Sscanf(ports, "%d-%d", &from, &to); err == nil {
		return from <= 22 && 22 <= to
	}
	if _, err := fmt.Sscanf(ports, "%d", &from); err == nil {
		return from == 22
	}
	return false
}
