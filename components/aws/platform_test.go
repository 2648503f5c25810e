package aws

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/offline"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

const (
	tInstance = "aws:ec2/instance:Instance"
	tIngress  = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	tEgress   = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
	tEip      = "aws:ec2/eip:Eip"
	tObject   = "aws:s3/bucketObjectv2:BucketObjectv2"
)

var sshOpen = Settings{SSHAllowCIDR: "192.0.2.0/24", SSHPublicKey: testKey}

func TestResourceCounts(t *testing.T) {
	base := map[string]int{
		"aws:ec2/vpc:Vpc": 1, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": 1, "aws:ec2/subnet:Subnet": 1,
		"aws:ec2/internetGateway:InternetGateway": 1, "aws:ec2/routeTable:RouteTable": 1, "aws:ec2/route:Route": 1,
		"aws:ec2/routeTableAssociation:RouteTableAssociation": 1, "aws:ec2/vpcEndpoint:VpcEndpoint": 1,
		"aws:s3/bucketV2:BucketV2": 1, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 1,
		"aws:s3/bucketOwnershipControls:BucketOwnershipControls": 1, "aws:s3/bucketPolicy:BucketPolicy": 1,
		"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": 1,
		tObject: 2, "aws:ec2/securityGroup:SecurityGroup": 3, tEgress: 3, tIngress: 6, tInstance: 3, tEip: 1,
	}
	withSSH := maps.Clone(base)
	withSSH[tIngress] += 3
	for _, tc := range []struct {
		name string
		s    Settings
		want map[string]int
	}{
		{"ssh closed", Settings{}, base},
		{"ssh open", sshOpen, withSSH},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mocks, _ := runLab(t, tc.s)
			got := map[string]int{}
			for _, r := range mocks.Resources() {
				got[r.Type]++
			}
			for _, typ := range slices.Sorted(maps.Keys(mergeKeys(got, tc.want))) {
				if got[typ] != tc.want[typ] {
					t.Errorf("%s: got %d, want %d", short(typ), got[typ], tc.want[typ])
				}
			}
		})
	}
}

func mergeKeys(a, b map[string]int) map[string]int {
	out := maps.Clone(a)
	for k := range b {
		out[k] = 0
	}
	return out
}

// TestIngressIsExactlyWhatWasAllowed compares every ingress rule with the
// rules the program asked for: nothing more is open, in particular no
// 0.0.0.0/0 but the one rule that asked for it, and SSH only when set.
func TestIngressIsExactlyWhatWasAllowed(t *testing.T) {
	allowed := map[string]string{
		"web-http-80":        "web-sg-id tcp 80-80 from 0.0.0.0/0",
		"app-from-web-8080":  "app-sg-id tcp 8080-8080 from web-sg-id",
		"db-peers-8087":      "db-sg-id tcp 8087-8087 from db-sg-id",
		"db-peers-6000-7999": "db-sg-id tcp 6000-7999 from db-sg-id",
		"db-admin-1-8098":    "db-sg-id tcp 8098-8098 from 198.51.100.0/24",
		"db-admin-2-8098":    "db-sg-id tcp 8098-8098 from 203.0.113.0/28",
	}
	withSSH := maps.Clone(allowed)
	for _, g := range []string{"app", "web", "db"} {
		withSSH[g+"-ssh"] = g + "-sg-id tcp 22-22 from 192.0.2.0/24"
	}
	for _, tc := range []struct {
		name string
		s    Settings
		want map[string]string
	}{
		{"ssh closed", Settings{}, allowed},
		{"ssh open", sshOpen, withSSH},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mocks, _ := runLab(t, tc.s)
			got := map[string]string{}
			for _, r := range mocks.OfType(tIngress) {
				src := r.Str("cidrIpv4") + r.Str("referencedSecurityGroupId")
				got[r.Name] = fmt.Sprintf("%s %s %v-%v from %s", r.Str("securityGroupId"), r.Str("ipProtocol"),
					numOf(r.Inputs, "fromPort"), numOf(r.Inputs, "toPort"), src)
				if r.Str("cidrIpv6") != "" || r.Str("prefixListId") != "" {
					t.Errorf("%s: unexpected IPv6 or prefix list source", r.Name)
				}
				if r.Str("description") == "" || strings.Contains(r.Str("description"), "→") {
					t.Errorf("%s: description %q not set or not in EC2's character set", r.Name, r.Str("description"))
				}
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("ingress rules:\n got %v\nwant %v", got, tc.want)
			}
			for _, r := range mocks.OfType(tEgress) {
				if r.Str("ipProtocol") != "-1" || r.Str("cidrIpv4") != "0.0.0.0/0" {
					t.Errorf("%s: egress %s to %s, want all to 0.0.0.0/0", r.Name, r.Str("ipProtocol"), r.Str("cidrIpv4"))
				}
			}
		})
	}
}

func TestInstances(t *testing.T) {
	mocks, _ := runLab(t, Settings{})
	for _, tc := range []struct {
		machine, sg, itype string
		gib                float64
		replaceOnChange    bool
	}{
		{"app-1", "app-sg-id", "t3.micro", RootGiB, true},
		{"web-1", "web-sg-id", "t3.micro", RootGiB, true},
		{"db-1", "db-sg-id", "t3.medium", StatefulGiB, false},
	} {
		t.Run(tc.machine, func(t *testing.T) {
			r := named(t, mocks, tInstance, tc.machine)
			if got := r.Str("instanceType"); got != tc.itype {
				t.Errorf("instanceType: got %q, want %q", got, tc.itype)
			}
			if got := r.Str("ami"); got != "ami-0123456789abcdef0" {
				t.Errorf("ami: got %q, want the looked-up image", got)
			}
			if got := strs(r, "vpcSecurityGroupIds"); !slices.Equal(got, []string{tc.sg}) {
				t.Errorf("security groups: got %v, want [%s]", got, tc.sg)
			}
			if got := r.Str("subnetId"); got != "public-subnet-id" {
				t.Errorf("subnetId: got %q", got)
			}
			if !boolOf(r.Inputs, "associatePublicIpAddress") {
				t.Error("no public address for outbound traffic")
			}
			md := obj(r, "metadataOptions")
			if strOf(md, "httpTokens") != "required" || strOf(md, "httpEndpoint") != "enabled" || numOf(md, "httpPutResponseHopLimit") != 1 {
				t.Errorf("metadataOptions: got %v, want IMDSv2 required, enabled, hop limit 1", md)
			}
			root := obj(r, "rootBlockDevice")
			if !boolOf(root, "encrypted") || strOf(root, "volumeType") != "gp3" || numOf(root, "volumeSize") != tc.gib {
				t.Errorf("rootBlockDevice: got %v, want encrypted gp3 of %v GiB", root, tc.gib)
			}
			if got := boolOf(r.Inputs, "userDataReplaceOnChange"); got != tc.replaceOnChange {
				t.Errorf("userDataReplaceOnChange: got %t, want %t", got, tc.replaceOnChange)
			}
			if got := strOf(obj(r, "creditSpecification"), "cpuCredits"); got != "standard" {
				t.Errorf("cpuCredits: got %q, want standard", got)
			}
		})
	}
}

// TestIgnoredChanges: the stateful machine (the lab's db-1) keeps its disk
// through a later up: changes to its image and user data are ignored and
// never replace it. The stateless ones (app-1, web-1) ignore neither. Where
// the image and user data sit in an instance's inputs is found from the
// values themselves (the AMI the test pins, the #cloud-config), and the
// options are the ones the engine would receive.
func TestIgnoredChanges(t *testing.T) {
	const pinned = "ami-0a1b2c3d4e5f60789"
	mocks, _ := runLab(t, Settings{Image: pinned})
	for _, tc := range []struct {
		machine  string
		stateful bool
	}{
		{"app-1", false},
		{"web-1", false},
		{"db-1", true},
	} {
		t.Run(tc.machine, func(t *testing.T) {
			r := named(t, mocks, tInstance, tc.machine)
			img := r.Paths(func(s string) bool { return s == pinned })
			ud := r.Paths(func(s string) bool { return strings.HasPrefix(s, "#cloud-config") })
			if len(img) != 1 || len(ud) != 1 {
				t.Fatalf("image at %v, user data at %v: want one of each", img, ud)
			}
			for _, p := range []string{img[0], ud[0]} {
				if got := r.Options.Ignores(p); got != tc.stateful {
					t.Errorf("changes to %s ignored: %t, want %t (ignoreChanges %v)", p, got, tc.stateful, r.Options.IgnoreChanges)
				}
				if tc.stateful && r.Options.Replaces(p) {
					t.Errorf("a change to %s replaces the stateful machine (replaceOnChanges %v)", p, r.Options.ReplaceOnChanges)
				}
			}
		})
	}
}

func TestAddresses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		s       Settings
		sshOpen bool
	}{
		{"ssh closed", Settings{}, false},
		{"ssh open", sshOpen, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mocks, l := runLab(t, tc.s)
			eip := named(t, mocks, tEip, "web-1-eip")
			if eip.Str("instance") != "web-1-id" || eip.Str("domain") != "vpc" {
				t.Errorf("elastic ip: instance %q domain %q, want web-1-id in vpc", eip.Str("instance"), eip.Str("domain"))
			}
			web, app := l.public["web-1"], l.public["app-1"]
			if web == "" || !strings.HasPrefix(web, "203.0.113.") {
				t.Errorf("web-1 PublicIP: got %q, want the Elastic IP", web)
			}
			if app != "" || l.public["db-1"] != "" {
				t.Errorf("PublicIP of private machines: got %q, %q, want empty", app, l.public["db-1"])
			}
			for _, m := range []string{"app-1", "web-1", "db-1"} {
				if !strings.HasPrefix(l.private[m], "10.42.1.") {
					t.Errorf("%s PrivateIP: got %q", m, l.private[m])
				}
				if got := l.ssh[m] != ""; got != tc.sshOpen {
					t.Errorf("%s SSHHost: got %q with SSH open %t", m, l.ssh[m], tc.sshOpen)
				}
			}
			if tc.sshOpen && l.ssh["web-1"] != web {
				t.Errorf("web-1 SSHHost: got %q, want its Elastic IP %q", l.ssh["web-1"], web)
			}
		})
	}
}

func TestUserData(t *testing.T) {
	mocks, l := runLab(t, sshOpen)
	if want := "https://artifacts-mock.s3.us-east-1.amazonaws.com/artifacts/app-" + artifactSHA[:12]; l.url != want {
		t.Errorf("artifact URL: got %q, want %q", l.url, want)
	}
	for _, tc := range []struct {
		machine string
		has     []string
	}{
		{"app-1", []string{l.url, testKey}},
		{"web-1", []string{"https://artifacts-mock.s3.us-east-1.amazonaws.com/dynamic/web-1/upstreams.conf", "cloudlabs-sync-upstreams.service"}},
		{"db-1", []string{"memcached"}},
	} {
		t.Run(tc.machine, func(t *testing.T) {
			ud := named(t, mocks, tInstance, tc.machine).Str("userData")
			for _, s := range tc.has {
				if !strings.Contains(ud, s) {
					t.Errorf("user data lacks %q", s)
				}
			}
			if strings.Contains(ud, "dynamic-marker") {
				t.Error("a dynamic file's content is in the user data: a new upstream list would replace the machine")
			}
			testkit.CloudConfig(t, ud)
		})
	}
	obj := named(t, mocks, tObject, "web-1-upstreams.conf")
	if obj.Str("content") != dynamicMarker || obj.Str("key") != "dynamic/web-1/upstreams.conf" {
		t.Errorf("dynamic object: key %q content %q", obj.Str("key"), obj.Str("content"))
	}
}

func TestBucketIsPrivate(t *testing.T) {
	mocks, _ := runLab(t, Settings{})
	b := named(t, mocks, "aws:s3/bucketV2:BucketV2", "artifacts")
	if !boolOf(b.Inputs, "forceDestroy") || b.Str("bucketPrefix") != "cloudlabs-test-" {
		t.Errorf("bucket: forceDestroy %t prefix %q", boolOf(b.Inputs, "forceDestroy"), b.Str("bucketPrefix"))
	}
	pab := named(t, mocks, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "artifacts-public-access")
	for _, k := range []string{"blockPublicAcls", "ignorePublicAcls", "blockPublicPolicy", "restrictPublicBuckets"} {
		if !boolOf(pab.Inputs, k) {
			t.Errorf("public access block: %s is not true", k)
		}
	}
	sse := named(t, mocks, "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2", "artifacts-encryption")
	rules := sse.Inputs["rules"].ArrayValue()
	if len(rules) != 1 || strOf(rules[0].ObjectValue()["applyServerSideEncryptionByDefault"].ObjectValue(), "sseAlgorithm") != "AES256" {
		t.Errorf("encryption rules: got %v, want one AES256 default", rules)
	}
	own := named(t, mocks, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "artifacts-ownership")
	if got := strOf(obj(own, "rule"), "objectOwnership"); got != "BucketOwnerEnforced" {
		t.Errorf("object ownership: got %q", got)
	}
	ep := named(t, mocks, "aws:ec2/vpcEndpoint:VpcEndpoint", "s3-endpoint")
	if ep.Str("serviceName") != "com.amazonaws.us-east-1.s3" || ep.Str("vpcEndpointType") != "Gateway" ||
		!slices.Equal(strs(ep, "routeTableIds"), []string{"public-rt-id"}) {
		t.Errorf("endpoint: %s %s %v", ep.Str("serviceName"), ep.Str("vpcEndpointType"), strs(ep, "routeTableIds"))
	}
	checkPolicy(t, named(t, mocks, "aws:s3/bucketPolicy:BucketPolicy", "artifacts-policy").Str("policy"))
}

// checkPolicy allows only GetObject on the machines' prefixes, only
// through the endpoint; everything else it says is a Deny.
func checkPolicy(t *testing.T, doc string) {
	t.Helper()
	var p struct {
		Statement []struct {
			Effect, Action string
			Principal      any
			Resource       []string
			Condition      map[string]map[string]string
		}
	}
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		t.Fatalf("policy: %v\n%s", err, doc)
	}
	allows := 0
	for _, s := range p.Statement {
		if s.Effect != "Allow" {
			continue
		}
		allows++
		if s.Action != "s3:GetObject" {
			t.Errorf("allow of %q, want only s3:GetObject", s.Action)
		}
		want := []string{"arn:aws:mock:::artifacts/artifacts/*", "arn:aws:mock:::artifacts/dynamic/*"}
		if !slices.Equal(s.Resource, want) {
			t.Errorf("allowed resources: got %v, want %v", s.Resource, want)
		}
		if got := s.Condition["StringEquals"]["aws:SourceVpce"]; got != "s3-endpoint-id" || len(s.Condition) != 1 {
			t.Errorf("allow condition: got %v, want only aws:SourceVpce = s3-endpoint-id", s.Condition)
		}
	}
	if allows != 1 {
		t.Errorf("policy has %d allow statements, want 1:\n%s", allows, doc)
	}
}

// TestTags checks that every resource that can carry tags carries the
// stack's identity.
func TestTags(t *testing.T) {
	untaggable := map[string]bool{
		"aws:ec2/route:Route": true, "aws:ec2/routeTableAssociation:RouteTableAssociation": true,
		"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":                                     true,
		"aws:s3/bucketOwnershipControls:BucketOwnershipControls":                                     true,
		"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": true,
		"aws:s3/bucketPolicy:BucketPolicy":                                                           true,
	}
	mocks, _ := runLab(t, Settings{Project: "lab", Stack: "aws-dev"})
	for _, r := range mocks.Resources() {
		if untaggable[r.Type] {
			continue
		}
		t.Run(short(r.Type)+"/"+r.Name, func(t *testing.T) {
			tags := obj(r, "tags")
			if strOf(tags, "cloudlabs:project") != "lab" || strOf(tags, "cloudlabs:stack") != "aws-dev" || !strings.HasPrefix(strOf(tags, "Name"), "lab-aws-dev-") {
				t.Errorf("tags: got %v", tags)
			}
		})
	}
}

func TestPinnedImageAndArm(t *testing.T) {
	mocks, l := runLab(t, Settings{InstanceType: "t4g.small", Image: "ami-0fedcba9876543210"})
	if l.arch != "arm64" || l.types["small"] != "t4g.small" || l.types["medium"] != "t4g.medium" {
		t.Errorf("arch %s, types %v: want arm64, t4g.small and t4g.medium", l.arch, l.types)
	}
	for _, r := range mocks.OfType(tInstance) {
		if r.Str("ami") != "ami-0fedcba9876543210" {
			t.Errorf("%s: ami %q, want the pinned image", r.Name, r.Str("ami"))
		}
	}
}

func TestSettingsRejected(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Settings
		want string
	}{
		{"bad type", Settings{InstanceType: "micro"}, `instance type "micro"`},
		{"unknown size", Settings{InstanceTypeBySize: map[string]string{"huge": "t3.2xlarge"}}, `size "huge"; allowed: small, medium`},
		{"mixed arch", Settings{InstanceTypeBySize: map[string]string{"medium": "m7g.large"}}, "every size must share one architecture"},
		{"bad image", Settings{Image: "ubuntu"}, `image "ubuntu"`},
		{"half ssh", Settings{SSHAllowCIDR: "192.0.2.0/24"}, "both an allowed CIDR and a public key"},
		{"bad ssh cidr", Settings{SSHAllowCIDR: "192.0.2.1/24", SSHPublicKey: testKey}, `SSH CIDR "192.0.2.1/24"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := tc.s.resolve()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestZoneOutsideRegion(t *testing.T) {
	_, err := offline.Run(func(ctx *pulumi.Context) error {
		_, err := New(ctx, Settings{Zone: "eu-west-1a"})
		return err
	}, "cloudlabs", "test", nil)
	if err == nil || !strings.Contains(err.Error(), `zone "eu-west-1a" is not in region us-east-1`) {
		t.Fatalf("got %v, want the zone refused", err)
	}
}
