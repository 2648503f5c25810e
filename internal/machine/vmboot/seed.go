package vmboot

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// MetadataAddr is the link-local address of the clouds' instance metadata
// services (EC2's IMDS, GCE's metadata server); GCE's images also name it
// metadata.google.internal in /etc/hosts.
const MetadataAddr = "169.254.169.254"

// HostAddr is this computer as the guest sees it through QEMU's
// user-mode network.
const HostAddr = "10.0.2.2"

// Seed is what the NoCloud volume carries.
type Seed struct {
	// InstanceID and Hostname are the meta-data.
	InstanceID, Hostname string
	// UserData is the machine's #cloud-config, as rendered: the seed
	// passes it on unchanged.
	UserData string
	// LoginKey is the authorized_keys line the boot logs in with, as the
	// image's default user (debian).
	LoginKey string
	// HostKey is the guest's ed25519 host key, private (OpenSSH PEM) and
	// public (authorized_keys form): pinned before the first connection.
	HostKeyPrivate, HostKeyPublic string
	// CloudPort is the port of the Cloud server on this computer: the
	// guest's metadata requests (169.254.169.254:80) go there.
	CloudPort int
	// StorePort is the port of the SecretStore on this computer, 0 when
	// the user data reads no secret; StoreHosts are the store names the
	// guest resolves to the metadata address, whose port 443 goes there;
	// CAPEM is the boot's CA, which the guest trusts.
	StorePort  int
	StoreHosts []string
	CAPEM      string
}

// MetaData is the seed's meta-data file.
func (s Seed) MetaData() (string, error) {
	b, err := yaml.Marshal(map[string]string{"instance-id": s.InstanceID, "local-hostname": s.Hostname})
	return string(b), err
}

// VendorData is the seed's vendor-data: what the boot adds around the
// user data, in a file of its own so the user data stays as rendered.
// cloud-init merges it under the user data (the user data wins on a key
// both set; the rendered user data sets none of these). It authorizes the
// boot's login key, installs the pinned host key, and before any other
// step (bootcmd) sends the guest's metadata traffic to this computer's
// Cloud server and names metadata.google.internal as GCE images do.
func (s Seed) VendorData() (string, error) {
	if s.LoginKey == "" || s.HostKeyPrivate == "" || s.HostKeyPublic == "" || s.CloudPort == 0 {
		return "", fmt.Errorf("vendor-data: the login key, the host key and the cloud port are all required")
	}
	store := ""
	names := []string{"metadata.google.internal", "metadata"}
	if s.StorePort != 0 {
		if s.CAPEM == "" || len(s.StoreHosts) == 0 {
			return "", fmt.Errorf("vendor-data: a secret store needs its CA and host names")
		}
		store = fmt.Sprintf("    ip daddr %s tcp dport 443 dnat to %s:%d\n", MetadataAddr, HostAddr, s.StorePort)
		names = append(names, s.StoreHosts...)
	}
	nft := fmt.Sprintf(`table ip cloudlabs_vmboot {
  chain output {
    type nat hook output priority -100; policy accept;
    ip daddr %s tcp dport 80 dnat to %s:%d
%s  }
}
`, MetadataAddr, HostAddr, s.CloudPort, store)
	hostsLine := MetadataAddr + " " + strings.Join(names, " ")
	hosts := fmt.Sprintf("grep -qxF '%s' /etc/hosts || echo '%s' >>/etc/hosts", hostsLine, hostsLine)
	doc := struct {
		Bootcmd           [][]string        `yaml:"bootcmd"`
		SSHAuthorizedKeys []string          `yaml:"ssh_authorized_keys"`
		SSHKeys           map[string]string `yaml:"ssh_keys"`
		SSHGenkeytypes    []string          `yaml:"ssh_genkeytypes"`
		ManageEtcHosts    string            `yaml:"manage_etc_hosts"`
	}{
		Bootcmd: [][]string{
			{"sh", "-ec", "nft -f - <<'EOF'\n" + nft + "EOF"},
			{"sh", "-ec", hosts},
		},
		SSHAuthorizedKeys: []string{s.LoginKey},
		SSHKeys:           map[string]string{"ed25519_private": s.HostKeyPrivate, "ed25519_public": s.HostKeyPublic},
		// Only the pinned key: a guest offering others would still be
		// reached with the pinned one (verify asks for its type), but
		// generating RSA keys under emulation takes long.
		SSHGenkeytypes: []string{"ed25519"},
		// The hostname resolves, as a cloud's DNS resolves it (sudo
		// complains otherwise).
		ManageEtcHosts: "localhost",
	}
	if s.CAPEM != "" {
		// Appended to the bundle curl reads rather than through
		// cloud-init's ca_certs, whose update-ca-certificates rehashes
		// every CA: minutes under emulation.
		pem := strings.TrimSpace(s.CAPEM) + "\n"
		first := strings.Split(pem, "\n")[1]
		doc.Bootcmd = append(doc.Bootcmd, []string{"sh", "-ec",
			fmt.Sprintf("grep -qF '%s' %s || cat >>%s <<'EOF'\n%sEOF", first, caBundle, caBundle, pem)})
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		return "", err
	}
	return "#cloud-config\n# cloudlabs vmboot: the boot's own additions (login, host key, metadata redirect), not the machine's user data.\n" + string(b), nil
}

// caBundle is the CA bundle Debian's curl reads.
const caBundle = "/etc/ssl/certs/ca-certificates.crt"

// Write makes the NoCloud volume at path (an ISO 9660 labelled cidata,
// with cloud-localds) and keeps its files beside it for inspection.
func (s Seed) Write(ctx context.Context, path string) error {
	md, err := s.MetaData()
	if err != nil {
		return err
	}
	vd, err := s.VendorData()
	if err != nil {
		return err
	}
	if !strings.HasPrefix(s.UserData, "#cloud-config\n") {
		return fmt.Errorf("seed: the user data is not a #cloud-config")
	}
	dir := filepath.Dir(path)
	files := map[string]string{"user-data": s.UserData, "meta-data": md, "vendor-data": vd}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			return err
		}
	}
	cmd := exec.CommandContext(ctx, "cloud-localds", "-V", filepath.Join(dir, "vendor-data"), path, filepath.Join(dir, "user-data"), filepath.Join(dir, "meta-data"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("cloud-localds: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}
