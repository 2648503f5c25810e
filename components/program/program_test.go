package program

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/cloudlabs/cloudlabs/components/offline"
	"github.com/cloudlabs/cloudlabs/internal/config/stackconfig"
	"github.com/cloudlabs/cloudlabs/internal/config/stackfile"
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
	full := stackConfig(cloud, cfg)
	m, err := offline.Run(RunWith(fakeBuild(version)), "cloudlabs", "test", full)
	if err != nil {
		t.Fatalf("program on %s with %v: %v", cloud, cfg, err)
	}
	return m
}

// stackConfig is the config stack runs the program with.
func stackConfig(cloud string, cfg map[string]string) map[string]string {
	full := map[string]string{"cloudlabs:platform": cloud, "riak:packageSha256": riakSHA, "gcp:project": "cloudlabs-test"}
	for k, v := range cfg {
		full[k] = v
	}
	return full
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
			// The pool: one machine per slot, and its manager.
			{"cachepool", "cachepool:maxNodes", 1, 2},
			{"cachepool", "cachepool:maxNodes", 8, 9},
		} {
			t.Run(fmt.Sprintf("%s/%s/%d", cloud, tc.env, tc.nodes), func(t *testing.T) {
				cfg := map[string]string{"cloudlabs:environments": tc.env, tc.key: fmt.Sprint(tc.nodes)}
				if tc.key == "cachepool:maxNodes" {
					cfg["cachepool:nodes"] = "1"
				}
				m := stack(t, cloud, cfg, "v1")
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
	want := wantMachines(t, nil)
	aws := m.OfType(offline.AWSInstance)
	if len(aws) != want {
		t.Fatalf("aws: %d machines %v, want %d from the config", len(aws), names(aws), want)
	}
	for _, r := range aws {
		if got := prop(r, "metadataOptions.httpTokens"); !got.IsString() || got.StringValue() != "required" {
			t.Errorf("%s: metadataOptions.httpTokens = %v, want required (IMDSv2)", r.Name, got)
		}
		if got := prop(r, "rootBlockDevice.encrypted"); !got.IsBool() || !got.BoolValue() {
			t.Errorf("%s: root volume not encrypted", r.Name)
		}
	}
	g := stack(t, "gcp", nil, "v1")
	gcp := g.OfType(offline.GCPInstance)
	if len(gcp) != want {
		t.Fatalf("gcp: %d machines %v, want %d from the config", len(gcp), names(gcp), want)
	}
	for _, r := range gcp {
		if got := prop(r, "shieldedInstanceConfig.enableSecureBoot"); !got.IsBool() || !got.BoolValue() {
			t.Errorf("%s: secure boot off", r.Name)
		}
		// Machines that read secrets run as an account of their own, limited
		// by its grants (Secret Manager takes only the cloud-platform scope);
		// every other machine's token reads storage only.
		scopes := prop(r, "serviceAccount.scopes")
		want := "devstorage.read_only"
		if email := prop(r, "serviceAccount.email"); email.IsString() && strings.HasPrefix(email.StringValue(), r.Name+"-sa@") {
			want = "auth/cloud-platform"
		}
		if !scopes.IsArray() || len(scopes.ArrayValue()) != 1 || !strings.Contains(scopes.ArrayValue()[0].StringValue(), want) {
			t.Errorf("%s: service account scopes %v, want only %s", r.Name, scopes, want)
		}
	}
}

// wantMachines is how many machines a cloud stack with cfg (on top of the
// defaults) runs, from the config alone: with every environment enabled,
// the Riak nodes and the phone book's app machine, the fibonacci backends
// and their load balancer, the pool's slots and its manager, the gallery.
func wantMachines(t *testing.T, cfg map[string]string) int {
	t.Helper()
	c := parseConfig(t, "aws", cfg)
	n := 0
	if c.Enabled("phonebook") {
		n += c.RiakNodes + 1
	}
	if c.Enabled("fibonacci") {
		n += c.FibonacciNodes + 1
	}
	if c.Enabled("cachepool") {
		n += c.CachePoolMaxNodes + 1
	}
	if c.Enabled("gallery") {
		n++
	}
	return n
}

// parseConfig is the validated config the program reads from the stack's
// config (as stack builds it).
func parseConfig(t *testing.T, cloud string, cfg map[string]string) stackconfig.Config {
	t.Helper()
	full := stackConfig(cloud, cfg)
	c, err := stackconfig.Parse(func(k string) (string, bool) { v, ok := full[k]; return v, ok })
	if err != nil {
		t.Fatalf("config %v: %v", full, err)
	}
	return c
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
		cfg := map[string]string{"fibonacci:nodes": "2", "cachepool:nodes": "2", "cachepool:maxNodes": "3"}
		m := stack(t, cloud, cfg, "v1")
		files, err := BootFiles(m)
		if err != nil {
			t.Fatal(err)
		}
		if want := wantMachines(t, cfg); len(files) != want {
			t.Errorf("%s: %d machines, want %d", cloud, len(files), want)
		}
		for _, role := range []string{"cachepool-manager", "gallery"} {
			if _, ok := files[role]; !ok {
				t.Errorf("%s: no user data for %s", cloud, role)
			}
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
		slowCfg := map[string]string{"network:delayMs": "80", "network:lossPct": "1.5"}
		slow := stack(t, cloud, slowCfg, "v1")
		plain := stack(t, cloud, nil, "v1")
		for _, run := range []struct {
			name  string
			m     *offline.Mocks
			cfg   map[string]string
			netem bool
		}{{"slow", slow, slowCfg, true}, {"plain", plain, nil, false}} {
			files := mustBootFiles(t, run.m)
			if want := wantMachines(t, run.cfg); len(files) != want {
				t.Fatalf("%s/%s: %d machines boot, want %d from the config", cloud, run.name, len(files), want)
			}
			for name, ud := range files {
				switch {
				case run.netem && !strings.Contains(ud, "netem delay 80ms loss 1.5%"):
					t.Errorf("%s/%s does not slow its link", cloud, name)
				case !run.netem && strings.Contains(ud, "netem"):
					t.Errorf("%s/%s slows its link though nothing asked", cloud, name)
				}
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

// Lifecycle of the machines. The README promises that Riak nodes are never
// replaced by a later `up`: they ignore changes to their image and user
// data. Stateless machines follow both. Where a machine's image and user
// data live is read from its recorded inputs (the input holding the image
// the stack pins, the input holding the #cloud-config), not assumed.

const (
	pinnedAMI   = "ami-0a1b2c3d4e5f60789"
	pinnedImage = "projects/cloudlabs-test/global/images/pinned-ubuntu-2404"
)

var pinned = map[string]string{"aws": pinnedAMI, "gcp": pinnedImage}

// lifecycleStack runs every environment with a pinned image and 3 Riak nodes.
func lifecycleStack(t *testing.T, cloud string) (*offline.Mocks, map[string]string) {
	t.Helper()
	cfg := map[string]string{"cloudlabs:image": pinned[cloud], "riak:nodes": "3"}
	return stack(t, cloud, cfg, "v1"), cfg
}

// bootPaths are where a machine's image and user data are in its inputs:
// exactly one of each, or the test fails.
func bootPaths(t *testing.T, cloud string, r offline.Resource) (image, userData string) {
	t.Helper()
	img := r.Paths(func(s string) bool { return s == pinned[cloud] })
	ud := r.Paths(func(s string) bool { return strings.HasPrefix(s, "#cloud-config") })
	if len(img) != 1 || len(ud) != 1 {
		t.Fatalf("%s: image at %v and user data at %v, want one of each", r.Name, img, ud)
	}
	return img[0], ud[0]
}

func riakNodeNames(n int) []string {
	var out []string
	for i := 1; i <= n; i++ {
		out = append(out, fmt.Sprintf("phonebook-riak-node-%d", i))
	}
	return out
}

// TestRiakNodesIgnoreImageAndUserData: every Riak machine, on both clouds,
// ignores changes to its image and user data and is never replaced on a
// change of them.
func TestRiakNodesIgnoreImageAndUserData(t *testing.T) {
	for _, cloud := range []string{"aws", "gcp"} {
		t.Run(cloud, func(t *testing.T) {
			m, cfg := lifecycleStack(t, cloud)
			riak := riakNodeNames(parseConfig(t, cloud, cfg).RiakNodes)
			if len(riak) != 3 {
				t.Fatalf("%d Riak nodes from the config, want the 3 it sets", len(riak))
			}
			for _, name := range riak {
				r, ok := m.Named(instanceType[cloud], name)
				if !ok {
					t.Errorf("no Riak machine %s among %v", name, names(m.OfType(instanceType[cloud])))
					continue
				}
				img, ud := bootPaths(t, cloud, r)
				for _, p := range []string{img, ud} {
					if !r.Options.Ignores(p) {
						t.Errorf("%s: a change to %s is not ignored (ignoreChanges %v): a later up would act on it", name, p, r.Options.IgnoreChanges)
					}
					if r.Options.Replaces(p) {
						t.Errorf("%s: a change to %s replaces it (replaceOnChanges %v)", name, p, r.Options.ReplaceOnChanges)
					}
				}
				if cloud == "aws" {
					if got := prop(r, "userDataReplaceOnChange"); got.IsBool() && got.BoolValue() {
						t.Errorf("%s: userDataReplaceOnChange is true", name)
					}
				}
			}
		})
	}
}

// TestStatelessMachinesFollowImageAndUserData: every machine that is not a
// Riak node ignores nothing of its image and user data, and a change of
// its user data replaces it (cloud-init runs only on a machine's first
// boot, so an update in place would leave the old binary running).
func TestStatelessMachinesFollowImageAndUserData(t *testing.T) {
	for _, cloud := range []string{"aws", "gcp"} {
		t.Run(cloud, func(t *testing.T) {
			m, cfg := lifecycleStack(t, cloud)
			c := parseConfig(t, cloud, cfg)
			riak := riakNodeNames(c.RiakNodes)
			var stateless []offline.Resource
			for _, r := range m.OfType(instanceType[cloud]) {
				if !slices.Contains(riak, r.Name) {
					stateless = append(stateless, r)
				}
			}
			if want := wantMachines(t, cfg) - c.RiakNodes; len(stateless) != want {
				t.Fatalf("%d stateless machines %v, want %d from the config", len(stateless), names(stateless), want)
			}
			for _, r := range stateless {
				img, ud := bootPaths(t, cloud, r)
				for _, p := range []string{img, ud} {
					if r.Options.Ignores(p) {
						t.Errorf("%s: ignores changes to %s (ignoreChanges %v)", r.Name, p, r.Options.IgnoreChanges)
					}
				}
				replaced := r.Options.Replaces(ud)
				if cloud == "aws" {
					// EC2 replaces on a user data change only when asked to.
					got := prop(r, "userDataReplaceOnChange")
					replaced = replaced || got.IsBool() && got.BoolValue()
				}
				if !replaced {
					t.Errorf("%s: a new user data (%s) does not replace it", r.Name, ud)
				}
			}
		})
	}
}

// The firewall, end to end. ingressEntry is one thing a stack's rules let
// in: TCP to one machine, on a port or range, from another machine of the
// stack or from an address block. Both clouds' rules are flattened to
// entries, so a rule widened to more sources, more ports or more machines,
// and any extra rule, shows as an entry the spec does not list.
type ingressEntry struct {
	to    string // a machine
	ports string // "8087", "6000-6999"; a protocol other than TCP is prefixed ("udp:53", "all:")
	from  string // "machine:<name>" or "cidr:<block>", or what else the rule names
}

func (e ingressEntry) String() string { return e.to + " " + e.ports + " <- " + e.from }

// Ports of the lab's services, as their own documentation states them:
// Riak KV's client and internal ports (docs.riak.com, "Riak's ports"),
// memcached's, the cache node's admin API (apps/cachenode/README.md).
const (
	specHTTP         = "80"
	specRiakPB       = "8087"
	specRiakHTTP     = "8098"
	specRiakEPMD     = "4369"
	specRiakHandoff  = "8099"
	specMemcached    = "11211"
	specCacheAdmin   = "8081"
	specManager      = "8090"
	specPostgres     = "5432"
	specSSH          = "22"
	cacheClientBlock = "198.51.100.0/24"
	httpClientBlock  = "203.0.113.0/24"
	sshBlock         = "192.0.2.0/24"
)

// specIngress is the README's "Least-privilege rules" for a stack with
// config c: port 80 only to the phone book and the load balancer, from
// http:allowCidr; Riak's client ports only from the app machine; epmd,
// handoff and the pinned distribution ports only between Riak nodes; the
// backends only from the load balancer, on the port it sends to; the cache
// nodes only from each other, plus cachepool:allowCidr; SSH to every
// machine from ssh:allowCidr only when open.
func specIngress(c stackconfig.Config, riakDist, backendPort string) map[ingressEntry]bool {
	want := map[ingressEntry]bool{}
	add := func(to []string, ports []string, from ...string) {
		for _, m := range to {
			for _, p := range ports {
				for _, f := range from {
					want[ingressEntry{m, p, f}] = true
				}
			}
		}
	}
	machines := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, "machine:"+n)
		}
		return out
	}
	var all []string
	if c.Enabled("phonebook") {
		app, riak := []string{"phonebook-app"}, riakNodeNames(c.RiakNodes)
		add(app, []string{specHTTP}, "cidr:"+c.HTTPAllowCIDR)
		add(riak, []string{specRiakPB, specRiakHTTP}, machines(app...)...)
		add(riak, []string{specRiakEPMD, specRiakHandoff, riakDist}, machines(riak...)...)
		all = append(append(all, app...), riak...)
	}
	if c.Enabled("fibonacci") {
		lb, backends := []string{"fibonacci-lb"}, numbered("fibonacci-node", c.FibonacciNodes)
		add(lb, []string{specHTTP}, "cidr:"+c.HTTPAllowCIDR)
		add(backends, []string{backendPort}, machines(lb...)...)
		all = append(append(all, lb...), backends...)
	}
	if c.Enabled("cachepool") {
		// Every slot is a machine, active or parked; the manager probes,
		// configures and scrapes them; the gallery reads and fills them
		// and follows the manager's membership; both use the database.
		cache, manager := numbered("cachepool-node", c.CachePoolMaxNodes), []string{"cachepool-manager"}
		add(cache, []string{specMemcached, specCacheAdmin}, machines(append(slices.Clone(cache), manager...)...)...)
		if c.CachePoolAllowCIDR != "" {
			add(cache, []string{specMemcached, specCacheAdmin}, "cidr:"+c.CachePoolAllowCIDR)
		}
		if c.ManagerAllowCIDR != "" {
			add(manager, []string{specManager}, "cidr:"+c.ManagerAllowCIDR)
		}
		dbClients := manager
		if c.Enabled("gallery") {
			gallery := []string{"gallery"}
			add(gallery, []string{specHTTP}, "cidr:"+c.HTTPAllowCIDR)
			add(cache, []string{specMemcached}, machines(gallery...)...)
			add(manager, []string{specManager}, machines(gallery...)...)
			dbClients = append(slices.Clone(manager), gallery...)
			all = append(all, gallery...)
		}
		if c.Platform == "aws" { // RDS: a security group of its own, no machine
			add([]string{"(no machine, group cachepool-db-pg-sg-id)"}, []string{specPostgres}, machines(dbClients...)...)
		}
		all = append(append(all, cache...), manager...)
	}
	if c.SSHOpen() {
		add(all, []string{specSSH}, "cidr:"+c.SSHAllowCIDR)
	}
	return want
}

func numbered(prefix string, n int) []string {
	var out []string
	for i := 1; i <= n; i++ {
		out = append(out, fmt.Sprintf("%s-%d", prefix, i))
	}
	return out
}

// TestIngressIsExactlyTheLeastPrivilegeRules runs the real program on both
// clouds, with the shipped stacks' config and with every environment
// enabled (defaults, and every CIDR key set), and compares what the
// firewall lets in with the README's rules, both ways.
func TestIngressIsExactlyTheLeastPrivilegeRules(t *testing.T) {
	key := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGb0yU1p9wWc0Ojt0Fh2p7dEwpI3lS3b8Wm3mBvI3x1X user@host"
	type scenario struct {
		name, cloud string
		cfg         map[string]string
	}
	var scenarios []scenario
	for _, cloud := range []string{"aws", "gcp"} {
		scenarios = append(scenarios,
			scenario{"all environments, defaults", cloud, nil},
			scenario{"all environments, every CIDR set", cloud, map[string]string{
				"riak:nodes": "3", "fibonacci:nodes": "2", "cachepool:nodes": "3",
				"http:allowCidr": httpClientBlock, "cachepool:allowCidr": cacheClientBlock, "manager:allowCidr": "198.18.7.0/24",
				"ssh:allowCidr": sshBlock, "ssh:publicKey": key,
			}},
		)
	}
	shipped := shippedCloudStacks(t)
	if len(shipped) == 0 {
		t.Fatal("no shipped cloud stack under stacks/")
	}
	for name, cfg := range shipped {
		scenarios = append(scenarios, scenario{"shipped " + name, cfg["cloudlabs:platform"], cfg})
	}
	for _, sc := range scenarios {
		t.Run(sc.cloud+"/"+sc.name, func(t *testing.T) {
			m := stack(t, sc.cloud, sc.cfg, "v1")
			c := parseConfig(t, sc.cloud, sc.cfg)
			var got map[ingressEntry]bool
			switch sc.cloud {
			case "aws":
				got = awsIngress(t, m)
			case "gcp":
				got = gcpIngress(t, m)
			default:
				t.Fatalf("cloud %q", sc.cloud)
			}
			riakDist, backendPort := "", ""
			if c.Enabled("phonebook") {
				riakDist = riakDistributionPorts(t, m)
			}
			if c.Enabled("fibonacci") {
				backendPort = upstreamPort(t, sc.cloud, m)
			}
			want := specIngress(c, riakDist, backendPort)
			if len(want) == 0 {
				t.Fatal("the spec lets nothing in: the config enables no environment")
			}
			for _, e := range sortedEntries(got) {
				if !want[e] {
					t.Errorf("lets in what the rules do not allow: %s", e)
				}
			}
			for _, e := range sortedEntries(want) {
				if !got[e] {
					t.Errorf("does not let in what the rules allow: %s", e)
				}
			}
		})
	}
}

func sortedEntries(s map[ingressEntry]bool) []ingressEntry {
	var out []ingressEntry
	for e := range s {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b ingressEntry) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// shippedCloudStacks is the config of every stacks/Pulumi.<stack>.yaml on a
// cloud, with the Riak checksum the README says to set before the first up.
func shippedCloudStacks(t *testing.T) map[string]map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(testkit.ModuleRoot(t), "stacks", "Pulumi.*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, f := range files {
		vals, err := stackfile.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		cfg := map[string]string{}
		for k, v := range vals {
			if v.Secure == "" {
				cfg[k] = v.Value
			}
		}
		if p := cfg["cloudlabs:platform"]; p != "aws" && p != "gcp" {
			continue
		}
		if cfg["riak:packageSha256"] == "" {
			cfg["riak:packageSha256"] = riakSHA
		}
		out[strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "Pulumi."), ".yaml")] = cfg
	}
	return out
}

// riakDistributionPorts is the Erlang distribution range the Riak nodes pin
// in their riak.conf, as "from-to": the firewall must open exactly it.
func riakDistributionPorts(t *testing.T, m *offline.Mocks) string {
	t.Helper()
	ud := bootFile(t, m, "phonebook-riak-node-1")
	var lo, hi string
	for _, line := range strings.Split(ud, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "erlang.distribution.port_range.minimum":
			lo = strings.TrimSpace(v)
		case "erlang.distribution.port_range.maximum":
			hi = strings.TrimSpace(v)
		}
	}
	if lo == "" || hi == "" {
		t.Fatalf("phonebook-riak-node-1 pins no Erlang distribution port range in its boot file:\n%s", ud)
	}
	return lo + "-" + hi
}

// upstreamPort is the port the load balancer sends to, from its upstream list.
func upstreamPort(t *testing.T, cloud string, m *offline.Mocks) string {
	t.Helper()
	up := dynamicUpstreams(t, cloud, m)
	ports := map[string]bool{}
	for _, line := range strings.Split(up, "\n") {
		f := strings.Fields(strings.TrimSpace(line))
		if len(f) >= 2 && f[0] == "server" {
			_, port, ok := strings.Cut(strings.TrimSuffix(f[1], ";"), ":")
			if ok {
				ports[port] = true
			}
		}
	}
	if len(ports) != 1 {
		t.Fatalf("the load balancer sends to ports %v, want one:\n%s", ports, up)
	}
	for p := range ports {
		return p
	}
	return ""
}

// portsOf is how an entry writes a protocol and a port range.
func portsOf(protocol string, from, to float64) string {
	p := fmt.Sprint(from)
	if from != to {
		p = fmt.Sprintf("%v-%v", from, to)
	}
	switch protocol {
	case "tcp", "6":
		return p
	case "-1", "all":
		return "all:"
	}
	return protocol + ":" + p
}

// awsIngress flattens every AWS ingress rule the program declared:
// standalone rules (vpc.SecurityGroupIngressRule, ec2.SecurityGroupRule)
// and inline ones (ec2.SecurityGroup, ec2.DefaultSecurityGroup). A group's
// machines are the instances that list its id (the mocks' id is
// "<name>-id").
func awsIngress(t *testing.T, m *offline.Mocks) map[ingressEntry]bool {
	t.Helper()
	members := map[string][]string{} // security group id -> machines
	for _, r := range m.OfType(offline.AWSInstance) {
		for _, key := range []string{"vpcSecurityGroupIds", "securityGroups"} {
			if v := prop(r, key); v.IsArray() {
				for _, id := range v.ArrayValue() {
					members[id.StringValue()] = append(members[id.StringValue()], r.Name)
				}
			}
		}
	}
	if len(members) == 0 {
		t.Fatal("no machine is in a security group")
	}
	got := map[ingressEntry]bool{}
	add := func(sg, ports string, from []string) {
		if len(members[sg]) == 0 {
			// A rule of a group without machines opens nothing today,
			// but it is a rule the spec does not list.
			for _, f := range from {
				got[ingressEntry{"(no machine, group " + sg + ")", ports, f}] = true
			}
		}
		for _, to := range members[sg] {
			for _, f := range from {
				got[ingressEntry{to, ports, f}] = true
			}
		}
	}
	fromGroup := func(sg string) []string {
		var out []string
		for _, mm := range members[sg] {
			out = append(out, "machine:"+mm)
		}
		if len(out) == 0 {
			out = append(out, "group without machines:"+sg)
		}
		return out
	}
	strList := func(v resource.PropertyValue) []string {
		var out []string
		if v.IsArray() {
			for _, e := range v.ArrayValue() {
				out = append(out, e.StringValue())
			}
		}
		return out
	}
	rules := m.OfType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
	if len(rules) == 0 {
		t.Fatal("no ingress rule at all")
	}
	for _, r := range rules {
		ports := portsOf(r.Str("ipProtocol"), prop(r, "fromPort").NumberValue(), prop(r, "toPort").NumberValue())
		var from []string
		if c := r.Str("cidrIpv4"); c != "" {
			from = append(from, "cidr:"+c)
		}
		if c := r.Str("cidrIpv6"); c != "" {
			from = append(from, "cidr:"+c)
		}
		if pl := r.Str("prefixListId"); pl != "" {
			from = append(from, "prefix list:"+pl)
		}
		if sg := r.Str("referencedSecurityGroupId"); sg != "" {
			from = append(from, fromGroup(sg)...)
		}
		add(r.Str("securityGroupId"), ports, from)
	}
	for _, r := range m.OfType("aws:ec2/securityGroupRule:SecurityGroupRule") {
		if r.Str("type") != "ingress" {
			continue
		}
		ports := portsOf(r.Str("protocol"), prop(r, "fromPort").NumberValue(), prop(r, "toPort").NumberValue())
		from := []string{}
		for _, c := range append(strList(prop(r, "cidrBlocks")), strList(prop(r, "ipv6CidrBlocks"))...) {
			from = append(from, "cidr:"+c)
		}
		if sg := r.Str("sourceSecurityGroupId"); sg != "" {
			from = append(from, fromGroup(sg)...)
		}
		if v := prop(r, "self"); v.IsBool() && v.BoolValue() {
			from = append(from, fromGroup(r.Str("securityGroupId"))...)
		}
		add(r.Str("securityGroupId"), ports, from)
	}
	for _, typ := range []string{"aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"} {
		for _, g := range m.OfType(typ) {
			sg := g.Name + "-id"
			in := prop(g, "ingress")
			if !in.IsArray() {
				continue
			}
			for i := range in.ArrayValue() {
				r := offline.Resource{Inputs: in.ArrayValue()[i].ObjectValue()}
				ports := portsOf(r.Str("protocol"), prop(r, "fromPort").NumberValue(), prop(r, "toPort").NumberValue())
				var from []string
				for _, c := range append(strList(prop(r, "cidrBlocks")), strList(prop(r, "ipv6CidrBlocks"))...) {
					from = append(from, "cidr:"+c)
				}
				for _, src := range strList(prop(r, "securityGroups")) {
					from = append(from, fromGroup(src)...)
				}
				if v := prop(r, "self"); v.IsBool() && v.BoolValue() {
					from = append(from, fromGroup(sg)...)
				}
				add(sg, ports, from)
			}
		}
	}
	return got
}

// gcpIngress flattens every GCP ingress firewall: its targets are the
// instances with one of its target tags (every instance when it names
// none), its sources the instances with a source tag and its source
// ranges (0.0.0.0/0 when it names no source, as GCP reads it).
func gcpIngress(t *testing.T, m *offline.Mocks) map[ingressEntry]bool {
	t.Helper()
	instances := m.OfType(offline.GCPInstance)
	if len(instances) == 0 {
		t.Fatal("no instances")
	}
	tagged := func(tags []string) []string {
		var out []string
		for _, r := range instances {
			v := prop(r, "tags")
			if !v.IsArray() {
				continue
			}
			for _, tg := range v.ArrayValue() {
				if slices.Contains(tags, tg.StringValue()) {
					out = append(out, r.Name)
					break
				}
			}
		}
		return out
	}
	strList := func(r offline.Resource, key string) []string {
		var out []string
		if v := prop(r, key); v.IsArray() {
			for _, e := range v.ArrayValue() {
				out = append(out, e.StringValue())
			}
		}
		return out
	}
	rules := m.OfType("gcp:compute/firewall:Firewall")
	if len(rules) == 0 {
		t.Fatal("no firewall rule at all")
	}
	got := map[ingressEntry]bool{}
	for _, r := range rules {
		if d := r.Str("direction"); d != "" && d != "INGRESS" {
			continue
		}
		var to []string
		switch targets := strList(r, "targetTags"); {
		case len(strList(r, "targetServiceAccounts")) > 0:
			to = []string{"(target service accounts " + strings.Join(strList(r, "targetServiceAccounts"), ",") + ")"}
		case len(targets) == 0:
			for _, i := range instances {
				to = append(to, i.Name)
			}
		default:
			to = tagged(targets)
			if len(to) == 0 {
				to = []string{"(no machine, tags " + strings.Join(targets, ",") + ")"}
			}
		}
		var from []string
		for _, c := range strList(r, "sourceRanges") {
			from = append(from, "cidr:"+c)
		}
		if tags := strList(r, "sourceTags"); len(tags) > 0 {
			srcs := tagged(tags)
			for _, s := range srcs {
				from = append(from, "machine:"+s)
			}
			if len(srcs) == 0 {
				from = append(from, "tags without machines:"+strings.Join(tags, ","))
			}
		}
		for _, sa := range strList(r, "sourceServiceAccounts") {
			from = append(from, "service account:"+sa)
		}
		if len(from) == 0 {
			from = []string{"cidr:0.0.0.0/0"}
		}
		allows := prop(r, "allows")
		if !allows.IsArray() || len(allows.ArrayValue()) == 0 {
			t.Errorf("%s: allows nothing (an ingress firewall without allows may be a deny: check it)", r.Name)
			continue
		}
		for _, a := range allows.ArrayValue() {
			ar := offline.Resource{Inputs: a.ObjectValue()}
			proto := ar.Str("protocol")
			ports := strList(ar, "ports")
			var entries []string
			if len(ports) == 0 {
				entries = []string{proto + ":all"}
			}
			for _, p := range ports {
				if proto != "tcp" && proto != "6" {
					p = proto + ":" + p
				}
				entries = append(entries, p)
			}
			for _, tm := range to {
				for _, p := range entries {
					for _, f := range from {
						got[ingressEntry{tm, p, f}] = true
					}
				}
			}
		}
	}
	return got
}
