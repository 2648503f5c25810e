package gcp_test

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components"
	"github.com/cloudlabs/cloudlabs/components/gcp"
	"github.com/cloudlabs/cloudlabs/components/offline"
	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/machine/cloudinit"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

const (
	secretsProject = "cloudlabs"
	secretsStack   = "dev"
	testCookie     = "Cookie4TestOnly0123456789abcdef"
)

// secretsLab is a Riak cluster of two, a cache pool of two and one plain
// machine with no secrets.
func secretsLab(t *testing.T) *offline.Mocks {
	t.Helper()
	mocks, err := offline.Run(func(ctx *pulumi.Context) error {
		p, err := gcp.New(ctx, gcp.Settings{})
		if err != nil {
			return err
		}
		if _, err := components.NewRiakCluster(ctx, "riak", p, &components.RiakClusterArgs{
			Nodes:       2,
			Package:     components.RiakPackage{URL: "https://example.com/riak_3.4.0-OTP26_amd64.deb", SHA256: strings.Repeat("ab", 32)},
			Cookie:      pulumi.ToSecret(pulumi.String(testCookie)).(pulumi.StringOutput),
			ClientGroup: "plain",
		}); err != nil {
			return err
		}
		// Two cache nodes as the pool makes them (their role, their
		// secret), built here so these tests follow the platform and not
		// the pool's composition.
		token, err := p.RandomSecret(ctx, "pool-admin-token", 40)
		if err != nil {
			return err
		}
		for _, name := range []string{"pool-node-1", "pool-node-2"} {
			r := components.CacheNodeRole(p.Layout(name), "https://example.com/cachenode", strings.Repeat("cd", 32), 64, "lru", "pool-admin-token")
			if _, err := p.Machine(ctx, name, platform.MachineArgs{Group: "pool-node", Size: "small", Role: platform.ConstRole(r),
				Secrets: map[string]pulumi.StringOutput{"pool-admin-token": token}}); err != nil {
				return err
			}
		}
		_, err = p.Machine(ctx, "plain", platform.MachineArgs{Group: "plain", Size: "small", Role: platform.ConstRole(role.Role{Name: "plain"})})
		return err
	}, secretsProject, secretsStack, nil)
	if err != nil {
		t.Fatal(err)
	}
	return mocks
}

var secretMachines = map[string]string{
	"riak-node-1": "riak-cookie", "riak-node-2": "riak-cookie",
	"pool-node-1": "pool-admin-token", "pool-node-2": "pool-admin-token",
}

const (
	secretType  = "gcp:secretmanager/secret:Secret"
	versionType = "gcp:secretmanager/secretVersion:SecretVersion"
	memberType  = "gcp:secretmanager/secretIamMember:SecretIamMember"
	accountType = "gcp:serviceaccount/account:Account"
)

// TestSecretsAreSecretManagerSecrets: each stack secret is one Secret
// Manager secret with one version whose data is a Pulumi secret; the
// cookie's is the cookie given.
func TestSecretsAreSecretManagerSecrets(t *testing.T) {
	m := secretsLab(t)
	secrets, versions := m.OfType(secretType), m.OfType(versionType)
	if len(secrets) != 2 || len(versions) != 2 {
		t.Fatalf("got %d secrets and %d versions, want 2 and 2 (the cookie, the admin token)", len(secrets), len(versions))
	}
	for _, name := range []string{"riak-cookie", "pool-admin-token"} {
		n := 0
		for _, s := range secrets {
			if s.Str("secretId") == gcp.SecretID(secretsProject, secretsStack, name) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d secrets with id %s, want 1", n, gcp.SecretID(secretsProject, secretsStack, name))
		}
	}
	for _, v := range versions {
		if d := v.Inputs["secretData"]; !d.IsSecret() || v.Str("secretData") == "" {
			t.Errorf("%s: data %v is not a non-empty Pulumi secret", v.Name, d)
		}
	}
	if v, _ := m.Named(versionType, "secret-riak-cookie"); v.Str("secretData") != testCookie {
		t.Errorf("the cookie's version does not hold the cookie given to the cluster")
	}
}

// TestNoSecretInUserData: neither secret value appears in any machine's
// user data; each secret machine's user data installs its secret by id
// before any service starts, and passes cloud-init's schema.
func TestNoSecretInUserData(t *testing.T) {
	m := secretsLab(t)
	var values []string
	for _, v := range m.OfType(versionType) {
		values = append(values, v.Str("secretData"))
	}
	if len(values) != 2 {
		t.Fatalf("got %d secret values, want 2", len(values))
	}
	insts := m.OfType(offline.GCPInstance)
	if len(insts) != 5 {
		t.Fatalf("got %d instances, want 5", len(insts))
	}
	for _, inst := range insts {
		md, ok := inst.Inputs["metadata"]
		if !ok || !md.IsObject() {
			t.Fatalf("%s: no metadata", inst.Name)
		}
		udv := md.ObjectValue()["user-data"]
		if udv.IsSecret() {
			udv = udv.SecretValue().Element
		}
		ud := udv.StringValue()
		if ud == "" {
			t.Fatalf("%s: no user data", inst.Name)
		}
		for _, v := range values {
			if strings.Contains(ud, v) {
				t.Errorf("%s: user data holds a secret value", inst.Name)
			}
		}
		secret, ok := secretMachines[inst.Name]
		if !ok {
			if strings.Contains(ud, cloudinit.SecretTool) {
				t.Errorf("%s installs secrets it was not given", inst.Name)
			}
			continue
		}
		step := strings.Index(ud, "["+cloudinit.SecretTool+`, "`+gcp.SecretID(secretsProject, secretsStack, secret)+`"`)
		enable := strings.Index(ud, "[systemctl, enable")
		if step < 0 || enable < 0 || step > enable {
			t.Errorf("%s: secret step at %d, first service at %d: want the secret installed first", inst.Name, step, enable)
		}
		testkit.CloudConfig(t, ud)
	}
}

// TestEachMachineReadsOnlyItsSecrets: a machine that installs secrets runs
// as a service account of its own, granted secretAccessor on its own
// secret alone (a cache node cannot read the cookie, a Riak node cannot
// read the admin token); the plain machine keeps the shared account, which
// is granted no secret.
func TestEachMachineReadsOnlyItsSecrets(t *testing.T) {
	m := secretsLab(t)
	members := m.OfType(memberType)
	if len(members) != len(secretMachines) {
		t.Fatalf("got %d secret grants, want one per secret machine (%d)", len(members), len(secretMachines))
	}
	for machine, secret := range secretMachines {
		acct, ok := m.Named(accountType, machine+"-sa")
		if !ok {
			t.Fatalf("%s: no service account of its own", machine)
		}
		email := machine + "-sa@cloudlabs-test.iam.gserviceaccount.com" // the mock's email of that account
		inst, _ := m.Named(offline.GCPInstance, machine)
		sa := inst.Inputs["serviceAccount"].ObjectValue()
		if got := sa["email"].StringValue(); got != email {
			t.Errorf("%s: runs as %q, want its own account %s (%s)", machine, got, email, acct.Str("accountId"))
		}
		var grants []string
		for _, g := range members {
			if g.Str("member") == "serviceAccount:"+email {
				if g.Str("role") != gcp.SecretAccessor {
					t.Errorf("%s: role %q, want %s", g.Name, g.Str("role"), gcp.SecretAccessor)
				}
				grants = append(grants, g.Str("secretId"))
			}
		}
		if len(grants) != 1 || grants[0] != gcp.SecretID(secretsProject, secretsStack, secret) {
			t.Errorf("%s: may read %v, want only %s", machine, grants, gcp.SecretID(secretsProject, secretsStack, secret))
		}
	}
	plain, _ := m.Named(offline.GCPInstance, "plain")
	email := plain.Inputs["serviceAccount"].ObjectValue()["email"].StringValue()
	for _, g := range members {
		if g.Str("member") == "serviceAccount:"+email {
			t.Errorf("the plain machine's account %s may read %s", email, g.Str("secretId"))
		}
	}
}
