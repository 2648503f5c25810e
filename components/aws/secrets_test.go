package aws_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components"
	"github.com/cloudlabs/cloudlabs/components/aws"
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
		p, err := aws.New(ctx, aws.Settings{})
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

// secretMachines are the lab's machines that install secrets, by the
// secret each installs.
var secretMachines = map[string]string{
	"riak-node-1": "riak-cookie", "riak-node-2": "riak-cookie",
	"pool-node-1": "pool-admin-token", "pool-node-2": "pool-admin-token",
}

// TestSecretsAreParameters: each stack secret is one SecureString
// parameter at /<project>/<stack>/<name>, its value a Pulumi secret; the
// cookie's is the cookie given.
func TestSecretsAreParameters(t *testing.T) {
	m := secretsLab(t)
	params := m.OfType("aws:ssm/parameter:Parameter")
	if len(params) != 2 {
		t.Fatalf("got %d SSM parameters, want 2 (the cookie, the admin token)", len(params))
	}
	for _, secret := range []string{"riak-cookie", "pool-admin-token"} {
		var found []offline.Resource
		for _, p := range params {
			if p.Str("name") == aws.ParameterName(secretsProject, secretsStack, secret) {
				found = append(found, p)
			}
		}
		if len(found) != 1 {
			t.Fatalf("%d parameters named %s, want 1", len(found), aws.ParameterName(secretsProject, secretsStack, secret))
		}
		p := found[0]
		if p.Str("type") != "SecureString" {
			t.Errorf("%s: type %q, want SecureString", secret, p.Str("type"))
		}
		if v := p.Inputs["value"]; !v.IsSecret() || p.Str("value") == "" {
			t.Errorf("%s: value %v is not a non-empty Pulumi secret", secret, v)
		}
		if p.Str("keyId") != "" {
			t.Errorf("%s: keyId %q, want the default aws/ssm key", secret, p.Str("keyId"))
		}
	}
	if cookie, _ := m.Named("aws:ssm/parameter:Parameter", "secret-riak-cookie"); cookie.Str("value") != testCookie {
		t.Errorf("the cookie parameter does not hold the cookie given to the cluster")
	}
}

// TestNoSecretInUserData: neither the cookie nor the admin token appears
// in any machine's user data; each secret machine's user data installs its
// secret from its parameter before any service starts, and passes
// cloud-init's schema.
func TestNoSecretInUserData(t *testing.T) {
	m := secretsLab(t)
	var values []string
	for _, p := range m.OfType("aws:ssm/parameter:Parameter") {
		values = append(values, p.Str("value"))
	}
	if len(values) != 2 {
		t.Fatalf("got %d secret values, want 2", len(values))
	}
	insts := m.OfType(offline.AWSInstance)
	if len(insts) != 5 {
		t.Fatalf("got %d instances, want 5", len(insts))
	}
	for _, inst := range insts {
		ud := inst.Str("userData")
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
		step := strings.Index(ud, "["+cloudinit.SecretTool+`, "`+aws.ParameterName(secretsProject, secretsStack, secret)+`"`)
		enable := strings.Index(ud, "[systemctl, enable")
		if step < 0 || enable < 0 || step > enable {
			t.Errorf("%s: secret step at %d, first service at %d: want the secret installed first", inst.Name, step, enable)
		}
		if strings.HasPrefix(inst.Name, "pool-") {
			for _, flag := range []string{"--admin-token-file " + components.CacheAdminTokenPath, "--admin-listen private:" + strconv.Itoa(components.CacheAdmin)} {
				if !strings.Contains(ud, flag) {
					t.Errorf("%s: cachenode lacks %s", inst.Name, flag)
				}
			}
		}
		testkit.CloudConfig(t, ud)
	}
}

// TestEachMachineReadsOnlyItsSecrets: a machine that installs secrets has
// its own role and instance profile, whose one policy allows
// ssm:GetParameter on its own parameter alone (a cache node cannot read
// the cookie, a Riak node cannot read the admin token); the plain machine
// has no role at all.
func TestEachMachineReadsOnlyItsSecrets(t *testing.T) {
	m := secretsLab(t)
	policies := m.OfType("aws:iam/rolePolicy:RolePolicy")
	if len(policies) != len(secretMachines) {
		t.Fatalf("got %d role policies, want one per secret machine (%d)", len(policies), len(secretMachines))
	}
	for machine, secret := range secretMachines {
		other := "pool-admin-token"
		if secret == other {
			other = "riak-cookie"
		}
		for _, typ := range []string{"aws:iam/role:Role", "aws:iam/instanceProfile:InstanceProfile"} {
			if n := count(m, typ, machine); n != 1 {
				t.Errorf("%s: %d %s, want 1", machine, n, typ)
			}
		}
		pol, ok := m.Named("aws:iam/rolePolicy:RolePolicy", machine+"-secrets")
		if !ok {
			t.Fatalf("%s: no secrets policy", machine)
		}
		var doc struct {
			Statement []struct {
				Effect   string
				Action   []string
				Resource []string
			}
		}
		if err := json.Unmarshal([]byte(pol.Str("policy")), &doc); err != nil {
			t.Fatalf("%s: policy %q: %v", machine, pol.Str("policy"), err)
		}
		if len(doc.Statement) != 1 {
			t.Fatalf("%s: %d statements, want 1", machine, len(doc.Statement))
		}
		st := doc.Statement[0]
		if st.Effect != "Allow" || len(st.Action) != 1 || st.Action[0] != "ssm:GetParameter" {
			t.Errorf("%s: statement %+v, want Allow ssm:GetParameter only", machine, st)
		}
		if len(st.Resource) != 1 || !strings.Contains(st.Resource[0], secret) || strings.Contains(st.Resource[0], other) {
			t.Errorf("%s: may read %v, want only the parameter of %s", machine, st.Resource, secret)
		}
		inst, _ := m.Named(offline.AWSInstance, machine)
		if _, ok := inst.Inputs["iamInstanceProfile"]; !ok {
			t.Errorf("%s: no instance profile", machine)
		}
	}
	plain, ok := m.Named(offline.AWSInstance, "plain")
	if !ok {
		t.Fatal("no plain instance")
	}
	if v, ok := plain.Inputs["iamInstanceProfile"]; ok && !v.IsNull() && !(v.IsString() && v.StringValue() == "") {
		t.Errorf("plain machine has an instance profile %v", v)
	}
	if n := count(m, "aws:iam/role:Role", "plain"); n != 0 {
		t.Errorf("plain machine has %d roles, want none", n)
	}
}

// count is how many resources of a type belong to a machine (named
// <machine>-…).
func count(m *offline.Mocks, typ, machine string) int {
	n := 0
	for _, r := range m.OfType(typ) {
		if strings.HasPrefix(r.Name, machine+"-") {
			n++
		}
	}
	return n
}
