package cloudinit

import (
	"strings"
	"testing"

	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

// TestUnitEscapesDollarAndPercent: systemd substitutes $VAR, ${VAR} and %
// specifiers in ExecStart, inside quotes too; a literal argument must reach
// the process as written.
func TestUnitEscapesDollarAndPercent(t *testing.T) {
	u, err := Unit(role.Service{Name: "app", Exec: "/opt/app", Args: []string{"--greeting", "$HOME", "--dir", "%h/x", "--both", "${USER} 5%"}})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(u, "\n") {
		if strings.HasPrefix(l, "ExecStart=") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("got %d ExecStart lines, want 1:\n%s", len(lines), u)
	}
	want := `ExecStart=/opt/app --greeting "$$HOME" --dir %%h/x --both "$${USER} 5%%"`
	if lines[0] != want {
		t.Errorf("got %q, want %q", lines[0], want)
	}
}

func secretRole() role.Role {
	r := sampleRole()
	r.Secrets = []role.SecretFile{
		{Name: "riak-cookie", Path: "/etc/cloudlabs/riak-cookie", Mode: "0600"},
		{Name: "admin-token", Path: "/etc/cloudlabs/admin-token", Mode: "0600", Owner: role.ServiceUser},
	}
	return r
}

// TestSecretStepsRunBeforeSetupAndServices: every SecretFile is installed
// by the secret tool, from the store id the platform gave, before the
// role's setup and before any service is enabled; the user data passes
// cloud-init's schema.
func TestSecretStepsRunBeforeSetupAndServices(t *testing.T) {
	ids := map[string]string{"riak-cookie": "/cloudlabs/dev/riak-cookie", "admin-token": "/cloudlabs/dev/admin-token"}
	for _, o := range []Options{
		{Platform: "aws", Region: "eu-west-1", SecretIDs: ids},
		{Platform: "gcp", SecretIDs: map[string]string{"riak-cookie": "cl-dev-1-riak-cookie", "admin-token": "cl-dev-1-admin-token"}},
	} {
		t.Run(o.Platform, func(t *testing.T) {
			r := secretRole()
			ud, err := Render(r, o)
			if err != nil {
				t.Fatal(err)
			}
			testkit.CloudConfig(t, ud)
			if !strings.Contains(ud, "- path: "+SecretTool) {
				t.Errorf("the secret tool is not written to %s", SecretTool)
			}
			firstEnable := strings.Index(ud, "[systemctl, enable")
			firstSetup := strings.Index(ud, "[sh, -ec, "+quoteForTest(r.Setup[0])+"]")
			if firstEnable < 0 || firstSetup < 0 {
				t.Fatalf("no setup (%d) or enable (%d) step in:\n%s", firstSetup, firstEnable, ud)
			}
			if len(r.Secrets) != 2 {
				t.Fatalf("role has %d secrets, want 2", len(r.Secrets))
			}
			for _, s := range r.Secrets {
				owner := s.Owner
				if owner == "" {
					owner = "root"
				}
				step := `[` + SecretTool + `, "` + o.SecretIDs[s.Name] + `", "` + s.Path + `", "` + s.Mode + `", "` + owner + `"]`
				at := strings.Index(ud, step)
				if at < 0 {
					t.Fatalf("no step %s in:\n%s", step, ud)
				}
				if at > firstSetup || at > firstEnable {
					t.Errorf("step %s runs after setup (at %d) or the services (at %d)", step, firstSetup, firstEnable)
				}
			}
		})
	}
}

func quoteForTest(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// TestSecretToolSpeaksToItsStore: the tool reads AWS's Parameter Store in
// the given region (SigV4, IMDSv2 credentials) or GCP's Secret Manager with
// the metadata server's token, and never the other.
func TestSecretToolSpeaksToItsStore(t *testing.T) {
	for _, tc := range []struct {
		o         Options
		want, not []string
	}{
		{Options{Platform: "aws", Region: "eu-west-1", SecretIDs: map[string]string{"riak-cookie": "/a", "admin-token": "/b"}},
			[]string{"https://ssm.eu-west-1.amazonaws.com/", "aws:amz:eu-west-1:ssm", "AmazonSSM.GetParameter", "X-aws-ec2-metadata-token"},
			[]string{"secretmanager.googleapis.com"}},
		{Options{Platform: "gcp", SecretIDs: map[string]string{"riak-cookie": "a", "admin-token": "b"}},
			[]string{"https://secretmanager.googleapis.com/v1/projects/", "versions/latest:access", "Metadata-Flavor: Google"},
			[]string{"amazonaws.com"}},
	} {
		t.Run(tc.o.Platform, func(t *testing.T) {
			ud, err := Render(secretRole(), tc.o)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(ud, w) {
					t.Errorf("user data lacks %q", w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(ud, n) {
					t.Errorf("user data has %q", n)
				}
			}
		})
	}
}

// TestNoSecretsNoTool: a role without secrets carries no secret tool.
func TestNoSecretsNoTool(t *testing.T) {
	ud, err := Render(sampleRole(), Options{Platform: "aws"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(ud, SecretTool) {
		t.Errorf("user data of a role without secrets mentions %s", SecretTool)
	}
}

func TestSecretStepsReject(t *testing.T) {
	ids := map[string]string{"riak-cookie": "/cloudlabs/dev/riak-cookie", "admin-token": "/cloudlabs/dev/admin-token"}
	badPath := secretRole()
	badPath.Secrets[0].Path = "etc/cookie"
	badMode := secretRole()
	badMode.Secrets[0].Mode = "rw"
	for _, tc := range []struct {
		name string
		r    role.Role
		o    Options
		want string
	}{
		{"no store entry", secretRole(), Options{Platform: "aws", Region: "eu-west-1", SecretIDs: map[string]string{"riak-cookie": "/x"}}, `secret "admin-token": the platform has no store entry`},
		{"no region", secretRole(), Options{Platform: "aws", SecretIDs: ids}, "region"},
		{"local platform", secretRole(), Options{Platform: "local", SecretIDs: ids}, "has no secret store"},
		{"relative path", badPath, Options{Platform: "gcp", SecretIDs: ids}, "clean absolute path"},
		{"bad mode", badMode, Options{Platform: "gcp", SecretIDs: ids}, "octal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Render(tc.r, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
