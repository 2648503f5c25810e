package gcp_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/cloudlabs/cloudlabs/components/gcp"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

const accountEmail = "cloudlabs-machines@cloudlabs-test.iam.gserviceaccount.com" // the mocks' email

func TestResourceCounts(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    gcp.Settings
		want map[string]int
	}{
		{"ssh closed", settings(), map[string]int{
			tNetwork: 1, tSubnet: 1, tFirewall: 3, tBucket: 1, tObject: 2, tIAM: 1, tAccount: 1, tAddress: 1, tInstance: 3}},
		{"ssh open", withSSH(settings()), map[string]int{
			tNetwork: 1, tSubnet: 1, tFirewall: 4, tBucket: 1, tObject: 2, tIAM: 1, tAccount: 1, tAddress: 1, tInstance: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := run(t, tc.s).mocks
			total := 0
			for typ, n := range tc.want {
				total += n
				if got := len(m.OfType(typ)); got != n {
					t.Errorf("%s: got %d, want %d", typ, got, n)
				}
			}
			if got := len(m.Resources()); got != total {
				var types []string
				for _, r := range m.Resources() {
					types = append(types, r.Type+" "+r.Name)
				}
				t.Errorf("got %d resources, want %d:\n%s", got, total, strings.Join(types, "\n"))
			}
		})
	}
}

func TestNetwork(t *testing.T) {
	m := run(t, settings()).mocks
	net := named(t, m, tNetwork, "cloudlabs-net")
	if v := input(net, "autoCreateSubnetworks"); !v.IsBool() || v.BoolValue() {
		t.Errorf("autoCreateSubnetworks: got %v, want false", v)
	}
	sub := named(t, m, tSubnet, "cloudlabs-subnet")
	for _, tc := range []struct{ key, want string }{
		{"ipCidrRange", gcp.SubnetCIDR}, {"region", "us-central1"}, {"network", "cloudlabs-net-id"},
	} {
		if got := str(sub, tc.key); got != tc.want {
			t.Errorf("subnet %s: got %q, want %q", tc.key, got, tc.want)
		}
	}
	if v := input(sub, "privateIpGoogleAccess"); !v.IsBool() || !v.BoolValue() {
		t.Errorf("privateIpGoogleAccess: got %v, want true", v)
	}
}

func TestFirewallIsExactlyWhatWasAllowed(t *testing.T) {
	type rule struct {
		targets, sourceTags, ranges, ports []string
	}
	base := map[string]rule{
		"web-http":       {targets: []string{"web"}, ranges: []string{"203.0.113.0/24"}, ports: []string{"80"}},
		"nodes-from-web": {targets: []string{"nodes"}, sourceTags: []string{"web"}, ports: []string{"8080"}},
		"db-peers":       {targets: []string{"db"}, sourceTags: []string{"db"}, ports: []string{"11211", "6000-7999"}},
	}
	withSSHRule := map[string]rule{"cloudlabs-ssh": {ranges: []string{"198.51.100.0/24"}, ports: []string{"22"}}}
	for k, v := range base {
		withSSHRule[k] = v
	}
	for _, tc := range []struct {
		name string
		s    gcp.Settings
		want map[string]rule
	}{
		{"ssh closed", settings(), base},
		{"ssh open", withSSH(settings()), withSSHRule},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fws := run(t, tc.s).mocks.OfType(tFirewall)
			if len(fws) != len(tc.want) {
				t.Fatalf("got %d firewall rules, want %d", len(fws), len(tc.want))
			}
			for _, fw := range fws {
				want, ok := tc.want[fw.Name]
				if !ok {
					t.Errorf("unexpected firewall rule %s", fw.Name)
					continue
				}
				got := rule{
					targets: strs(fw, "targetTags"), sourceTags: strs(fw, "sourceTags"),
					ranges: strs(fw, "sourceRanges"), ports: strs(fw, "allows", 0, "ports"),
				}
				for _, c := range []struct {
					what      string
					got, want []string
				}{
					{"targetTags", got.targets, want.targets}, {"sourceTags", got.sourceTags, want.sourceTags},
					{"sourceRanges", got.ranges, want.ranges}, {"ports", got.ports, want.ports},
				} {
					if !slices.Equal(c.got, c.want) {
						t.Errorf("%s %s: got %q, want %q", fw.Name, c.what, c.got, c.want)
					}
				}
				if slices.Contains(got.ranges, "0.0.0.0/0") {
					t.Errorf("%s opens to the whole internet", fw.Name)
				}
				if p, n := str(fw, "allows", 0, "protocol"), len(input(fw, "allows").ArrayValue()); p != "tcp" || n != 1 {
					t.Errorf("%s: protocol %q in %d allow blocks, want tcp in one", fw.Name, p, n)
				}
				if d := str(fw, "direction"); d != "INGRESS" {
					t.Errorf("%s: direction %q, want INGRESS", fw.Name, d)
				}
				if n := str(fw, "network"); n != "cloudlabs-net-id" {
					t.Errorf("%s: network %q, want the stack's own", fw.Name, n)
				}
			}
		})
	}
}

func TestInstancesAreHardened(t *testing.T) {
	m := run(t, settings()).mocks
	for _, tc := range []struct {
		name, group, machineType string
		diskGB                   float64
	}{
		{"node-1", "nodes", "e2-micro", 10},
		{"web", "web", "e2-micro", 10},
		{"db-1", "db", "e2-medium", 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := named(t, m, tInstance, tc.name)
			for _, key := range []string{"enableSecureBoot", "enableVtpm", "enableIntegrityMonitoring"} {
				if v := input(in, "shieldedInstanceConfig", key); !v.IsBool() || !v.BoolValue() {
					t.Errorf("shieldedInstanceConfig.%s: got %v, want true", key, v)
				}
			}
			if got := str(in, "serviceAccount", "email"); got != accountEmail {
				t.Errorf("service account: got %q, want the stack's own %q", got, accountEmail)
			}
			if got := strs(in, "serviceAccount", "scopes"); !slices.Equal(got, []string{gcp.ReadOnlyScope}) {
				t.Errorf("scopes: got %q, want only %q", got, gcp.ReadOnlyScope)
			}
			for key, want := range map[string]string{"block-project-ssh-keys": "TRUE", "enable-oslogin": "FALSE"} {
				if got := str(in, "metadata", key); got != want {
					t.Errorf("metadata %s: got %q, want %q", key, got, want)
				}
			}
			if got := strs(in, "tags"); !slices.Equal(got, []string{tc.group}) {
				t.Errorf("tags: got %q, want [%s]", got, tc.group)
			}
			for _, c := range []struct{ what, got, want string }{
				{"machineType", str(in, "machineType"), tc.machineType},
				{"zone", str(in, "zone"), "us-central1-a"},
				{"image", str(in, "bootDisk", "initializeParams", "image"), "ubuntu-os-cloud/ubuntu-2404-lts-amd64"},
				{"disk type", str(in, "bootDisk", "initializeParams", "type"), gcp.DiskType},
				{"subnetwork", str(in, "networkInterfaces", 0, "subnetwork"), "cloudlabs-subnet-id"},
				{"label stack", str(in, "labels", "cloudlabs-stack"), "gcp-test"},
				{"label project", str(in, "labels", "cloudlabs-project"), "cloudlabs"},
				{"label group", str(in, "labels", "cloudlabs-group"), tc.group},
			} {
				if c.got != c.want {
					t.Errorf("%s: got %q, want %q", c.what, c.got, c.want)
				}
			}
			if v := input(in, "bootDisk", "initializeParams", "size"); !v.IsNumber() || v.NumberValue() != tc.diskGB {
				t.Errorf("disk size: got %v, want %v GB", v, tc.diskGB)
			}
			if v := input(in, "allowStoppingForUpdate"); !v.IsBool() || !v.BoolValue() {
				t.Errorf("allowStoppingForUpdate: got %v, want true", v)
			}
			if v := input(in, "networkInterfaces", 0, "accessConfigs"); !v.IsArray() || len(v.ArrayValue()) != 1 {
				t.Errorf("accessConfigs: got %v, want one (outbound internet without NAT)", v)
			}
		})
	}
}

func TestPublicMachineHasStaticAddress(t *testing.T) {
	out := run(t, settings())
	addr := named(t, out.mocks, tAddress, "web-ip")
	if got := str(addr, "labels", "cloudlabs-stack"); got != "gcp-test" {
		t.Errorf("address label: got %q", got)
	}
	webIP := out.ips["web"][1]
	for _, tc := range []struct {
		machine             string
		wantNat, wantPublic string
		wantPrivatePrefix   string
	}{
		{"web", webIP, webIP, "10.42.1."},
		{"node-1", "", "", "10.42.1."},
		{"db-1", "", "", "10.42.1."},
	} {
		t.Run(tc.machine, func(t *testing.T) {
			in := named(t, out.mocks, tInstance, tc.machine)
			if got := str(in, "networkInterfaces", 0, "accessConfigs", 0, "natIp"); got != tc.wantNat {
				t.Errorf("natIp: got %q, want %q", got, tc.wantNat)
			}
			ips, ok := out.ips[tc.machine]
			if !ok {
				t.Fatal("machine outputs never resolved")
			}
			if ips[1] != tc.wantPublic {
				t.Errorf("PublicIP: got %q, want %q", ips[1], tc.wantPublic)
			}
			if !strings.HasPrefix(ips[0], tc.wantPrivatePrefix) {
				t.Errorf("PrivateIP: got %q, want one in %s", ips[0], gcp.SubnetCIDR)
			}
			if ips[2] != "" {
				t.Errorf("SSHHost with SSH closed: got %q, want \"\"", ips[2])
			}
		})
	}
	if webIP == "" {
		t.Error("the Public machine has no public address")
	}
}

func TestBucketIsPrivate(t *testing.T) {
	m := run(t, settings()).mocks
	b := named(t, m, tBucket, "cloudlabs-artifacts")
	if v := input(b, "uniformBucketLevelAccess"); !v.IsBool() || !v.BoolValue() {
		t.Errorf("uniformBucketLevelAccess: got %v, want true", v)
	}
	for _, c := range []struct{ what, got, want string }{
		{"publicAccessPrevention", str(b, "publicAccessPrevention"), "enforced"},
		{"location", str(b, "location"), "us-central1"},
		{"label stack", str(b, "labels", "cloudlabs-stack"), "gcp-test"},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.what, c.got, c.want)
		}
	}
	grants := m.OfType(tIAM)
	if len(grants) != 1 {
		t.Fatalf("got %d bucket grants, want 1", len(grants))
	}
	for _, c := range []struct{ what, got, want string }{
		{"role", str(grants[0], "role"), "roles/storage.objectViewer"},
		{"member", str(grants[0], "member"), "serviceAccount:" + accountEmail},
		{"bucket", str(grants[0], "bucket"), "cloudlabs-artifacts-mock"},
	} {
		if c.got != c.want {
			t.Errorf("grant %s: got %q, want %q", c.what, c.got, c.want)
		}
	}
	id := str(named(t, m, tAccount, "cloudlabs-machines"), "accountId")
	if id != gcp.AccountID("cloudlabs", "gcp-Test") {
		t.Errorf("accountId: got %q", id)
	}
}

func TestObjects(t *testing.T) {
	m := run(t, settings()).mocks
	for _, tc := range []struct{ name, key, content string }{
		{"app-artifact", "artifacts/app-" + appSHA[:12], ""},
		{"web-upstreams", "dynamic/web/upstreams.conf", upstreamMarker},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := named(t, m, tObject, tc.name)
			if got := str(o, "name"); got != tc.key {
				t.Errorf("key: got %q, want %q", got, tc.key)
			}
			if got := str(o, "bucket"); got != "cloudlabs-artifacts-mock" {
				t.Errorf("bucket: got %q", got)
			}
			if !strings.Contains(str(o, "content"), tc.content) {
				t.Errorf("content %q lacks %q", str(o, "content"), tc.content)
			}
		})
	}
}

func TestUserData(t *testing.T) {
	artifactURL := "https://storage.googleapis.com/cloudlabs-artifacts-mock/artifacts/app-" + appSHA[:12]
	dynURL := "https://storage.googleapis.com/cloudlabs-artifacts-mock/dynamic/web/upstreams.conf"
	for _, tc := range []struct {
		name          string
		s             gcp.Settings
		machine       string
		want, wantNot []string
	}{
		{"node fetches artifact", settings(), "node-1", []string{artifactURL, "Metadata-Flavor: Google"}, []string{"ssh_authorized_keys"}},
		{"lb syncs upstreams", settings(), "web", []string{dynURL, "cloudlabs-sync-upstreams.service", "/etc/nginx/cloudlabs/upstreams.conf"}, []string{upstreamMarker, "server 10.42.1."}},
		{"stateful", settings(), "db-1", []string{"memcached"}, []string{"ssh_authorized_keys"}},
		{"ssh key with ssh open", withSSH(settings()), "web", []string{"ssh_authorized_keys", sshKey}, []string{upstreamMarker}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ud := userData(t, run(t, tc.s).mocks, tc.machine)
			for _, w := range tc.want {
				if !strings.Contains(ud, w) {
					t.Errorf("user data lacks %q:\n%s", w, ud)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(ud, w) {
					t.Errorf("user data holds %q:\n%s", w, ud)
				}
			}
			testkit.CloudConfig(t, ud)
		})
	}
}

func TestSSHHostOnlyWhenOpen(t *testing.T) {
	out := run(t, withSSH(settings()))
	for name, ips := range out.ips {
		if ips[2] == "" || !strings.HasPrefix(ips[2], "203.0.113.") {
			t.Errorf("%s: SSHHost %q, want its public address", name, ips[2])
		}
	}
}
