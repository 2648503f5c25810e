package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/verify"
)

// cannedCloud is a cloud stack's outputs as `labctl outputs --json` gives
// them: two machines with SSH, their known_hosts lines made as the program
// makes them, and their roles.
func cannedCloud(t *testing.T) (cmds map[string]string, knownHosts string, pubs map[string]string, roles map[string]role.Role) {
	t.Helper()
	cmds = map[string]string{"web-1": "ssh ubuntu@203.0.113.5", "db-1": "ssh ubuntu@203.0.113.6"}
	pubs = map[string]string{}
	roles = map[string]role.Role{}
	for _, m := range []string{"db-1", "web-1"} {
		_, pub, err := platform.HostKeyPair([]byte("seed of "+m), m)
		if err != nil {
			t.Fatal(err)
		}
		pubs[m] = pub
		_, host, _ := strings.Cut(cmds[m], "@")
		knownHosts += host + " " + pub + "\n"
		roles[m] = role.Role{Name: "role-of-" + m, Services: []role.Service{{Name: "app", Exec: "/opt/app", Port: 8080}}}
	}
	return cmds, knownHosts, pubs, roles
}

func keyOf(t *testing.T, line string) ssh.PublicKey {
	t.Helper()
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	return k
}

// TestPairSSHPinsEachMachinesOwnKey: each machine of sshCommands gets the
// user and address of its command, the known_hosts line of that address
// (which verify's SSH transport accepts as the pin for it) and its role.
func TestPairSSHPinsEachMachinesOwnKey(t *testing.T) {
	cmds, kh, pubs, roles := cannedCloud(t)
	targets, notes, err := pairSSH(cmds, kh, roles)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 0 {
		t.Errorf("notes %v, want none", notes)
	}
	if len(targets) != len(cmds) {
		t.Fatalf("got %d targets, want %d", len(targets), len(cmds))
	}
	for _, tg := range targets {
		if want := "ssh " + tg.User + "@" + tg.Host; tg.User != "ubuntu" || want != cmds[tg.Machine] {
			t.Errorf("%s: %s@%s, want what %q names", tg.Machine, tg.User, tg.Host, cmds[tg.Machine])
		}
		pinned, err := verify.PinnedHostKey(tg.HostKey, tg.Host)
		if err != nil {
			t.Fatalf("%s: the transport refuses the pin %q: %v", tg.Machine, tg.HostKey, err)
		}
		if !bytes.Equal(pinned.Marshal(), keyOf(t, pubs[tg.Machine]).Marshal()) {
			t.Errorf("%s: pinned %s, its key is %s", tg.Machine, ssh.FingerprintSHA256(pinned), ssh.FingerprintSHA256(keyOf(t, pubs[tg.Machine])))
		}
		if tg.Role.Name != roles[tg.Machine].Name {
			t.Errorf("%s: paired with role %s, want %s", tg.Machine, tg.Role.Name, roles[tg.Machine].Name)
		}
	}
}

// TestPairSSHNeverGuesses: a machine whose address knownHosts does not pin,
// or that the program does not declare, is left out with a note naming it;
// a knownHosts line that does not parse fails.
func TestPairSSHNeverGuesses(t *testing.T) {
	cmds, kh, _, roles := cannedCloud(t)
	var kept []string
	for _, l := range strings.Split(strings.TrimSpace(kh), "\n") {
		if !strings.HasPrefix(l, "203.0.113.6 ") {
			kept = append(kept, l)
		}
	}
	if len(kept) != 1 {
		t.Fatalf("kept %d lines, want 1", len(kept))
	}
	targets, notes, err := pairSSH(cmds, strings.Join(kept, "\n"), roles)
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 1 || targets[0].Machine != "web-1" || len(notes) != 1 || !strings.Contains(notes[0], "db-1") {
		t.Errorf("unpinned db-1: targets %+v, notes %v; want web-1 only and a note on db-1", targets, notes)
	}

	delete(roles, "web-1")
	targets, notes, err = pairSSH(cmds, kh, roles)
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 1 || targets[0].Machine != "db-1" || len(notes) != 1 || !strings.Contains(notes[0], "web-1") {
		t.Errorf("web-1 without a role: targets %+v, notes %v; want db-1 only and a note on web-1", targets, notes)
	}

	if _, _, err := pairSSH(cmds, kh+"203.0.113.7 ssh-ed25519 not-base64\n", roles); err == nil {
		t.Error("a broken knownHosts line was accepted")
	}
}

// TestCloudChecksOverSSH: with pinned machines every role check runs over
// SSH (services enabled at boot included); without knownHosts verify says
// so and runs only the checks from outside.
func TestCloudChecksOverSSH(t *testing.T) {
	cmds, kh, _, roles := cannedCloud(t)
	targets, _, err := pairSSH(cmds, kh, roles)
	if err != nil {
		t.Fatal(err)
	}
	tg := &target{name: "aws-test", platform: "aws"}
	ms := tg.dialers(targets, nil)
	defer tg.close()
	if len(ms) != 2 {
		t.Fatalf("got %d machines, want 2", len(ms))
	}
	for _, m := range ms {
		names := map[string]bool{}
		for _, c := range verify.ChecksFor(m) {
			names[c.Name] = true
		}
		if m.Transport.Kind() != "ssh" || !names["service:app"] || !names["enabled:app"] || !names["port:app"] {
			t.Errorf("%s: transport %s, checks %v; want service, enabled and port of app over ssh", m.Name, m.Transport.Kind(), names)
		}
	}

	out := &target{name: "aws-test", platform: "aws", outputs: verify.Outputs{
		"fibonacciUrl": "http://203.0.113.9",
		"sshCommands":  map[string]any{"web-1": cmds["web-1"]},
	}}
	checks, notes, err := out.checks(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "knownHosts") {
		t.Errorf("notes %v, want one saying no knownHosts is exported", notes)
	}
	if len(checks) == 0 {
		t.Fatal("no checks from outside")
	}
	for _, c := range checks {
		if c.Machine == "web-1" {
			t.Errorf("check %s of web-1 runs without a pinned key", c.ID())
		}
	}
}

// TestPickSignerOffersTheAuthorizedKey: of the agent's keys, the one the
// stack authorizes (ssh:publicKey) is offered.
func TestPickSignerOffersTheAuthorizedKey(t *testing.T) {
	var signers []ssh.Signer
	for range 3 {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ssh.NewSignerFromKey(k)
		if err != nil {
			t.Fatal(err)
		}
		signers = append(signers, s)
	}
	authorized := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signers[2].PublicKey()))) + " me@laptop"
	got, err := pickSigner(signers, authorized)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.PublicKey().Marshal(), signers[2].PublicKey().Marshal()) {
		t.Errorf("offered %s, want the authorized %s", ssh.FingerprintSHA256(got.PublicKey()), ssh.FingerprintSHA256(signers[2].PublicKey()))
	}
	if _, err := pickSigner(nil, authorized); err == nil {
		t.Error("an empty agent gave a key")
	}
}

// dialOnly is a machine's transport that only dials: to the address of
// an in-test server standing for the manager's API on the machine, or
// failing when addr is empty.
type dialOnly struct {
	verify.Transport
	addr string
}

func (d dialOnly) Dial(ctx context.Context, _ int) (net.Conn, error) {
	if d.addr == "" {
		return nil, errors.New("ssh: connection refused")
	}
	var nd net.Dialer
	return nd.DialContext(ctx, "tcp", d.addr)
}

// TestSkipParkedSlots: on a cloud, pool slots that are not members are
// not dialed (their instances are stopped), and a note names them; the
// members and every other machine are kept. The members are the
// manager's, asked on its machine (a pool grown since up keeps its new
// member); the ones up left when the manager does not answer or is not
// reached.
func TestSkipParkedSlots(t *testing.T) {
	live := []string{"10.0.2.1:11211", "10.0.2.3:11211"} // grown to slot 3 since up
	mgr := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/pool" || r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"nodes": live})
	}))
	defer mgr.Close()
	outputs := verify.Outputs{
		"cachepoolSlots":     []any{"10.0.2.1:11211", "10.0.2.2:11211", "10.0.2.3:11211"},
		"cachepoolEndpoints": []any{"10.0.2.1:11211"},
		"cachepoolAdmin":     []any{"http://10.0.2.1:8081", "http://10.0.2.2:8081", "http://10.0.2.3:8081"},
		"managerUrl":         "http://10.0.2.9:8000",
		"managerToken":       "tok",
	}
	tg := &target{name: "aws-pool", outputs: outputs}
	machines := func(manager verify.Transport) []verify.Machine {
		return []verify.Machine{{Name: "cachepool-node-1"}, {Name: "cachepool-node-2"}, {Name: "cachepool-node-3"}, {Name: verify.ManagerMachine, Transport: manager}}
	}
	names := func(ms []verify.Machine) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Name)
		}
		return out
	}

	kept, notes := tg.skipParked(t.Context(), machines(dialOnly{addr: strings.TrimPrefix(mgr.URL, "http://")}), nil)
	if got := names(kept); !slices.Equal(got, []string{"cachepool-node-1", "cachepool-node-3", verify.ManagerMachine}) {
		t.Errorf("manager answering: kept %v, want its members (slots 1 and 3) and the manager", got)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "cachepool-node-2: pool slots not among the manager's members") {
		t.Errorf("manager answering: notes %q, want one naming slot 2", notes)
	}

	kept, notes = tg.skipParked(t.Context(), machines(dialOnly{}), nil)
	if got := names(kept); !slices.Equal(got, []string{"cachepool-node-1", verify.ManagerMachine}) {
		t.Errorf("manager not reached: kept %v, want the member up left and the manager", got)
	}
	if len(notes) != 2 || !strings.Contains(notes[0], "connection refused") || !strings.Contains(notes[1], "cachepool-node-2, cachepool-node-3: pool slots not among the members up left") {
		t.Errorf("manager not reached: notes %q, want why and the parked slots", notes)
	}

	// A pool without slots beyond its members: nothing skipped, nothing asked.
	tg.outputs = verify.Outputs{"cachepoolEndpoints": []any{"10.0.2.1:11211"}, "cachepoolAdmin": []any{"http://10.0.2.1:8081"}}
	in := machines(dialOnly{})
	if kept, notes := tg.skipParked(t.Context(), in, nil); len(kept) != len(in) || len(notes) != 0 {
		t.Errorf("without slots: kept %d of %d, notes %q", len(kept), len(in), notes)
	}
}
