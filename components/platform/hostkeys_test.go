package platform

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/cloudlabs/cloudlabs/internal/machine/role"
)

// TestHostKeyPairIsOneEd25519Key: the private PEM parses (as x/crypto and
// as OpenSSH's own ssh-keygen read it) to an ed25519 key whose public half
// is the public line.
func TestHostKeyPairIsOneEd25519Key(t *testing.T) {
	priv, pub, err := HostKeyPair([]byte("a seed of the stack"), "web-1")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := ssh.ParseRawPrivateKey([]byte(priv))
	if err != nil {
		t.Fatalf("private key does not parse: %v\n%s", err, priv)
	}
	key, ok := raw.(*ed25519.PrivateKey)
	if !ok {
		t.Fatalf("private key is %T, want *ed25519.PrivateKey", raw)
	}
	want, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(pub))
	if err != nil {
		t.Fatalf("public line %q: %v", pub, err)
	}
	if want.Type() != "ssh-ed25519" || comment != "web-1" {
		t.Errorf("public line is a %s key commented %q, want ssh-ed25519 commented web-1", want.Type(), comment)
	}
	got, err := ssh.NewPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Marshal(), want.Marshal()) {
		t.Errorf("private key's public half %s, public line %s", ssh.FingerprintSHA256(got), ssh.FingerprintSHA256(want))
	}

	keygen, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Fatalf("ssh-keygen not found (apt-get install -y openssh-client): %v", err)
	}
	file := filepath.Join(t.TempDir(), "ssh_host_ed25519_key")
	if err := os.WriteFile(file, []byte(priv), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(keygen, "-y", "-f", file).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen -y refuses the private key: %v: %s", err, out)
	}
	fromKeygen, _, _, _, err := ssh.ParseAuthorizedKey(out)
	if err != nil || !bytes.Equal(fromKeygen.Marshal(), want.Marshal()) {
		t.Errorf("ssh-keygen -y gives %q (%v), want the public line %q", out, err, pub)
	}
}

// TestHostKeyPairIsStableAndPerSeed: the same seed gives the same text
// (the store entry does not change between ups), another seed another key.
func TestHostKeyPairIsStableAndPerSeed(t *testing.T) {
	a1, pa1, err1 := HostKeyPair([]byte("seed-a"), "m")
	a2, pa2, err2 := HostKeyPair([]byte("seed-a"), "m")
	b, pb, err3 := HostKeyPair([]byte("seed-b"), "m")
	for _, err := range []error{err1, err2, err3} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if a1 != a2 || pa1 != pa2 {
		t.Errorf("one seed gave two keys:\n%s\n%s", pa1, pa2)
	}
	if a1 == b || pa1 == pb {
		t.Errorf("two seeds gave one key %s", pa1)
	}
	if _, _, err := HostKeyPair(nil, "m"); err == nil {
		t.Error("an empty seed made a key")
	}
}

// TestWithHostKeyInstallsPrivateAsSecretPublicAsFile: the private key only
// ever travels as a SecretFile (root, 0600); the public key is a file.
func TestWithHostKeyInstallsPrivateAsSecretPublicAsFile(t *testing.T) {
	in := role.Role{Name: "web", Secrets: []role.SecretFile{{Name: "token", Path: "/etc/token", Mode: "0600"}}}
	_, pub, err := HostKeyPair([]byte("s"), "web-1")
	if err != nil {
		t.Fatal(err)
	}
	r := WithHostKey(in, "ssh-host-key-web-1", pub)
	if len(in.Secrets) != 1 || len(in.Files) != 0 {
		t.Errorf("the caller's role was written through: %+v", in)
	}
	if len(r.Secrets) != 2 {
		t.Fatalf("got %d secrets, want the role's one and the host key", len(r.Secrets))
	}
	hk := r.Secrets[1]
	if hk.Name != "ssh-host-key-web-1" || hk.Path != "/etc/ssh/ssh_host_ed25519_key" || hk.Mode != "0600" || (hk.Owner != "" && hk.Owner != "root") {
		t.Errorf("host key secret %+v, want ssh-host-key-web-1 at /etc/ssh/ssh_host_ed25519_key, 0600, root", hk)
	}
	var pubFile *role.File
	for i, f := range r.Files {
		if strings.Contains(f.Content, "PRIVATE KEY") {
			t.Errorf("file %s holds a private key", f.Path)
		}
		if f.Path == "/etc/ssh/ssh_host_ed25519_key.pub" {
			pubFile = &r.Files[i]
		}
	}
	if pubFile == nil || strings.TrimSpace(pubFile.Content) != pub {
		t.Errorf("no public key file /etc/ssh/ssh_host_ed25519_key.pub holding %q in %+v", pub, r.Files)
	}
}
