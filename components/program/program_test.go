package program

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/cloudlabs/cloudlabs/components/offline"
	"github.com/cloudlabs/cloudlabs/internal/machine/artifact"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

// fakeBuild stands in for the cross-compiler: each app becomes a small file
// whose content (and so hash) changes with version.
func fakeBuild(version string) Builder {
	return func(_ context.Context, _, outDir, goarch string, apps []string) (map[string]artifact.Built, error) {
		dir, err := os.MkdirTemp("", "cloudlabs-fake-build")
		if err != nil {
			return nil, err
		}
		out := map[string]artifact.Built{}
		for _, app := range apps {
			p := filepath.Join(dir, app)
			if err := os.WriteFile(p, []byte(app+" "+goarch+" "+version), 0o755); err != nil {
				return nil, err
			}
			sum, err := artifact.FileSHA256(p)
			if err != nil {
				return nil, err
			}
			out[app] = artifact.Built{Name: app, Path: p, SHA256: sum}
		}
		return out, nil
	}
}

const riakSHA = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// stack runs the program offline on a cloud with the given config.
func stack(t *testing.T, cloud string, cfg map[string]string, version string) *offline.Mocks {
	t.Helper()
	full := map[string]string{"cloudlabs:platform": cloud, "riak:packageSha256": riakSHA, "gcp:project": "cloudlabs-test"}
	for k, v := range cfg {
		full[k] = v
	}
	m, err := offline.Run(RunWith(fakeBuild(version)), "cloudlabs", "test", full)
	if err != nil {
		t.Fatalf("program on %s with %v: %v", cloud, cfg, err)
	}
	return m
}

var instanceType = map[string]string{"aws": offline.AWSInstance, "gcp": offline.GCPInstance}

// prop walks a dotted path of object keys and array indexes ("a.0.b").
func prop(r offline.Resource, path string) resource.PropertyValue {
	v := resource.NewObjectProperty(r.Inputs)
	for _, part := range strings.Split(path, ".") {
		if v.IsSecret() {
			v = v.SecretValue().Element
		}
		switch {
		case v.IsObject():
			v = v.ObjectValue()[resource.PropertyKey(part)]
		case v.IsArray():
			var i int
			if _, err := fmt.Sscan(part, &i); err != nil || i >= len(v.ArrayValue()) {
				return resource.NewNullProperty()
			}
			v = v.ArrayValue()[i]
		default:
			return resource.NewNullProperty()
		}
	}
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	return v
}

func names(rs []offline.Resource) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

func TestMachinesFollowNodeCounts(t *testing.T) {
	for _, cloud := range []string{"aws", "gcp"} {
		for _, tc := range []struct {
			env   string
			key   string
			nodes int
			want  int // machines
		}{
			{"phonebook", "riak:nodes", 1, 2},
			{"phonebook", "riak:nodes", 2, 3},
			{"phonebook", "riak:nodes", 7, 8},
			{"fibonacci", "fibonacci:nodes", 1, 2},
			{"fibonacci", "fibonacci:nodes", 3, 4},
			{"fibonacci", "fibonacci:nodes", 20, 21},
			{"cachepool", "cachepool:nodes", 1, 1},
			{"cachepool", "cachepool:nodes", 8, 8},
		} {
			t.Run(fmt.Sprintf("%s/%s/%d", cloud, tc.env, tc.nodes), func(t *testing.T) {
				m := stack(t, cloud, map[string]string{"cloudlabs:environments": tc.env, tc.key: fmt.Sprint(tc.nodes)}, "v1")
				if got := m.OfType(instanceType[cloud]); len(got) != tc.want {
					t.Errorf("got %d machines %v, want %d", len(got), names(got), tc.want)
				}
			})
		}
	}
}

// TestOnlyPort80IsOpenToTheWorld checks every ingress rule on both clouds,
// with SSH closed (the default) and open.
func TestOnlyPort80IsOpenToTheWorld(t *testing.T) {
	const sshCIDR = "198.51.100.0/24"
	key := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGb0yU1p9wWc0Ojt0Fh2p7dEwpI3lS3b8Wm3mBvI3x1X user@host"
	for _, cloud := range []string{"aws", "gcp"} {
		for _, ssh := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/ssh=%v", cloud, ssh), func(t *testing.T) {
				cfg := map[string]string{}
				if ssh {
					cfg["ssh:allowCidr"], cfg["ssh:publicKey"] = sshCIDR, key
				}
				m := stack(t, cloud, cfg, "v1")
				sawSSH := false
				for _, r := range worldRules(t, cloud, m) {
					switch {
					case r.cidr == sshCIDR && r.ports == "22":
						sawSSH = true
					case r.ports == "22":
						t.Errorf("%s opens SSH to %s", r.name, r.cidr)
					case r.cidr == "0.0.0.0/0" && r.ports != "80":
						t.Errorf("%s opens ports %s to the world", r.name, r.ports)
					case r.cidr != "0.0.0.0/0" && !strings.HasPrefix(r.cidr, "10.42."):
						t.Errorf("%s opens ports %s to %s", r.name, r.ports, r.cidr)
					}
				}
				if sawSSH != ssh {
					t.Errorf("SSH rule present: %v, want %v", sawSSH, ssh)
				}
			})
		}
	}
}

type cidrRule struct{ name, cidr, ports string }

// worldRules lists the ingress rules that admit address blocks (not groups).
func worldRules(t *testing.T, cloud string, m *offline.Mocks) []cidrRule {
	var out []cidrRule
	switch cloud {
	case "aws":
		rules := m.OfType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
		if len(rules) == 0 {
			t.Fatal("no ingress rules at all")
		}
		for _, r := range rules {
			if cidr := r.Str("cidrIpv4"); cidr != "" {
				from, to := prop(r, "fromPort").NumberValue(), prop(r, "toPort").NumberValue()
				ports := fmt.Sprint(from)
				if from != to {
					ports = fmt.Sprintf("%v-%v", from, to)
				}
				out = append(out, cidrRule{r.Name, cidr, ports})
			}
		}
	case "gcp":
		rules := m.OfType("gcp:compute/firewall:Firewall")
		if len(rules) == 0 {
			t.Fatal("no firewall rules at all")
		}
		for _, r := range rules {
			if d := r.Str("direction"); d != "" && d != "INGRESS" {
				continue
			}
			ranges := prop(r, "sourceRanges")
			if !ranges.IsArray() {
				continue
			}
			var ports []string
			for _, a := range prop(r, "allows").ArrayValue() {
				for _, p := range a.ObjectValue()["ports"].ArrayValue() {
					ports = append(ports, p.StringValue())
				}
			}
			for _, c := range ranges.ArrayValue() {
				out = append(out, cidrRule{r.Name, c.StringValue(), strings.Join(ports, ",")})
			}
		}
	}
	return out
}

func TestMachinesAreHardened(t *testing.T) {
	m := stack(t, "aws", nil, "v1")
	for _, r := range m.OfType(offline.AWSInstance) {
		if got := prop(r, "metadataOptions.httpTokens"); !got.IsString() || got.StringValue() != "required" {
			t.Errorf("%s: metadataOptions.httpTokens = %v, want required (IMDSv2)", r.Name, got)
		}
		if got := prop(r, "rootBlockDevice.encrypted"); !got.IsBool() || !got.BoolValue() {
			t.Errorf("%s: root volume not encrypted", r.Name)
		}
	}
	g := stack(t, "gcp", nil, "v1")
	for _, r := range g.OfType(offline.GCPInstance) {
		if got := prop(r, "shieldedInstanceConfig.enableSecureBoot"); !got.IsBool() || !got.BoolValue() {
			t.Errorf("%s: secure boot off", r.Name)
		}
		scopes := prop(r, "serviceAccount.scopes")
		if !scopes.IsArray() || len(scopes.ArrayValue()) != 1 || !strings.Contains(scopes.ArrayValue()[0].StringValue(), "devstorage.read_only") {
			t.Errorf("%s: service account scopes %v, want storage read only", r.Name, scopes)
		}
	}
}

// dynamicUpstreams is the load balancer's upstream list as published.
func dynamicUpstreams(t *testing.T, cloud string, m *offline.Mocks) string {
	t.Helper()
	token, keyProp := "aws:s3/bucketObjectv2:BucketObjectv2", "key"
	if cloud == "gcp" {
		token, keyProp = "gcp:storage/bucketObject:BucketObject", "name"
	}
	for _, r := range m.OfType(token) {
		if strings.HasPrefix(r.Str(keyProp), "dynamic/fibonacci-lb/") {
			return r.Str("content")
		}
	}
	t.Fatalf("no dynamic upstream list for the load balancer among %v", names(m.OfType(token)))
	return ""
}

// TestLoadBalancerOutlivesScaling: changing fibonacci:nodes changes the
// published upstream list, never the load balancer machine itself.
func TestLoadBalancerOutlivesScaling(t *testing.T) {
	for _, cloud := range []string{"aws", "gcp"} {
		t.Run(cloud, func(t *testing.T) {
			cfg := func(n string) map[string]string {
				return map[string]string{"cloudlabs:environments": "fibonacci", "fibonacci:nodes": n}
			}
			three, five := stack(t, cloud, cfg("3"), "v1"), stack(t, cloud, cfg("5"), "v1")
			lb3, ok3 := three.Named(instanceType[cloud], "fibonacci-lb")
			lb5, ok5 := five.Named(instanceType[cloud], "fibonacci-lb")
			if !ok3 || !ok5 {
				t.Fatal("no fibonacci-lb machine")
			}
			if !lb3.Inputs.DeepEquals(lb5.Inputs) {
				t.Errorf("the load balancer's inputs change with the node count:\n3: %v\n5: %v", lb3.Inputs, lb5.Inputs)
			}
			up3, up5 := dynamicUpstreams(t, cloud, three), dynamicUpstreams(t, cloud, five)
			if c3, c5 := strings.Count(up3, "server 10.42."), strings.Count(up5, "server 10.42."); c3 != 3 || c5 != 5 {
				t.Errorf("upstream servers: got %d and %d, want 3 and 5:\n%s\n%s", c3, c5, up3, up5)
			}
			if strings.Contains(bootFile(t, three, "fibonacci-lb"), "server 10.42.") {
				t.Error("the upstream list is in the load balancer's user data")
			}
		})
	}
}

func bootFile(t *testing.T, m *offline.Mocks, machine string) string {
	t.Helper()
	files, err := BootFiles(m)
	if err != nil {
		t.Fatal(err)
	}
	f, ok := files[machine]
	if !ok {
		t.Fatalf("no machine %s", machine)
	}
	return f
}

// TestRiakSurvivesNewApp: a new phone book binary replaces the app machine
// and leaves the Riak nodes, which hold the data, untouched.
func TestRiakSurvivesNewApp(t *testing.T) {
	for _, cloud := range []string{"aws", "gcp"} {
		t.Run(cloud, func(t *testing.T) {
			cfg := map[string]string{"cloudlabs:environments": "phonebook", "riak:nodes": "3"}
			v1, v2 := stack(t, cloud, cfg, "v1"), stack(t, cloud, cfg, "v2")
			for i := 1; i <= 3; i++ {
				name := fmt.Sprintf("phonebook-riak-node-%d", i)
				if bootFile(t, v1, name) != bootFile(t, v2, name) {
					t.Errorf("%s boots differently after an app change", name)
				}
				if cloud == "aws" {
					r, _ := v1.Named(offline.AWSInstance, name)
					if got := prop(r, "userDataReplaceOnChange"); got.IsBool() && got.BoolValue() {
						t.Errorf("%s is replaced when its user data changes", name)
					}
				}
			}
			if bootFile(t, v1, "phonebook-app") == bootFile(t, v2, "phonebook-app") {
				t.Error("the app machine does not see the new binary")
			}
			if cloud == "aws" {
				r, _ := v1.Named(offline.AWSInstance, "phonebook-app")
				if got := prop(r, "userDataReplaceOnChange"); !got.IsBool() || !got.BoolValue() {
					t.Error("the app machine is not replaced when its binary changes")
				}
			}
			app := bootFile(t, v1, "phonebook-app")
			if !strings.Contains(app, "riak-pbc://10.42.") || strings.Count(app, ":8087") != 3 {
				t.Errorf("the app is not pointed at the 3 Riak nodes over protocol buffers:\n%s", app)
			}
		})
	}
}

// TestEveryMachineBootsValidCloudConfig renders every machine of every
// environment on both clouds and runs Debian's cloud-init schema check.
func TestEveryMachineBootsValidCloudConfig(t *testing.T) {
	for _, cloud := range []string{"aws", "gcp"} {
		m := stack(t, cloud, map[string]string{"fibonacci:nodes": "2", "cachepool:nodes": "2"}, "v1")
		files, err := BootFiles(m)
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != 3+3+2 {
			t.Errorf("%s: %d machines, want 8", cloud, len(files))
		}
		for name, ud := range files {
			t.Run(cloud+"/"+name, func(t *testing.T) {
				if len(ud) > 16<<10 {
					t.Errorf("user data is %d bytes, over EC2's 16 KB", len(ud))
				}
				testkit.CloudConfig(t, ud)
			})
		}
	}
}

func TestBadConfigCreatesNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  map[string]string
		want string
	}{
		{"nodes", map[string]string{"cloudlabs:platform": "aws", "fibonacci:nodes": "0"}, "fibonacci:nodes"},
		{"platform", map[string]string{"cloudlabs:platform": "azure"}, "cloudlabs:platform"},
		{"policy", map[string]string{"cloudlabs:platform": "gcp", "cachepool:policy": "fifo"}, "cachepool:policy"},
		{"cidr", map[string]string{"cloudlabs:platform": "aws", "http:allowCidr": "everyone"}, "http:allowCidr"},
		{"ssh key", map[string]string{"cloudlabs:platform": "gcp", "ssh:allowCidr": "10.0.0.0/8", "ssh:publicKey": "nope"}, "ssh:publicKey"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg["riak:packageSha256"] = riakSHA
			m, err := offline.Run(RunWith(fakeBuild("v1")), "cloudlabs", "test", tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error naming %s", err, tc.want)
			}
			if n := len(m.Resources()); n != 0 {
				t.Errorf("%d resources were created before the error", n)
			}
		})
	}
}

// TestLocalTwinUsesEmbeddedStore: Riak is not on the twin's machines.
func TestLocalTwinUsesEmbeddedStore(t *testing.T) {
	t.Setenv("CLOUDLABS_STATE_DIR", t.TempDir())
	m, err := offline.Run(RunWith(fakeBuild("v1")), "cloudlabs", "test", map[string]string{"cloudlabs:environments": "phonebook"})
	if err != nil {
		t.Fatal(err)
	}
	hosts := m.OfType(offline.LocalHost)
	if len(hosts) != 1 || hosts[0].Name != "phonebook-app" {
		t.Fatalf("got hosts %v, want only phonebook-app", names(hosts))
	}
	if role := hosts[0].Str("role"); !strings.Contains(role, "bolt://") {
		t.Errorf("the twin's phone book does not use its embedded store: %s", role)
	}
}

// TestSlowLink: network:delayMs and lossPct reach every cloud machine as a
// boot step, and nothing of it when unset.
func TestSlowLink(t *testing.T) {
	for _, cloud := range []string{"aws", "gcp"} {
		slow := stack(t, cloud, map[string]string{"network:delayMs": "80", "network:lossPct": "1.5"}, "v1")
		plain := stack(t, cloud, nil, "v1")
		for name, ud := range mustBootFiles(t, slow) {
			if !strings.Contains(ud, "netem delay 80ms loss 1.5%") {
				t.Errorf("%s/%s does not slow its link", cloud, name)
			}
		}
		for name, ud := range mustBootFiles(t, plain) {
			if strings.Contains(ud, "netem") {
				t.Errorf("%s/%s slows its link though nothing asked", cloud, name)
			}
		}
	}
}

func mustBootFiles(t *testing.T, m *offline.Mocks) map[string]string {
	t.Helper()
	files, err := BootFiles(m)
	if err != nil {
		t.Fatal(err)
	}
	return files
}
