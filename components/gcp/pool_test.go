package gcp_test

import (
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/gcp"
	"github.com/cloudlabs/cloudlabs/components/offline"
	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
)

const (
	tSQL        = "gcp:sql/databaseInstance:DatabaseInstance"
	tSQLDB      = "gcp:sql/database:Database"
	tSQLUser    = "gcp:sql/user:User"
	tGlobalAddr = "gcp:compute/globalAddress:GlobalAddress"
	tPeering    = "gcp:servicenetworking/connection:Connection"
	tHMAC       = "gcp:storage/hmacKey:HmacKey"
	tRole       = "gcp:projects/iAMCustomRole:IAMCustomRole"
	tInstIAM    = "gcp:compute/instanceIAMMember:InstanceIAMMember"

	mockAccessID = "GOOG1EMOCKACCESSID"
	mockHMAC     = "mock-hmac-secret"
	mockDBIP     = "10.42.16.3"
)

// poolMocks are the offline mocks with what a real provider computes for
// the pool's resources: names of what the program leaves unnamed, the
// database's private address, the HMAC key's id and secret.
type poolMocks struct{ *offline.Mocks }

func (m poolMocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	id, state, err := m.Mocks.NewResource(args)
	if _, ok := state["name"]; !ok && strings.HasPrefix(args.TypeToken, "gcp:") {
		state["name"] = resource.NewStringProperty(args.Name + "-1a2b3c")
	}
	switch args.TypeToken {
	case tSQL:
		state["privateIpAddress"] = resource.NewStringProperty(mockDBIP)
	case tHMAC:
		state["accessId"] = resource.NewStringProperty(mockAccessID)
		state["secret"] = resource.MakeSecret(resource.NewStringProperty(mockHMAC))
	case tRole:
		state["name"] = resource.NewStringProperty("projects/cloudlabs-test/roles/" + args.Inputs["roleId"].StringValue())
	}
	return id, state, err
}

// poolOut is what the pool program saw resolve.
type poolOut struct {
	mu      sync.Mutex
	handles map[string]map[string]string
	values  map[string]string
	secret  map[string]bool
	db      *platform.Database
}

// runPool runs the pool's side of the program: a data bucket whose key
// the gallery gets as a secret, a database for the gallery and the
// manager, a manager made between the two pool nodes (so bindings are
// made in both orders), a plain machine, and rules.
func runPool(t *testing.T, s gcp.Settings, extra func(ctx *pulumi.Context, p *gcp.Platform) error) (*offline.Mocks, *poolOut) {
	t.Helper()
	m := &offline.Mocks{}
	out := &poolOut{handles: map[string]map[string]string{}, values: map[string]string{}, secret: map[string]bool{}}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		p, err := gcp.New(ctx, s)
		if err != nil {
			return err
		}
		capture := func(key string, o pulumi.StringOutput) {
			out.mu.Lock()
			out.secret[key] = pulumi.IsSecret(o)
			out.mu.Unlock()
			ctx.Export(key, o.ApplyT(func(v string) string {
				out.mu.Lock()
				defer out.mu.Unlock()
				out.values[key] = v
				return v
			}))
		}
		b, err := p.DataBucket(ctx, "images", platform.BucketArgs{})
		if err != nil {
			return err
		}
		capture("bucket.Name", b.Name)
		capture("bucket.Endpoint", b.Endpoint)
		capture("bucket.Region", b.Region)
		capture("bucket.AccessKey", b.AccessKey)
		capture("bucket.SecretKey", b.SecretKey)
		db, err := p.Database(ctx, "gallery-db", platform.DatabaseArgs{Name: "gallery", User: "gallery", Groups: []string{"gallery", "pool-manager"}})
		if err != nil {
			return err
		}
		out.db = db
		capture("db.Host", db.Host)
		capture("db.Password", db.Password)
		plain := platform.ConstRole(role.Role{Name: "plain"})
		gallery := platform.ConstRole(role.Role{Name: "gallery", Secrets: []role.SecretFile{{Name: "images-key", Path: "/etc/cloudlabs/images.key", Mode: "0600"}}})
		for _, mc := range []struct {
			name string
			args platform.MachineArgs
		}{
			{"pool-node-1", platform.MachineArgs{Group: "pool-node", Size: "small", Role: plain, Metrics: "write"}},
			{"manager", platform.MachineArgs{Group: "pool-manager", Size: "small", Role: plain, Controls: "pool-node", Metrics: "read"}},
			{"pool-node-2", platform.MachineArgs{Group: "pool-node", Size: "small", Role: plain, Metrics: "write"}},
			{"gallery-1", platform.MachineArgs{Group: "gallery", Size: "small", Public: true, Role: gallery, Buckets: []*platform.Bucket{b},
				Secrets: map[string]pulumi.StringOutput{"images-key": b.SecretKey}}},
			{"plain", platform.MachineArgs{Group: "plain", Size: "small", Role: plain}},
		} {
			made, err := p.Machine(ctx, mc.name, mc.args)
			if err != nil {
				return err
			}
			name := mc.name
			ctx.Export(name+"-handle", made.Handle.ApplyT(func(h map[string]string) int {
				out.mu.Lock()
				defer out.mu.Unlock()
				out.handles[name] = h
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
		} {
			if err := p.Allow(ctx, r.name, r.rule); err != nil {
				return err
			}
		}
		if extra != nil {
			return extra(ctx, p)
		}
		return nil
	}, pulumi.WithMocks("cloudlabs", "gcp-test", poolMocks{m}))
	if err != nil {
		t.Fatalf("program: %v", err)
	}
	return m, out
}

// email is the mocks' email of a service account resource.
func email(name string) string { return name + "@cloudlabs-test.iam.gserviceaccount.com" }

func TestPoolResourceCountsGCP(t *testing.T) {
	m, _ := runPool(t, settings(), nil)
	want := map[string]int{
		tSQL: 1, tSQLDB: 1, tSQLUser: 1, tGlobalAddr: 1, tPeering: 1, tHMAC: 1, tRole: 1,
		// the manager controls two nodes
		tInstIAM: 2,
		// the artifact bucket and the data bucket
		tBucket: 2,
		// the stack's, the data bucket's, the manager's (controls), the gallery's (a secret)
		tAccount:  4,
		tInstance: 5,
	}
	for typ, n := range want {
		if got := len(m.OfType(typ)); got != n {
			t.Errorf("%s: got %d, want %d", typ, got, n)
		}
	}
}

func TestDataBucketGCP(t *testing.T) {
	m, out := runPool(t, settings(), nil)
	b := named(t, m, tBucket, "images")
	if v := input(b, "uniformBucketLevelAccess"); !v.IsBool() || !v.BoolValue() {
		t.Errorf("uniformBucketLevelAccess %v, want true", v)
	}
	if got := str(b, "publicAccessPrevention"); got != "enforced" {
		t.Errorf("publicAccessPrevention %q, want enforced", got)
	}
	bucketName := "images-mock" // the mocks' name of the bucket
	keyAccount := email("images-sa")
	// Exactly one grant on the data bucket: objectAdmin to the key's
	// account. No machine's account, and no public member.
	var onBucket []string
	for _, g := range m.OfType(tIAM) {
		if str(g, "bucket") == bucketName {
			onBucket = append(onBucket, str(g, "role")+" "+str(g, "member"))
		}
		if str(g, "member") == "serviceAccount:"+keyAccount && str(g, "bucket") != bucketName {
			t.Errorf("the key's account is granted %s on %s too", str(g, "role"), str(g, "bucket"))
		}
	}
	if want := []string{"roles/storage.objectAdmin serviceAccount:" + keyAccount}; !slices.Equal(onBucket, want) {
		t.Errorf("grants on the data bucket %v, want %v", onBucket, want)
	}
	key := named(t, m, tHMAC, "images-hmac")
	if got := str(key, "serviceAccountEmail"); got != keyAccount {
		t.Errorf("HMAC key of %q, want the bucket's own account %q", got, keyAccount)
	}
	want := map[string]string{
		"bucket.Name": bucketName, "bucket.Endpoint": "https://storage.googleapis.com", "bucket.Region": "auto",
		"bucket.AccessKey": mockAccessID, "bucket.SecretKey": mockHMAC,
	}
	for k, v := range want {
		if out.values[k] != v {
			t.Errorf("%s %q, want %q", k, out.values[k], v)
		}
	}
	if !out.secret["bucket.SecretKey"] {
		t.Error("SecretKey is not a Pulumi secret")
	}
}

func TestDatabaseGCP(t *testing.T) {
	m, out := runPool(t, settings(), nil)
	inst := named(t, m, tSQL, "gallery-db")
	if v := str(inst, "databaseVersion"); v != "POSTGRES_15" && v != "POSTGRES_16" {
		t.Errorf("databaseVersion %q, want PostgreSQL 15 or 16", v)
	}
	if got := str(inst, "settings", "tier"); got != "db-f1-micro" {
		t.Errorf("tier %q, want db-f1-micro", got)
	}
	if ed := str(inst, "settings", "edition"); ed == "ENTERPRISE_PLUS" {
		t.Errorf("edition %q: db-f1-micro is an Enterprise tier", ed)
	}
	if v := input(inst, "settings", "ipConfiguration", "ipv4Enabled"); !v.IsBool() || v.BoolValue() {
		t.Errorf("ipv4Enabled %v, want false: no public address", v)
	}
	if v := input(inst, "settings", "ipConfiguration", "authorizedNetworks"); v.IsArray() && len(v.ArrayValue()) > 0 {
		t.Errorf("authorized networks %v, want none", v)
	}
	if got := str(inst, "settings", "ipConfiguration", "privateNetwork"); got != "cloudlabs-net-id" {
		t.Errorf("private network %q, want the stack's", got)
	}
	if got := str(inst, "settings", "ipConfiguration", "sslMode"); got != "ENCRYPTED_ONLY" && got != "TRUSTED_CLIENT_CERTIFICATE_REQUIRED" {
		t.Errorf("sslMode %q, want TLS required", got)
	}
	if v := input(inst, "deletionProtection"); !v.IsBool() || v.BoolValue() {
		t.Errorf("deletionProtection %v, want false for a lab", v)
	}
	instName := "gallery-db-1a2b3c" // the mocks' name of the instance
	db := named(t, m, tSQLDB, "gallery-db-db")
	if str(db, "name") != "gallery" || str(db, "instance") != instName {
		t.Errorf("database %q on %q, want gallery on %s", str(db, "name"), str(db, "instance"), instName)
	}
	user := named(t, m, tSQLUser, "gallery-db-user")
	if str(user, "name") != "gallery" || str(user, "instance") != instName {
		t.Errorf("user %q on %q, want gallery on %s", str(user, "name"), str(user, "instance"), instName)
	}
	if pw := user.Inputs["password"]; !pw.IsSecret() || str(user, "password") == "" {
		t.Errorf("password %v, want a non-empty Pulumi secret", pw)
	}
	if out.values["db.Password"] != str(user, "password") || !out.secret["db.Password"] {
		t.Error("Database.Password is not the user's password as a secret")
	}
	if out.values["db.Host"] != mockDBIP || out.db.Port != 5432 || out.db.SSLMode != "require" || out.db.Name != "gallery" || out.db.User != "gallery" {
		t.Errorf("database host %q %+v: want the private address, 5432, require, gallery/gallery", out.values["db.Host"], *out.db)
	}
}

func TestPrivateServicesAccess(t *testing.T) {
	m, _ := runPool(t, settings(), nil)
	addr := named(t, m, tGlobalAddr, "db-range")
	if str(addr, "purpose") != "VPC_PEERING" || str(addr, "addressType") != "INTERNAL" || str(addr, "network") != "cloudlabs-net-id" {
		t.Errorf("range: purpose %q type %q network %q, want VPC_PEERING INTERNAL in the stack's network", str(addr, "purpose"), str(addr, "addressType"), str(addr, "network"))
	}
	rng := netip.PrefixFrom(netip.MustParseAddr(str(addr, "address")), int(input(addr, "prefixLength").NumberValue()))
	if rng.Overlaps(netip.MustParsePrefix(gcp.SubnetCIDR)) || rng.Bits() > 24 {
		t.Errorf("range %s overlaps the machines' subnet or is smaller than Cloud SQL's /24", rng)
	}
	conn := named(t, m, tPeering, "db-peering")
	if str(conn, "network") != "cloudlabs-net-id" || str(conn, "service") != "servicenetworking.googleapis.com" {
		t.Errorf("connection: network %q service %q", str(conn, "network"), str(conn, "service"))
	}
	if got := strs(conn, "reservedPeeringRanges"); !slices.Equal(got, []string{"db-range-1a2b3c"}) {
		t.Errorf("peering ranges %v, want the reserved range's name", got)
	}
	if !rng.Contains(netip.MustParseAddr(mockDBIP)) {
		t.Fatalf("test setup: the mock address %s is outside %s", mockDBIP, rng)
	}
}

// TestDatabaseReachableOnlyFromClients: every machine is denied the
// databases' range; the client groups alone are allowed, to the
// instance's address on 5432, at a higher priority. No ingress rule
// opens 5432 or the pool to the world.
func TestDatabaseReachableOnlyFromClients(t *testing.T) {
	m, _ := runPool(t, settings(), nil)
	db := netip.MustParseAddr(mockDBIP)
	denyPriority, allowPriority := -1.0, -1.0
	var allowed []string
	for _, f := range m.OfType(tFirewall) {
		dir := str(f, "direction")
		if dir == "INGRESS" {
			for _, src := range strs(f, "sourceRanges") {
				if netip.MustParsePrefix(src).Bits() >= platform.WidestPrivilegedBits {
					continue
				}
				for _, to := range strs(f, "targetTags") {
					if to == "pool-manager" || to == "pool-node" {
						t.Errorf("%s opens %s to %s", f.Name, to, src)
					}
				}
				for _, port := range strs(f, "allows", 0, "ports") {
					if port == "5432" {
						t.Errorf("%s opens 5432 to %s", f.Name, src)
					}
				}
			}
			continue
		}
		var covers bool
		for _, d := range strs(f, "destinationRanges") {
			if netip.MustParsePrefix(d).Contains(db) {
				covers = true
			}
		}
		if !covers {
			continue
		}
		switch {
		case input(f, "denies").IsArray() && len(input(f, "denies").ArrayValue()) > 0:
			if len(strs(f, "targetTags")) != 0 || str(f, "denies", 0, "protocol") != "all" {
				t.Errorf("%s: denies %v to %v, want everything to every machine", f.Name, str(f, "denies", 0, "protocol"), strs(f, "targetTags"))
			}
			denyPriority = input(f, "priority").NumberValue()
		default:
			if d := strs(f, "destinationRanges"); !slices.Equal(d, []string{mockDBIP + "/32"}) {
				t.Errorf("%s: allows to %v, want the database's address alone", f.Name, d)
			}
			if str(f, "allows", 0, "protocol") != "tcp" || !slices.Equal(strs(f, "allows", 0, "ports"), []string{"5432"}) || len(input(f, "allows").ArrayValue()) != 1 {
				t.Errorf("%s: allows %v, want tcp 5432 only", f.Name, input(f, "allows"))
			}
			allowed = append(allowed, strs(f, "targetTags")...)
			allowPriority = input(f, "priority").NumberValue()
		}
	}
	if denyPriority < 0 || allowPriority < 0 || allowPriority >= denyPriority {
		t.Errorf("priorities: allow %v, deny %v: want both, the allow first (lower)", allowPriority, denyPriority)
	}
	sort.Strings(allowed)
	if want := []string{"gallery", "pool-manager"}; !slices.Equal(allowed, want) {
		t.Errorf("the database's clients are %v, want %v", allowed, want)
	}
}

// TestControllers: the manager's own account holds the custom role (get,
// start, stop and nothing else) on each pool node, whichever was made
// first, and on nothing else; nobody holds a project-level grant.
func TestControllers(t *testing.T) {
	m, out := runPool(t, settings(), nil)
	roles := m.OfType(tRole)
	if len(roles) != 1 {
		t.Fatalf("%d custom roles, want 1", len(roles))
	}
	perms := strs(roles[0], "permissions")
	sort.Strings(perms)
	if want := []string{"compute.instances.get", "compute.instances.start", "compute.instances.stop"}; !slices.Equal(perms, want) {
		t.Errorf("permissions %v, want %v", perms, want)
	}
	roleName := "projects/cloudlabs-test/roles/" + str(roles[0], "roleId")
	manager := "serviceAccount:" + email("manager-sa")
	var bound []string
	for _, b := range m.OfType(tInstIAM) {
		if str(b, "role") != roleName || str(b, "member") != manager {
			t.Errorf("%s: %s to %s, want the controller role to the manager's account", b.Name, str(b, "role"), str(b, "member"))
		}
		if str(b, "zone") != "us-central1-a" {
			t.Errorf("%s: zone %q", b.Name, str(b, "zone"))
		}
		bound = append(bound, str(b, "instanceName"))
	}
	sort.Strings(bound)
	// The nodes' instance names, as their handles report them.
	nodes := []string{out.handles["pool-node-1"]["instance"], out.handles["pool-node-2"]["instance"]}
	sort.Strings(nodes)
	if !slices.Equal(bound, nodes) || nodes[0] == "" {
		t.Errorf("the manager may control %v, want the pool's nodes %v", bound, nodes)
	}
	for _, r := range m.Resources() {
		if strings.HasPrefix(r.Type, "gcp:projects/iAM") && r.Type != tRole {
			t.Errorf("project-level IAM: %s %s", r.Type, r.Name)
		}
	}
	inst := named(t, m, tInstance, "manager")
	if got := str(inst, "serviceAccount", "email"); got != email("manager-sa") {
		t.Errorf("manager runs as %q, want its own account", got)
	}
	for _, sc := range strs(inst, "serviceAccount", "scopes") {
		if sc != gcp.ReadOnlyScope && sc != gcp.ComputeScope {
			t.Errorf("manager scope %s, want the read-only storage and compute scopes only", sc)
		}
	}
	// Metrics are no-ops on GCP: the nodes keep the stack's shared
	// account and scope.
	for _, n := range []string{"pool-node-1", "pool-node-2"} {
		inst := named(t, m, tInstance, n)
		if got := str(inst, "serviceAccount", "email"); got != accountEmail {
			t.Errorf("%s runs as %q, want the stack's shared account", n, got)
		}
		if got := strs(inst, "serviceAccount", "scopes"); !slices.Equal(got, []string{gcp.ReadOnlyScope}) {
			t.Errorf("%s scopes %v", n, got)
		}
	}
}

// TestGalleryAccountHasNoBucketRole: the gallery reaches the bucket with
// the HMAC key only; its own account (it has one, for the key's secret)
// is granted nothing on any bucket but the artifacts' read.
func TestGalleryAccountHasNoBucketRole(t *testing.T) {
	m, _ := runPool(t, settings(), nil)
	member := "serviceAccount:" + email("gallery-1-sa")
	var grants []string
	for _, g := range m.OfType(tIAM) {
		if str(g, "member") == member {
			grants = append(grants, str(g, "role")+" on "+str(g, "bucket"))
		}
	}
	if want := []string{"roles/storage.objectViewer on cloudlabs-artifacts-mock"}; !slices.Equal(grants, want) {
		t.Errorf("gallery's account holds %v, want %v", grants, want)
	}
}

func TestHandlesGCP(t *testing.T) {
	_, out := runPool(t, settings(), nil)
	if len(out.handles) != 5 {
		t.Fatalf("%d handles, want 5", len(out.handles))
	}
	for name, h := range out.handles {
		if want := map[string]string{"instance": name + "-1a2b3c", "zone": "us-central1-a"}; !maps.Equal(h, want) {
			t.Errorf("%s: handle %v, want %v (the instance's name and zone)", name, h, want)
		}
	}
}

func TestPrivilegedGroupsRefuseTheWorldGCP(t *testing.T) {
	worldTo := func(group string) func(ctx *pulumi.Context, p *gcp.Platform) error {
		return func(ctx *pulumi.Context, p *gcp.Platform) error {
			return p.Allow(ctx, "world", platform.Rule{To: group, CIDRs: []string{"0.0.0.0/0"}, Ports: []platform.PortRange{platform.Port(8080)}})
		}
	}
	for _, group := range []string{"pool-manager", "pool-node"} {
		t.Run(group+" after its machines", func(t *testing.T) {
			_, err := offline.Run(func(ctx *pulumi.Context) error {
				p, err := gcp.New(ctx, settings())
				if err != nil {
					return err
				}
				if _, err := p.Machine(ctx, "manager", platform.MachineArgs{Group: "pool-manager", Size: "small", Role: platform.ConstRole(role.Role{Name: "m"}), Controls: "pool-node"}); err != nil {
					return err
				}
				return worldTo(group)(ctx, p)
			}, "cloudlabs", "gcp-test", nil)
			if err == nil || !strings.Contains(err.Error(), "opens group "+group+" to 0.0.0.0/0") {
				t.Fatalf("got %v, want the rule refused", err)
			}
		})
	}
	t.Run("before its machines", func(t *testing.T) {
		_, err := offline.Run(func(ctx *pulumi.Context) error {
			p, err := gcp.New(ctx, settings())
			if err != nil {
				return err
			}
			if err := worldTo("pool-node")(ctx, p); err != nil {
				return err
			}
			_, err = p.Machine(ctx, "node", platform.MachineArgs{Group: "pool-node", Size: "small", Role: platform.ConstRole(role.Role{Name: "m"}), Metrics: "write"})
			return err
		}, "cloudlabs", "gcp-test", nil)
		if err == nil || !strings.Contains(err.Error(), "group pool-node is open to 0.0.0.0/0") {
			t.Fatalf("got %v, want the machine refused", err)
		}
	})
	t.Run("ssh from the world", func(t *testing.T) {
		s := settings()
		s.SSHAllowCIDR, s.SSHPublicKey = "0.0.0.0/0", sshKey
		_, err := offline.Run(func(ctx *pulumi.Context) error {
			p, err := gcp.New(ctx, s)
			if err != nil {
				return err
			}
			_, err = p.Machine(ctx, "node", platform.MachineArgs{Group: "pool-node", Size: "small", Role: platform.ConstRole(role.Role{Name: "m"}), Metrics: "write"})
			return err
		}, "cloudlabs", "gcp-test", nil)
		if err == nil || !strings.Contains(err.Error(), "SSH is open to 0.0.0.0/0") {
			t.Fatalf("got %v, want the machine refused", err)
		}
	})
	t.Run("an ordinary group stays open", func(t *testing.T) {
		runPool(t, settings(), nil) // the gallery's 0.0.0.0/0 on 80 is accepted
	})
}

func TestPoolArgsRefusedGCP(t *testing.T) {
	r := platform.ConstRole(role.Role{Name: "x"})
	for _, tc := range []struct {
		name string
		run  func(ctx *pulumi.Context, p *gcp.Platform) error
		want string
	}{
		{"metrics mode", func(ctx *pulumi.Context, p *gcp.Platform) error {
			_, err := p.Machine(ctx, "m", platform.MachineArgs{Group: "g", Size: "small", Role: r, Metrics: "admin"})
			return err
		}, `metrics "admin"`},
		{"foreign bucket", func(ctx *pulumi.Context, p *gcp.Platform) error {
			_, err := p.Machine(ctx, "m", platform.MachineArgs{Group: "g", Size: "small", Role: r, Buckets: []*platform.Bucket{{}}})
			return err
		}, "not made by this platform"},
		{"controls group name", func(ctx *pulumi.Context, p *gcp.Platform) error {
			_, err := p.Machine(ctx, "m", platform.MachineArgs{Group: "g", Size: "small", Role: r, Controls: "Pool Nodes"})
			return err
		}, `group "Pool Nodes"`},
		{"database user", func(ctx *pulumi.Context, p *gcp.Platform) error {
			_, err := p.Database(ctx, "db", platform.DatabaseArgs{Name: "gallery", User: "postgres", Groups: []string{"g"}})
			return err
		}, `user "postgres"`},
		{"database name", func(ctx *pulumi.Context, p *gcp.Platform) error {
			_, err := p.Database(ctx, "db", platform.DatabaseArgs{Name: "1st", User: "gallery", Groups: []string{"g"}})
			return err
		}, `name "1st"`},
		{"database without clients", func(ctx *pulumi.Context, p *gcp.Platform) error {
			_, err := p.Database(ctx, "db", platform.DatabaseArgs{Name: "gallery", User: "gallery"})
			return err
		}, "no client groups"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := offline.Run(func(ctx *pulumi.Context) error {
				p, err := gcp.New(ctx, settings())
				if err != nil {
					return err
				}
				return tc.run(ctx, p)
			}, "cloudlabs", "gcp-test", nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
