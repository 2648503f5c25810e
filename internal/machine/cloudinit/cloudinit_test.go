package cloudinit

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func sampleRole() role.Role {
	r := role.Role{
		Name:     "sample",
		Packages: []string{"nginx"},
		Downloads: []role.Download{{
			Name: "app", URL: "https://bucket.example/app", Path: "/opt/cloudlabs/bin/app", Mode: "0755",
			SHA256: strings.Repeat("ab", 32),
		}},
		Files: []role.File{
			{Path: "/etc/cloudlabs/app.conf", Content: "key = value\n  indented\n", Mode: "0644", Owner: role.ServiceUser},
			{Path: "/etc/cloudlabs/odd.conf", Content: "  leading spaces\ttab\n", Mode: "0600"},
		},
		Services: []role.Service{
			{Name: "app", Exec: "/opt/cloudlabs/bin/app", Args: []string{"--listen", "0.0.0.0:80", "--greeting", "hello world 100%"}, Port: 80, LimitNOFILE: 65536},
			{Name: "nginx", SystemdUnit: "nginx", Exec: "/usr/sbin/nginx"},
		},
		Setup: []string{"systemctl disable --now nginx"},
		Boot:  []string{"echo 'booted'"},
	}
	if err := AddSync(&r, "upstreams", "https://bucket.example/up", "/etc/cloudlabs/up.conf", "systemctl reload nginx"); err != nil {
		panic(err)
	}
	return r
}

func TestRenderGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"aws", Options{Platform: "aws"}},
		{"gcp-ssh", Options{Platform: "gcp", SSHKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGb0yU1p9wWc0Ojt0Fh2p7dEwpI3lS3b8Wm3mBvI3x1X user@host"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Render(sampleRole(), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tc.name+".yaml")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("user data differs from %s (go test -update rewrites it):\n%s", golden, got)
			}
			testkit.CloudConfig(t, got)
		})
	}
}

func TestRenderRejects(t *testing.T) {
	big := sampleRole()
	big.Files = append(big.Files, role.File{Path: "/big", Content: strings.Repeat("x\n", MaxUserData), Mode: "0644"})
	bad := sampleRole()
	bad.Downloads[0].SHA256 = "short"
	binary := sampleRole()
	binary.Files = append(binary.Files, role.File{Path: "/etc/blob", Content: "\xff\xfe not text", Mode: "0644"})
	for _, tc := range []struct {
		name string
		r    role.Role
		want string
	}{
		{"over 16 KB", big, "over the 16384-byte limit"},
		{"bad hash", bad, "needs a hex SHA-256"},
		{"no name", role.Role{}, "role has no name"},
		{"file not UTF-8", binary, "file /etc/blob is not UTF-8 text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Render(tc.r, Options{Platform: "aws"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestUnitQuotesWords(t *testing.T) {
	u, err := Unit(role.Service{Name: "nginx", Exec: "/usr/sbin/nginx", Args: []string{"-g", "daemon off;"}, User: "root", Port: 80})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(u, `ExecStart=/usr/sbin/nginx -g "daemon off;"`) {
		t.Errorf("ExecStart not quoted for systemd:\n%s", u)
	}
	if strings.Contains(u, "CAP_NET_BIND_SERVICE") {
		t.Errorf("root service got a capability it does not need:\n%s", u)
	}
}

func TestUnitLoadsEnvFile(t *testing.T) {
	with, err := Unit(role.Service{Name: "gallery", Exec: "/opt/cloudlabs/bin/gallery", EnvFile: "/etc/cloudlabs/gallery.env"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(with, "\nEnvironmentFile=/etc/cloudlabs/gallery.env\n") {
		t.Errorf("unit does not load the service's environment file:\n%s", with)
	}
	without, err := Unit(role.Service{Name: "gallery", Exec: "/opt/cloudlabs/bin/gallery"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(without, "EnvironmentFile") {
		t.Errorf("unit without an environment file names one:\n%s", without)
	}
}
