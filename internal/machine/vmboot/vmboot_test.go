package vmboot

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"gopkg.in/yaml.v3"
)

func TestCheckToolsNamesMissingProgramsAndTheAptLine(t *testing.T) {
	have := map[string]bool{"qemu-img": true, "mkfs.ext4": true}
	look := func(bin string) (string, error) {
		if have[bin] {
			return "/usr/bin/" + bin, nil
		}
		return "", errors.New("not found")
	}
	err := checkTools(Tools, look)
	if err == nil {
		t.Fatal("missing tools passed")
	}
	want := "apt-get install -y qemu-system-x86 mmdebstrap cloud-image-utils"
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "qemu-system-x86_64") {
		t.Errorf("got %q, want it to name qemu-system-x86_64 and %q", err, want)
	}
	for b := range have {
		if strings.Contains(err.Error(), b+",") {
			t.Errorf("error names %s, which is there: %q", b, err)
		}
	}
	if err := checkTools(Tools, func(b string) (string, error) { return "/usr/bin/" + b, nil }); err != nil {
		t.Errorf("all tools there: %v", err)
	}
}

func TestPackagesAndKey(t *testing.T) {
	a := Packages([]string{"nginx", "curl", "nginx"})
	if !slices.IsSorted(a) || slices.Index(a, "nginx") < 0 || len(a) != len(BasePackages)+1 {
		t.Errorf("Packages = %v, want the base packages and nginx once, sorted", a)
	}
	b := Packages([]string{"curl", "nginx"})
	if Key(a) != Key(b) {
		t.Errorf("one package list, two keys: %s %s", Key(a), Key(b))
	}
	if Key(a) == Key(Packages(nil)) {
		t.Errorf("adding nginx kept the key %s: the image would not be rebuilt", Key(a))
	}
}

func testSeed(t *testing.T) Seed {
	t.Helper()
	k, err := NewKeys("m-vmboot")
	if err != nil {
		t.Fatal(err)
	}
	return Seed{
		InstanceID: "i-1", Hostname: "m", UserData: "#cloud-config\nruncmd: [[true]]\n",
		LoginKey: k.LoginAuthorized, HostKeyPrivate: k.HostPrivate, HostKeyPublic: k.HostPublic, CloudPort: 40123,
	}
}

// TestVendorDataCarriesKeysAndRedirect: the vendor-data parses back to the
// login key, the host key pair and the metadata redirect to this
// computer's port, and cloud-init's own schema accepts it.
func TestVendorDataCarriesKeysAndRedirect(t *testing.T) {
	s := testSeed(t)
	vd, err := s.VendorData()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Bootcmd           [][]string        `yaml:"bootcmd"`
		SSHAuthorizedKeys []string          `yaml:"ssh_authorized_keys"`
		SSHKeys           map[string]string `yaml:"ssh_keys"`
	}
	if err := yaml.Unmarshal([]byte(vd), &doc); err != nil {
		t.Fatalf("vendor-data is not YAML: %v\n%s", err, vd)
	}
	if !strings.HasPrefix(vd, "#cloud-config\n") {
		t.Errorf("vendor-data does not start with #cloud-config:\n%s", vd)
	}
	if len(doc.SSHAuthorizedKeys) != 1 || doc.SSHAuthorizedKeys[0] != s.LoginKey {
		t.Errorf("ssh_authorized_keys = %q, want the login key", doc.SSHAuthorizedKeys)
	}
	if doc.SSHKeys["ed25519_private"] != s.HostKeyPrivate || doc.SSHKeys["ed25519_public"] != s.HostKeyPublic {
		t.Errorf("ssh_keys do not carry the host key pair: %v", doc.SSHKeys)
	}
	if len(doc.Bootcmd) < 1 || !strings.Contains(strings.Join(doc.Bootcmd[0], " "), "ip daddr 169.254.169.254 tcp dport 80 dnat to 10.0.2.2:40123\n") {
		t.Errorf("bootcmd does not redirect the metadata address to 10.0.2.2:40123: %q", doc.Bootcmd)
	}
	schema, err := exec.LookPath("cloud-init")
	if err != nil {
		t.Fatalf("cloud-init not found (apt-get install -y cloud-init): %v", err)
	}
	f := filepath.Join(t.TempDir(), "vendor-data")
	if err := os.WriteFile(f, []byte(vd), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(schema, "schema", "--config-file", f).CombinedOutput(); err != nil {
		t.Errorf("cloud-init schema refuses the vendor-data: %v\n%s\n%s", err, out, vd)
	}
	s.CloudPort = 0
	if _, err := s.VendorData(); err == nil {
		t.Error("vendor-data without the cloud port was made")
	}
}

// TestKeysArePairs: the host key's private PEM is the public line's key,
// and the login signer's key is the authorized line's.
func TestKeysArePairs(t *testing.T) {
	k, err := NewKeys("m")
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ssh.ParsePrivateKey([]byte(k.HostPrivate))
	if err != nil {
		t.Fatalf("host key PEM: %v", err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k.HostPublic))
	if err != nil {
		t.Fatal(err)
	}
	if string(priv.PublicKey().Marshal()) != string(pub.Marshal()) || pub.Type() != ssh.KeyAlgoED25519 {
		t.Errorf("host key: private half is %s, public line %s", ssh.FingerprintSHA256(priv.PublicKey()), ssh.FingerprintSHA256(pub))
	}
	login, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k.LoginAuthorized))
	if err != nil || string(login.Marshal()) != string(k.Login.PublicKey().Marshal()) {
		t.Errorf("login line %q is not the signer's key (%v)", k.LoginAuthorized, err)
	}
	k2, _ := NewKeys("m")
	if k2.HostPublic == k.HostPublic {
		t.Error("two boots got one host key")
	}
}

func TestGuestArgs(t *testing.T) {
	g := &Guest{
		Image: Image{Rootfs: "/c/rootfs.ext4", Kernel: "/c/vmlinuz", Initrd: "/c/initrd.img"},
		Dir:   "/run/b", Seed: "/run/b/seed.iso", Forward: map[int]int{8080: 40002, 22: 40001}, Accel: "tcg",
	}
	args := strings.Join(g.Args(), " ")
	for _, want := range []string{
		"-accel tcg -cpu max -smp 2 -m 1024",
		"-kernel /c/vmlinuz -initrd /c/initrd.img",
		"root=/dev/vda rw console=ttyS0",
		"-drive file=/run/b/disk.qcow2,if=virtio,format=qcow2",
		"-drive file=/run/b/seed.iso,if=virtio,format=raw,readonly=on",
		"-netdev user,id=net0,hostfwd=tcp:127.0.0.1:40001-:22,hostfwd=tcp:127.0.0.1:40002-:8080",
		"-serial file:/run/b/console.log",
	} {
		if !strings.Contains(args, want) {
			t.Errorf("args lack %q:\n%s", want, args)
		}
	}
	g.Accel = "kvm"
	if args := strings.Join(g.Args(), " "); !strings.Contains(args, "-accel kvm -cpu host") {
		t.Errorf("kvm args: %s", args)
	}
}

func serveCloud(t *testing.T, c *Cloud) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go c.Serve(l)
	t.Cleanup(func() { c.Shutdown(t.Context()) })
	return "http://" + l.Addr().String()
}

func get(t *testing.T, method, url string, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestCloudGCPObjectsNeedTheMetadataToken: on gcp an object is read only
// with the token the metadata server gave, which needs the
// Metadata-Flavor header, as on GCE.
func TestCloudGCPObjectsNeedTheMetadataToken(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "app")
	os.WriteFile(bin, []byte("binary"), 0o755)
	c := &Cloud{Platform: "gcp", Files: map[string]string{"/b/artifacts/app-1": bin}, Objects: map[string][]byte{"/b/dynamic/lb/upstreams.conf": []byte("upstream x {}")}}
	base := serveCloud(t, c)
	if code, _ := get(t, "GET", base+"/b/artifacts/app-1"); code != http.StatusUnauthorized {
		t.Errorf("object without a token: status %d, want 401", code)
	}
	if code, _ := get(t, "GET", base+"/computeMetadata/v1/instance/service-accounts/default/token"); code != http.StatusForbidden {
		t.Errorf("token without Metadata-Flavor: status %d, want 403", code)
	}
	code, body := get(t, "GET", base+"/computeMetadata/v1/instance/service-accounts/default/token", "Metadata-Flavor", "Google")
	if code != 200 || !strings.Contains(body, `"access_token":"vmboot-`) {
		t.Fatalf("token: %d %s", code, body)
	}
	tok := strings.Split(strings.Split(body, `"access_token":"`)[1], `"`)[0]
	if code, body := get(t, "GET", base+"/b/artifacts/app-1", "Authorization", "Bearer "+tok); code != 200 || body != "binary" {
		t.Errorf("object with the token: %d %q, want 200 binary", code, body)
	}
	if code, body := get(t, "GET", base+"/b/dynamic/lb/upstreams.conf", "Authorization", "Bearer "+tok); code != 200 || body != "upstream x {}" {
		t.Errorf("dynamic object: %d %q", code, body)
	}
	if code, _ := get(t, "GET", base+"/b/artifacts/other", "Authorization", "Bearer "+tok); code != http.StatusNotFound {
		t.Errorf("unknown object: %d, want 404", code)
	}
	if rs := c.Requests(); len(rs) != 6 || rs[0].Status != 401 || rs[0].Path != "/b/artifacts/app-1" {
		t.Errorf("requests log %v", rs)
	}
}

// TestCloudIMDSv2: EC2's metadata needs the session token from PUT
// /latest/api/token; without it a read is refused.
func TestCloudIMDSv2(t *testing.T) {
	base := serveCloud(t, &Cloud{Platform: "aws"})
	if code, _ := get(t, "GET", base+"/latest/meta-data/iam/security-credentials/"); code != http.StatusUnauthorized {
		t.Errorf("IMDSv1 read: %d, want 401", code)
	}
	code, tok := get(t, "PUT", base+"/latest/api/token", "X-aws-ec2-metadata-token-ttl-seconds", "300")
	if code != 200 || tok == "" {
		t.Fatalf("token: %d %q", code, tok)
	}
	code, roleName := get(t, "GET", base+"/latest/meta-data/iam/security-credentials/", "X-aws-ec2-metadata-token", tok)
	if code != 200 || roleName == "" {
		t.Fatalf("role: %d %q", code, roleName)
	}
	code, creds := get(t, "GET", base+"/latest/meta-data/iam/security-credentials/"+roleName, "X-aws-ec2-metadata-token", tok)
	if code != 200 || !strings.Contains(creds, `"AccessKeyId"`) || !strings.Contains(creds, `"Token"`) {
		t.Errorf("credentials: %d %s", code, creds)
	}
}

func TestConsoleTailDropsEscapes(t *testing.T) {
	f := filepath.Join(t.TempDir(), "console.log")
	os.WriteFile(f, []byte("a\n\x1b[0;32m  OK  \x1b[0m] Reached target\r\nlast\n"), 0o644)
	if got, want := ConsoleTail(f, 2), "  OK  ] Reached target\nlast"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := ConsoleTail(filepath.Join(t.TempDir(), "none"), 2); !strings.Contains(got, "no console log") {
		t.Errorf("missing log: %q", got)
	}
}

// TestVendorDataWithSecretStore: with a store, the guest's curl trusts the
// boot's CA, resolves the stores' names to the metadata address and sends its
// port 443 to the store; cloud-init's schema accepts it.
func TestVendorDataWithSecretStore(t *testing.T) {
	s := testSeed(t)
	ca, _, err := NewCA([]string{"ssm.eu-north-1.amazonaws.com"})
	if err != nil {
		t.Fatal(err)
	}
	s.StorePort, s.StoreHosts, s.CAPEM = 40124, []string{"ssm.eu-north-1.amazonaws.com"}, ca
	vd, err := s.VendorData()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Bootcmd [][]string `yaml:"bootcmd"`
	}
	if err := yaml.Unmarshal([]byte(vd), &doc); err != nil {
		t.Fatal(err)
	}
	all := ""
	for _, c := range doc.Bootcmd {
		all += strings.Join(c, " ") + "\n"
	}
	for _, want := range []string{"tcp dport 443 dnat to 10.0.2.2:40124\n", "169.254.169.254 metadata.google.internal metadata ssm.eu-north-1.amazonaws.com"} {
		if !strings.Contains(all, want) {
			t.Errorf("bootcmd lacks %q:\n%s", want, all)
		}
	}
	if !strings.Contains(all, "/etc/ssl/certs/ca-certificates.crt <<'EOF'\n"+ca+"EOF") {
		t.Errorf("bootcmd does not add the boot's CA to curl's bundle:\n%s", all)
	}
	// The step, run twice as bootcmd runs at every boot, adds the CA once.
	bundle := filepath.Join(t.TempDir(), "ca-certificates.crt")
	os.WriteFile(bundle, []byte("OTHER CA\n"), 0o644)
	step := strings.ReplaceAll(doc.Bootcmd[len(doc.Bootcmd)-1][2], "/etc/ssl/certs/ca-certificates.crt", bundle)
	for i := 0; i < 2; i++ {
		if out, err := exec.Command("sh", "-ec", step).CombinedOutput(); err != nil {
			t.Fatalf("the CA step: %v: %s", err, out)
		}
	}
	if b, _ := os.ReadFile(bundle); string(b) != "OTHER CA\n"+ca {
		t.Errorf("bundle after two boots:\n%s\nwant the old content and the CA once", b)
	}
	f := filepath.Join(t.TempDir(), "vendor-data")
	os.WriteFile(f, []byte(vd), 0o600)
	if out, err := exec.Command("cloud-init", "schema", "--config-file", f).CombinedOutput(); err != nil {
		t.Errorf("cloud-init schema refuses the vendor-data: %v\n%s", err, out)
	}
	s.CAPEM = ""
	if _, err := s.VendorData(); err == nil {
		t.Error("a store without a CA was accepted")
	}
}

func TestStoreHosts(t *testing.T) {
	ud := "curl 'https://ssm.eu-north-1.amazonaws.com/' x\n\"https://secretmanager.googleapis.com/v1/projects\" https://ssm.eu-north-1.amazonaws.com/ https://storage.googleapis.com/b"
	got := strings.Join(StoreHosts(ud), " ")
	if got != "ssm.eu-north-1.amazonaws.com secretmanager.googleapis.com" {
		t.Errorf("got %q", got)
	}
}

// TestSecretStoreAnswersOnlyTheGuestsCredentials: SSM's GetParameter with
// the access key and session token the fake IMDS gave, Secret Manager's
// access with the metadata token; anything else is refused.
func TestSecretStoreAnswersOnlyTheGuestsCredentials(t *testing.T) {
	ca, cert, err := NewCA([]string{"ssm.eu-north-1.amazonaws.com", "secretmanager.googleapis.com"})
	if err != nil {
		t.Fatal(err)
	}
	cloud := &Cloud{Platform: "aws"}
	cloud.init()
	store := &SecretStore{Cloud: cloud, Secrets: map[string]string{"/cloudlabs/s/token": "v1", "tok": "v2"}, Cert: cert}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go store.Serve(l)
	t.Cleanup(func() { store.Close() })
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(ca)) {
		t.Fatal("CA PEM does not parse")
	}
	addr := l.Addr().String()
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		},
	}}
	ssm := func(auth, token, name string) (int, string) {
		req, _ := http.NewRequest("POST", "https://ssm.eu-north-1.amazonaws.com/", strings.NewReader(`{"Name":"`+name+`","WithDecryption":true}`))
		req.Header.Set("X-Amz-Target", "AmazonSSM.GetParameter")
		req.Header.Set("Authorization", auth)
		req.Header.Set("X-Amz-Security-Token", token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("TLS to the store under the boot's CA: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	good := "AWS4-HMAC-SHA256 Credential=" + cloud.accessKeyID() + "/20261130/eu-north-1/ssm/aws4_request, SignedHeaders=host, Signature=00"
	if code, body := ssm(good, cloud.token, "/cloudlabs/s/token"); code != 200 || !strings.Contains(body, `"Value":"v1"`) {
		t.Errorf("GetParameter: %d %s", code, body)
	}
	if code, _ := ssm("AWS4-HMAC-SHA256 Credential=AKIAOTHER/x", cloud.token, "/cloudlabs/s/token"); code != 400 {
		t.Errorf("another access key: %d, want 400", code)
	}
	if code, _ := ssm(good, "another-session-token", "/cloudlabs/s/token"); code != 400 {
		t.Errorf("another session token: %d, want 400", code)
	}
	if code, body := ssm(good, cloud.token, "/cloudlabs/s/other"); code != 400 || !strings.Contains(body, "ParameterNotFound") {
		t.Errorf("unknown parameter: %d %s", code, body)
	}
	sm := func(auth string) (int, string) {
		req, _ := http.NewRequest("GET", "https://secretmanager.googleapis.com/v1/projects/p/secrets/tok/versions/latest:access", nil)
		req.Header.Set("Authorization", auth)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := sm("Bearer " + cloud.token); code != 200 || !strings.Contains(body, `"data":"djI="`) {
		t.Errorf("Secret Manager access: %d %s", code, body)
	}
	if code, _ := sm("Bearer other"); code != 401 {
		t.Errorf("another token: %d, want 401", code)
	}
}

// TestMountsUnderSeesMountPoints: a failed build's tree is removed only
// when nothing is mounted in it.
func TestMountsUnderSeesMountPoints(t *testing.T) {
	if m := mountsUnder("/proc"); !slices.Contains(m, "/proc") {
		t.Errorf("mountsUnder(/proc) = %v, want /proc among them", m)
	}
	if m := mountsUnder(t.TempDir()); len(m) != 0 {
		t.Errorf("a fresh folder has mounts: %v", m)
	}
}
