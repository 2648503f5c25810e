package aws

import (
	"encoding/json"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/offline"
	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/pool/metrics/cwstore"
)

const (
	tRDS         = "aws:rds/instance:Instance"
	tSubnetGroup = "aws:rds/subnetGroup:SubnetGroup"
	tParams      = "aws:rds/parameterGroup:ParameterGroup"
	tSubnet      = "aws:ec2/subnet:Subnet"
	tSG          = "aws:ec2/securityGroup:SecurityGroup"
	tRolePolicy  = "aws:iam/rolePolicy:RolePolicy"
	tRole        = "aws:iam/role:Role"
	tBucket      = "aws:s3/bucketV2:BucketV2"
	tPAB         = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
	tSSE         = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
	tOwnership   = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
	tBucketPol   = "aws:s3/bucketPolicy:BucketPolicy"
	tRTA         = "aws:ec2/routeTableAssociation:RouteTableAssociation"
)

// poolMocks are the offline mocks with what the pool's resources need
// from a real provider: a region of two zones, and an RDS address.
type poolMocks struct{ *offline.Mocks }

func (m poolMocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	id, state, err := m.Mocks.NewResource(args)
	if args.TypeToken == tRDS {
		state["address"] = resource.NewStringProperty(args.Name + ".c0ffee.us-east-1.rds.amazonaws.com")
	}
	// The provider names what the program leaves unnamed.
	if _, ok := state["name"]; !ok && (args.TypeToken == tSubnetGroup || args.TypeToken == tParams) {
		state["name"] = resource.NewStringProperty(args.Name + "-1a2b3c")
	}
	return id, state, err
}

func twoZones() map[string]resource.PropertyMap {
	calls := maps.Clone(offline.DefaultCalls)
	// Out of order on purpose: the platform sorts.
	calls["aws:index/getAvailabilityZones:getAvailabilityZones"] = resource.PropertyMap{"names": resource.NewArrayProperty([]resource.PropertyValue{
		resource.NewStringProperty("us-east-1b"), resource.NewStringProperty("us-east-1a"),
	})}
	return calls
}

// poolLab is what the pool program saw resolve.
type poolLab struct {
	mu       sync.Mutex
	handles  map[string]map[string]string
	bucket   map[string]string // Name, Endpoint, Region, AccessKey, SecretKey
	db       map[string]string // Host, Password
	dbOut    *platform.Database
	secretOK map[string]bool // which outputs were secrets
}

// runPool runs the elastic pool's side of the program against the
// platform: a data bucket, a database for the gallery and the manager,
// a gallery machine with the bucket, a manager that controls the pool
// nodes and reads metrics, two pool nodes that write them, a plain
// machine, and rules (the gallery open to the world on 80, the manager
// to one block).
func runPool(t *testing.T, s Settings, withDB bool) (*offline.Mocks, *poolLab) {
	t.Helper()
	m := &offline.Mocks{Calls: twoZones()}
	l := &poolLab{handles: map[string]map[string]string{}, bucket: map[string]string{}, db: map[string]string{}, secretOK: map[string]bool{}}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		p, err := New(ctx, s)
		if err != nil {
			return err
		}
		b, err := p.DataBucket(ctx, "images", platform.BucketArgs{})
		if err != nil {
			return err
		}
		capture := func(dst map[string]string, key string, o pulumi.StringOutput) {
			ctx.Export(key, o.ApplyT(func(v string) string {
				l.mu.Lock()
				defer l.mu.Unlock()
				dst[key] = v
				return v
			}))
		}
		secret := func(key string, o pulumi.StringOutput) {
			ctx.Export(key+"-secret", pulumi.All(o).ApplyT(func([]any) int { return 0 }))
			l.mu.Lock()
			defer l.mu.Unlock()
			l.secretOK[key] = pulumi.IsSecret(o)
		}
		capture(l.bucket, "Name", b.Name)
		capture(l.bucket, "Endpoint", b.Endpoint)
		capture(l.bucket, "Region", b.Region)
		capture(l.bucket, "AccessKey", b.AccessKey)
		capture(l.bucket, "SecretKey", b.SecretKey)
		secret("SecretKey", b.SecretKey)
		if withDB {
			db, err := p.Database(ctx, "gallery-db", platform.DatabaseArgs{Name: "gallery", User: "gallery", Groups: []string{"gallery", "pool-manager"}})
			if err != nil {
				return err
			}
			l.dbOut = db
			capture(l.db, "Host", db.Host)
			capture(l.db, "Password", db.Password)
			secret("Password", db.Password)
		}
		plainRole := platform.ConstRole(role.Role{Name: "plain"})
		machines := []struct {
			name string
			args platform.MachineArgs
		}{
			{"gallery-1", platform.MachineArgs{Group: "gallery", Size: "small", Public: true, Role: plainRole, Buckets: []*platform.Bucket{b}}},
			{"manager", platform.MachineArgs{Group: "pool-manager", Size: "small", Role: plainRole, Controls: "pool-node", Metrics: "read"}},
			{"pool-node-1", platform.MachineArgs{Group: "pool-node", Size: "small", Role: plainRole, Metrics: "write"}},
			{"pool-node-2", platform.MachineArgs{Group: "pool-node", Size: "small", Role: plainRole, Metrics: "write"}},
			{"plain", platform.MachineArgs{Group: "plain", Size: "small", Role: plainRole}},
		}
		for _, mc := range machines {
			made, err := p.Machine(ctx, mc.name, mc.args)
			if err != nil {
				return err
			}
			name := mc.name
			ctx.Export(name+"-handle", made.Handle.ApplyT(func(h map[string]string) int {
				l.mu.Lock()
				defer l.mu.Unlock()
				l.handles[name] = h
				return len(h)
			}))
		}
		for _, r := range []struct {
			name string
			rule platform.Rule
		}{
			{"gallery-http", platform.Rule{To: "gallery", CIDRs: []string{"0.0.0.0/0"}, Ports: []platform.PortRange{platform.Port(80)}, Why: "users"}},
			{"manager-http", platform.Rule{To: "pool-manager", CIDRs: []string{"198.51.100.0/24"}, Ports: []platform.PortRange{platform.Port(8080)}, Why: "admins"}},
			{"pool-peers", platform.Rule{To: "pool-node", From: "pool-node", Ports: []platform.PortRange{platform.Port(11211)}, Why: "peers"}},
			{"pool-from-manager", platform.Rule{To: "pool-node", From: "pool-manager", Ports: []platform.PortRange{platform.Port(11212)}, Why: "manager"}},
		} {
			if err := p.Allow(ctx, r.name, r.rule); err != nil {
				return err
			}
		}
		return nil
	}, pulumi.WithMocks("cloudlabs", "test", poolMocks{m}))
	if err != nil {
		t.Fatalf("program: %v", err)
	}
	return m, l
}

// policy is an IAM policy document as the tests read it.
type policy struct {
	Statement []struct {
		Effect    string
		Action    []string
		Resource  []string
		Condition map[string]map[string]string
	}
}

func parsePolicy(t *testing.T, doc string) policy {
	t.Helper()
	var p policy
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		t.Fatalf("policy %q: %v", doc, err)
	}
	return p
}

// machinePolicies are a machine's inline policies, by resource name.
func machinePolicies(m *offline.Mocks, machine string) map[string]policy {
	out := map[string]policy{}
	for _, r := range m.OfType(tRolePolicy) {
		if strings.HasPrefix(r.Name, machine+"-") {
			var p policy
			_ = json.Unmarshal([]byte(r.Str("policy")), &p)
			out[r.Name] = p
		}
	}
	return out
}

// allowed is every (action, resource) a machine's policies allow, with
// the statement's condition rendered.
func allowed(t *testing.T, m *offline.Mocks, machine string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for name, p := range machinePolicies(m, machine) {
		for _, s := range p.Statement {
			if s.Effect != "Allow" {
				t.Errorf("%s: %s statement, want Allow only (nothing is denied by role policies here)", name, s.Effect)
				continue
			}
			for _, a := range s.Action {
				out[a] = append(out[a], s.Resource...)
			}
		}
	}
	return out
}

func TestPoolResourceCounts(t *testing.T) {
	m, _ := runPool(t, Settings{}, true)
	want := map[string]int{
		tRDS: 1, tSubnetGroup: 1, tParams: 1,
		// the machines' subnet and the two database subnets
		tSubnet: 3,
		// gallery, pool-manager, pool-node, plain, and the database's own
		tSG:     5,
		tBucket: 2, tPAB: 2, tSSE: 2, tOwnership: 2, tBucketPol: 2,
		// gallery: buckets; manager: controls, metrics; two nodes: metrics
		tRolePolicy: 5, tRole: 4, tInstance: 5,
	}
	for typ, n := range want {
		if got := len(m.OfType(typ)); got != n {
			t.Errorf("%s: got %d, want %d", short(typ), got, n)
		}
	}
}

func TestDataBucketIsPrivate(t *testing.T) {
	m, l := runPool(t, Settings{}, false)
	b := named(t, m, tBucket, "images")
	if !strings.HasPrefix(b.Str("bucketPrefix"), "cloudlabs-test-") {
		t.Errorf("bucket prefix %q, want the stack's", b.Str("bucketPrefix"))
	}
	var pab, sse, own, pol offline.Resource
	for _, x := range []struct {
		r   *offline.Resource
		typ string
	}{{&pab, tPAB}, {&sse, tSSE}, {&own, tOwnership}, {&pol, tBucketPol}} {
		n := 0
		for _, r := range m.OfType(x.typ) {
			if r.Str("bucket") == "images-id" {
				*x.r = r
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%s of the data bucket: %d, want 1", short(x.typ), n)
		}
	}
	for _, k := range []string{"blockPublicAcls", "ignorePublicAcls", "blockPublicPolicy", "restrictPublicBuckets"} {
		if !boolOf(pab.Inputs, k) {
			t.Errorf("public access block: %s is not true", k)
		}
	}
	rules := sse.Inputs["rules"].ArrayValue()
	if len(rules) != 1 {
		t.Fatalf("encryption rules: got %d, want 1", len(rules))
	}
	if alg := strOf(rules[0].ObjectValue()["applyServerSideEncryptionByDefault"].ObjectValue(), "sseAlgorithm"); alg != "AES256" && alg != "aws:kms" {
		t.Errorf("default encryption %q, want SSE-S3 or SSE-KMS", alg)
	}
	if got := strOf(obj(own, "rule"), "objectOwnership"); got != "BucketOwnerEnforced" {
		t.Errorf("object ownership %q, want BucketOwnerEnforced (ACLs off)", got)
	}
	doc := parsePolicy(t, pol.Str("policy"))
	if len(doc.Statement) == 0 {
		t.Fatal("bucket policy has no statement")
	}
	deniesHTTP := false
	for _, s := range doc.Statement {
		if s.Effect == "Allow" {
			t.Errorf("bucket policy allows %v: access is the machines' roles' alone", s.Action)
		}
		if s.Effect == "Deny" && s.Condition["Bool"]["aws:SecureTransport"] == "false" {
			deniesHTTP = true
		}
	}
	if !deniesHTTP {
		t.Errorf("bucket policy does not refuse plain HTTP: %s", pol.Str("policy"))
	}
	want := map[string]string{"Name": "images-mock", "Endpoint": "", "Region": "us-east-1", "AccessKey": "", "SecretKey": ""}
	if !maps.Equal(l.bucket, want) {
		t.Errorf("bucket outputs %v, want %v", l.bucket, want)
	}
	if !l.secretOK["SecretKey"] {
		t.Error("SecretKey is not a Pulumi secret")
	}
}

func TestDatabase(t *testing.T) {
	m, l := runPool(t, Settings{}, true)
	db := named(t, m, tRDS, "gallery-db")
	if db.Str("engine") != "postgres" {
		t.Errorf("engine %q, want postgres", db.Str("engine"))
	}
	if major, _, _ := strings.Cut(db.Str("engineVersion"), "."); major != "15" && major != "16" {
		t.Errorf("engine version %q, want a 15 or 16", db.Str("engineVersion"))
	}
	for k, want := range map[string]string{"instanceClass": "db.t4g.micro", "dbName": "gallery", "username": "gallery"} {
		if db.Str(k) != want {
			t.Errorf("%s %q, want %q", k, db.Str(k), want)
		}
	}
	for k, want := range map[string]bool{"storageEncrypted": true, "publiclyAccessible": false, "deletionProtection": false, "skipFinalSnapshot": true, "multiAz": false} {
		v, ok := db.Inputs[resource.PropertyKey(k)]
		if !ok || !v.IsBool() || v.BoolValue() != want {
			t.Errorf("%s: got %v, want %t", k, v, want)
		}
	}
	if pw := db.Inputs["password"]; !pw.IsSecret() || db.Str("password") == "" {
		t.Errorf("password %v: want a non-empty Pulumi secret", pw)
	}
	if db.Str("password") != l.db["Password"] || !l.secretOK["Password"] {
		t.Errorf("Database.Password is not the instance's password as a secret")
	}
	if got := strs(db, "vpcSecurityGroupIds"); !slices.Equal(got, []string{"gallery-db-pg-sg-id"}) {
		t.Errorf("security groups %v, want only the database's own", got)
	}
	if db.Str("dbSubnetGroupName") != "db-subnets-1a2b3c" {
		t.Errorf("DB subnet group %q, want the stack's (db-subnets)", db.Str("dbSubnetGroupName"))
	}
	params := named(t, m, tParams, strings.TrimSuffix(db.Str("parameterGroupName"), "-1a2b3c"))
	if major, _, _ := strings.Cut(db.Str("engineVersion"), "."); params.Str("family") != "postgres"+major {
		t.Errorf("parameter group family %q for engine version %q", params.Str("family"), db.Str("engineVersion"))
	}
	forced := false
	for _, prm := range params.Inputs["parameters"].ArrayValue() {
		o := prm.ObjectValue()
		if strOf(o, "name") == "rds.force_ssl" && strOf(o, "value") == "1" {
			forced = true
		}
	}
	if !forced {
		t.Error("rds.force_ssl is not 1: clients could connect without TLS")
	}
	if l.dbOut.Port != 5432 || l.dbOut.SSLMode != "require" || l.dbOut.Name != "gallery" || l.dbOut.User != "gallery" {
		t.Errorf("database %+v: want port 5432, sslmode require, name and user gallery", *l.dbOut)
	}
	if l.db["Host"] != "gallery-db.c0ffee.us-east-1.rds.amazonaws.com" {
		t.Errorf("host %q, want the instance's address", l.db["Host"])
	}
}

// TestDatabaseSubnetsInTwoZones: the subnet group spans two private
// subnets in two zones inside the VPC, apart from the machines' subnet,
// which is the same with or without a database (no machine moves).
func TestDatabaseSubnetsInTwoZones(t *testing.T) {
	m, _ := runPool(t, Settings{}, true)
	group := named(t, m, tSubnetGroup, "db-subnets")
	named(t, m, tRDS, "gallery-db") // exists
	ids := strs(group, "subnetIds")
	if len(ids) != 2 {
		t.Fatalf("subnet group has %d subnets, want 2", len(ids))
	}
	vpc := netip.MustParsePrefix(VPCCIDR)
	machines := netip.MustParsePrefix(SubnetCIDR)
	zones := map[string]bool{}
	var blocks []netip.Prefix
	for _, id := range ids {
		var sub offline.Resource
		for _, r := range m.OfType(tSubnet) {
			if r.Name+"-id" == id {
				sub = r
			}
		}
		if sub.Name == "" {
			t.Fatalf("subnet %s not found", id)
		}
		zones[sub.Str("availabilityZone")] = true
		pfx := netip.MustParsePrefix(sub.Str("cidrBlock"))
		if !vpc.Contains(pfx.Addr()) || pfx.Bits() < vpc.Bits() || pfx.Overlaps(machines) {
			t.Errorf("%s: %s is not a block of the VPC apart from the machines' subnet", sub.Name, pfx)
		}
		for _, b := range blocks {
			if b.Overlaps(pfx) {
				t.Errorf("database subnets overlap: %s, %s", b, pfx)
			}
		}
		blocks = append(blocks, pfx)
		if boolOf(sub.Inputs, "mapPublicIpOnLaunch") {
			t.Errorf("%s maps public addresses", sub.Name)
		}
		for _, a := range m.OfType(tRTA) {
			if a.Str("subnetId") == id {
				t.Errorf("%s is associated with route table %s: database subnets have no route out", sub.Name, a.Str("routeTableId"))
			}
		}
	}
	if len(zones) != 2 || zones[""] {
		t.Errorf("zones %v, want two distinct", zones)
	}
	db := named(t, m, tRDS, "gallery-db")
	if !zones[db.Str("availabilityZone")] {
		t.Errorf("database in zone %q, outside its subnets' zones %v", db.Str("availabilityZone"), zones)
	}

	without, _ := runPool(t, Settings{}, false)
	before, after := named(t, without, tSubnet, "public-subnet"), named(t, m, tSubnet, "public-subnet")
	if !before.Inputs.DeepEquals(after.Inputs) {
		t.Errorf("the machines' subnet changes with a database:\n%v\n%v", before.Inputs, after.Inputs)
	}
	for _, inst := range m.OfType(tInstance) {
		if inst.Str("subnetId") != "public-subnet-id" {
			t.Errorf("%s: in subnet %q, want the machines' subnet", inst.Name, inst.Str("subnetId"))
		}
	}
}

// TestDatabaseIngress: the database's security group admits TCP 5432
// from the client groups' security groups and from nothing else; no
// ingress rule anywhere opens 5432 to a CIDR block.
func TestDatabaseIngress(t *testing.T) {
	m, _ := runPool(t, Settings{SSHAllowCIDR: "192.0.2.0/24", SSHPublicKey: testKey}, true)
	var sources []string
	for _, r := range m.OfType(tIngress) {
		from, to := numOf(r.Inputs, "fromPort"), numOf(r.Inputs, "toPort")
		if r.Str("cidrIpv4") != "" && from <= 5432 && 5432 <= to {
			t.Errorf("%s opens %v-%v (5432) to %s", r.Name, from, to, r.Str("cidrIpv4"))
		}
		if r.Str("securityGroupId") != "gallery-db-pg-sg-id" {
			continue
		}
		if r.Str("ipProtocol") != "tcp" || from != 5432 || to != 5432 {
			t.Errorf("%s: %s %v-%v, want tcp 5432 only", r.Name, r.Str("ipProtocol"), from, to)
		}
		if r.Str("cidrIpv4") != "" || r.Str("cidrIpv6") != "" || r.Str("prefixListId") != "" {
			t.Errorf("%s: admits an address block", r.Name)
		}
		sources = append(sources, r.Str("referencedSecurityGroupId"))
	}
	sort.Strings(sources)
	if want := []string{"gallery-sg-id", "pool-manager-sg-id"}; !slices.Equal(sources, want) {
		t.Errorf("database admits %v, want %v", sources, want)
	}
	for _, r := range m.OfType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule") {
		if r.Str("securityGroupId") == "gallery-db-pg-sg-id" {
			t.Errorf("%s: the database has egress", r.Name)
		}
	}
}

// TestNoWorldIngressToThePool: no ingress rule opens the manager's or
// the nodes' security group to a block wider than /8, while the public
// gallery keeps its 0.0.0.0/0 (so the check has something to find).
func TestNoWorldIngressToThePool(t *testing.T) {
	m, _ := runPool(t, Settings{}, true)
	world := 0
	for _, r := range m.OfType(tIngress) {
		c := r.Str("cidrIpv4")
		if c == "" || netip.MustParsePrefix(c).Bits() >= platform.WidestPrivilegedBits {
			continue
		}
		world++
		if sg := r.Str("securityGroupId"); sg == "pool-manager-sg-id" || sg == "pool-node-sg-id" || sg == "gallery-db-pg-sg-id" {
			t.Errorf("%s opens %s to %s", r.Name, sg, c)
		}
	}
	if world != 1 {
		t.Errorf("%d world-open rules, want the gallery's one", world)
	}
}

// TestGrants: each machine may do exactly what its MachineArgs say.
func TestGrants(t *testing.T) {
	m, _ := runPool(t, Settings{Project: "lab", Stack: "pool"}, false)
	bucket := named(t, m, tBucket, "images")
	bucketARN := "arn:aws:mock:::" + bucket.Name // the mocks' ARN of the bucket
	t.Run("gallery: objects of its bucket", func(t *testing.T) {
		got := allowed(t, m, "gallery-1")
		want := map[string][]string{
			"s3:GetObject": {bucketARN + "/*"}, "s3:PutObject": {bucketARN + "/*"}, "s3:DeleteObject": {bucketARN + "/*"},
			"s3:ListBucket": {bucketARN},
		}
		if !maps.EqualFunc(got, want, slices.Equal) {
			t.Errorf("gallery may %v, want %v", got, want)
		}
		for name, p := range machinePolicies(m, "gallery-1") {
			for _, s := range p.Statement {
				if len(s.Condition) != 0 {
					t.Errorf("%s: unexpected condition %v", name, s.Condition)
				}
			}
		}
	})
	t.Run("manager: start and stop the pool's instances, describe, read metrics", func(t *testing.T) {
		got := allowed(t, m, "manager")
		instances := "arn:aws:ec2:us-east-1:123456789012:instance/*"
		want := map[string][]string{
			"ec2:StartInstances": {instances}, "ec2:StopInstances": {instances}, "ec2:DescribeInstances": {"*"},
			"cloudwatch:GetMetricData": {"*"}, "cloudwatch:ListMetrics": {"*"},
		}
		if !maps.EqualFunc(got, want, slices.Equal) {
			t.Errorf("manager may %v, want %v", got, want)
		}
		for _, p := range machinePolicies(m, "manager") {
			for _, s := range p.Statement {
				control := slices.Contains(s.Action, "ec2:StartInstances") || slices.Contains(s.Action, "ec2:StopInstances")
				if control != (len(s.Condition) > 0) {
					t.Errorf("statement %v has condition %v: want one exactly on start/stop", s.Action, s.Condition)
				}
			}
		}
	})
	t.Run("nodes: put metrics into the stack's namespace", func(t *testing.T) {
		for _, node := range []string{"pool-node-1", "pool-node-2"} {
			got := allowed(t, m, node)
			if want := map[string][]string{"cloudwatch:PutMetricData": {"*"}}; !maps.EqualFunc(got, want, slices.Equal) {
				t.Errorf("%s may %v, want %v", node, got, want)
			}
			for _, p := range machinePolicies(m, node) {
				for _, s := range p.Statement {
					want := map[string]map[string]string{"StringEquals": {"cloudwatch:namespace": cwstore.Namespace("pool")}}
					if !maps.EqualFunc(s.Condition, want, maps.Equal) {
						t.Errorf("%s: condition %v, want %v", node, s.Condition, want)
					}
				}
			}
		}
	})
	t.Run("plain: nothing", func(t *testing.T) {
		if got := allowed(t, m, "plain"); len(got) != 0 {
			t.Errorf("plain may %v", got)
		}
		if _, ok := m.Named(tRole, "plain-role"); ok {
			t.Error("plain has a role")
		}
	})
}

// TestControlConditionMatchesExactlyTheGroup: the manager's start/stop
// condition, evaluated against every instance's tags as IAM would,
// matches the pool's nodes and nothing else — and no other stack's node.
func TestControlConditionMatchesExactlyTheGroup(t *testing.T) {
	m, _ := runPool(t, Settings{}, false)
	var cond map[string]string
	for _, p := range machinePolicies(m, "manager") {
		for _, s := range p.Statement {
			if slices.Contains(s.Action, "ec2:StartInstances") {
				if len(s.Condition) != 1 || s.Condition["StringEquals"] == nil {
					t.Fatalf("condition %v: want StringEquals only", s.Condition)
				}
				cond = s.Condition["StringEquals"]
			}
		}
	}
	if len(cond) == 0 {
		t.Fatal("no start/stop condition")
	}
	matches := func(tags resource.PropertyMap) bool {
		for k, v := range cond {
			key, ok := strings.CutPrefix(k, "aws:ResourceTag/")
			if !ok || strOf(tags, key) != v {
				return false
			}
		}
		return true
	}
	var matched []string
	for _, inst := range m.OfType(tInstance) {
		if matches(obj(inst, "tags")) {
			matched = append(matched, inst.Name)
		}
	}
	sort.Strings(matched)
	if want := []string{"pool-node-1", "pool-node-2"}; !slices.Equal(matched, want) {
		t.Errorf("condition %v matches %v, want %v", cond, matched, want)
	}
	// The same program in another stack, or in another project's stack
	// of the same name, in the same account.
	for _, s := range []Settings{{Stack: "other"}, {Project: "other"}} {
		other, _ := runPool(t, s, false)
		for _, inst := range other.OfType(tInstance) {
			if matches(obj(inst, "tags")) {
				t.Errorf("condition matches %s of %s/%s", inst.Name, s.Project, s.Stack)
			}
		}
	}
}

func TestHandles(t *testing.T) {
	_, l := runPool(t, Settings{}, false)
	if len(l.handles) != 5 {
		t.Fatalf("got %d handles, want 5", len(l.handles))
	}
	for name, h := range l.handles {
		if want := map[string]string{"instance_id": name + "-id"}; !maps.Equal(h, want) {
			t.Errorf("%s: handle %v, want %v (the instance's id)", name, h, want)
		}
	}
}

// TestPrivilegedGroupsRefuseTheWorld: a group with a controller, a
// controlled group or a metrics machine cannot be opened to a block wider
// than /8, whichever comes first; an ordinary group can.
func TestPrivilegedGroupsRefuseTheWorld(t *testing.T) {
	r := platform.ConstRole(role.Role{Name: "x"})
	manager := platform.MachineArgs{Group: "mgr", Size: "small", Role: r, Controls: "nodes", Metrics: "read"}
	node := platform.MachineArgs{Group: "nodes", Size: "small", Role: r}
	open := func(group, cidr string) platform.Rule {
		return platform.Rule{To: group, CIDRs: []string{cidr}, Ports: []platform.PortRange{platform.Port(8080)}}
	}
	type step func(ctx *pulumi.Context, p *Platform) error
	mach := func(name string, a platform.MachineArgs) step {
		return func(ctx *pulumi.Context, p *Platform) error { _, err := p.Machine(ctx, name, a); return err }
	}
	allow := func(name string, rule platform.Rule) step {
		return func(ctx *pulumi.Context, p *Platform) error { return p.Allow(ctx, name, rule) }
	}
	for _, tc := range []struct {
		name  string
		s     Settings
		steps []step
		want  string // "" = accepted
	}{
		{"manager then world", Settings{}, []step{mach("m", manager), allow("w", open("mgr", "0.0.0.0/0"))}, "opens group mgr to 0.0.0.0/0"},
		{"world then manager", Settings{}, []step{allow("w", open("mgr", "0.0.0.0/0")), mach("m", manager)}, "group mgr is open to 0.0.0.0/0"},
		{"controlled group", Settings{}, []step{mach("m", manager), allow("w", open("nodes", "0.0.0.0/0"))}, "opens group nodes"},
		{"half the internet", Settings{}, []step{mach("m", manager), allow("w", open("mgr", "0.0.0.0/1"))}, "0.0.0.0/1"},
		{"metrics writer", Settings{}, []step{mach("n", platform.MachineArgs{Group: "nodes", Size: "small", Role: r, Metrics: "write"}), allow("w", open("nodes", "0.0.0.0/0"))}, "opens group nodes"},
		{"ssh from the world", Settings{SSHAllowCIDR: "0.0.0.0/0", SSHPublicKey: testKey}, []step{mach("m", manager)}, "SSH is open to 0.0.0.0/0"},
		{"a narrow block", Settings{}, []step{mach("m", manager), allow("w", open("mgr", "198.51.100.0/24"))}, ""},
		{"a /8", Settings{}, []step{mach("m", manager), allow("w", open("mgr", "10.0.0.0/8"))}, ""},
		{"an ordinary group", Settings{}, []step{mach("m", manager), mach("n", node), mach("web", platform.MachineArgs{Group: "web", Size: "small", Role: r}), allow("w", open("web", "0.0.0.0/0"))}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := offline.Run(func(ctx *pulumi.Context) error {
				p, err := New(ctx, tc.s)
				if err != nil {
					return err
				}
				for _, s := range tc.steps {
					if err := s(ctx, p); err != nil {
						return err
					}
				}
				return nil
			}, "cloudlabs", "test", nil)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestPoolArgsRefused(t *testing.T) {
	r := platform.ConstRole(role.Role{Name: "x"})
	for _, tc := range []struct {
		name string
		run  func(ctx *pulumi.Context, p *Platform) error
		want string
	}{
		{"metrics mode", func(ctx *pulumi.Context, p *Platform) error {
			_, err := p.Machine(ctx, "m", platform.MachineArgs{Group: "g", Size: "small", Role: r, Metrics: "admin"})
			return err
		}, `metrics "admin"`},
		{"foreign bucket", func(ctx *pulumi.Context, p *Platform) error {
			_, err := p.Machine(ctx, "m", platform.MachineArgs{Group: "g", Size: "small", Role: r, Buckets: []*platform.Bucket{{}}})
			return err
		}, "not made by this platform"},
		{"controls group name", func(ctx *pulumi.Context, p *Platform) error {
			_, err := p.Machine(ctx, "m", platform.MachineArgs{Group: "g", Size: "small", Role: r, Controls: "Pool Nodes"})
			return err
		}, `controls group "Pool Nodes"`},
		{"database name", func(ctx *pulumi.Context, p *Platform) error {
			_, err := p.Database(ctx, "db", platform.DatabaseArgs{Name: "Gallery-DB", User: "gallery", Groups: []string{"g"}})
			return err
		}, `name "Gallery-DB"`},
		{"database user", func(ctx *pulumi.Context, p *Platform) error {
			_, err := p.Database(ctx, "db", platform.DatabaseArgs{Name: "gallery", User: "rdsadmin", Groups: []string{"g"}})
			return err
		}, `user "rdsadmin"`},
		{"database without clients", func(ctx *pulumi.Context, p *Platform) error {
			_, err := p.Database(ctx, "db", platform.DatabaseArgs{Name: "gallery", User: "gallery"})
			return err
		}, "no client groups"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &offline.Mocks{Calls: twoZones()}
			err := pulumi.RunErr(func(ctx *pulumi.Context) error {
				p, err := New(ctx, Settings{})
				if err != nil {
					return err
				}
				return tc.run(ctx, p)
			}, pulumi.WithMocks("cloudlabs", "test", poolMocks{m}))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestDatabaseNeedsTwoZones: a region the provider reports with one zone
// is refused by name, not turned into a subnet group RDS would reject.
func TestDatabaseNeedsTwoZones(t *testing.T) {
	calls := maps.Clone(offline.DefaultCalls)
	calls["aws:index/getAvailabilityZones:getAvailabilityZones"] = resource.PropertyMap{"names": resource.NewArrayProperty([]resource.PropertyValue{
		resource.NewStringProperty("us-east-1a"),
	})}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		p, err := New(ctx, Settings{})
		if err != nil {
			return err
		}
		_, err = p.Database(ctx, "db", platform.DatabaseArgs{Name: "gallery", User: "gallery", Groups: []string{"g"}})
		return err
	}, pulumi.WithMocks("cloudlabs", "test", &offline.Mocks{Calls: calls}))
	if err == nil || !strings.Contains(err.Error(), "needs two") {
		t.Fatalf("got %v, want the single zone refused", err)
	}
}

// TestMetricsReadWrite: a reader that also publishes (the manager's
// publish service on AWS) may read and put into the stack's namespace,
// and nothing else.
func TestMetricsReadWrite(t *testing.T) {
	m, err := offline.Run(func(ctx *pulumi.Context) error {
		p, err := New(ctx, Settings{Stack: "pool"})
		if err != nil {
			return err
		}
		_, err = p.Machine(ctx, "manager", platform.MachineArgs{Group: "mgr", Size: "small", Role: platform.ConstRole(role.Role{Name: "m"}), Metrics: "readwrite"})
		return err
	}, "cloudlabs", "pool", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := allowed(t, m, "manager")
	want := map[string][]string{"cloudwatch:PutMetricData": {"*"}, "cloudwatch:GetMetricData": {"*"}, "cloudwatch:ListMetrics": {"*"}}
	if !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("manager may %v, want %v", got, want)
	}
	for _, p := range machinePolicies(m, "manager") {
		for _, s := range p.Statement {
			put := slices.Contains(s.Action, "cloudwatch:PutMetricData")
			if put && s.Condition["StringEquals"]["cloudwatch:namespace"] != cwstore.Namespace("pool") {
				t.Errorf("put without the namespace condition: %v", s.Condition)
			}
		}
	}
}
