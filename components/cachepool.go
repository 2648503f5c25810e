package components

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/pool/metrics/promstore"
)

// Policies the cache nodes can evict by.
var Policies = []string{"lru", "random", "lfu"}

// CachePoolArgs configures the elastic cache pool.
type CachePoolArgs struct {
	// Slots is the pool's capacity: a machine each, 1..8 (cachepool:maxNodes).
	Slots int
	// Nodes is the active size at the manager's first start only
	// (cachepool:nodes); from then on the manager owns it.
	Nodes      int
	CapacityMB int    // per node, at the first start
	Policy     string // "lru", "random" or "lfu", at the first start
	Node       Binary // apps/cachenode
	Manager    Binary // apps/manager
	// AllowCIDR, when set, may reach the nodes' memcached and admin ports
	// from outside the pool; "" keeps them reachable from the pool only.
	AllowCIDR string
	// ManagerAllowCIDR, when set, may reach the manager's dashboard and
	// API; "" keeps them reachable from inside the stack's network only.
	ManagerAllowCIDR string
	// Region is the AWS region (the manager's EC2 and CloudWatch calls);
	// Project and Zone the GCP project and zone of the slots.
	Region, Project, Zone string
	// Stack names the CloudWatch namespace on AWS.
	Stack string
}

// CachePool is the elastic cache pool: every slot a machine running
// cachenode, a manager machine that owns which slots are active (with its
// autoscaler, and on the twin and GCP the Prometheus the nodes are scraped
// into), and the PostgreSQL database the manager keeps that state in.
type CachePool struct {
	pulumi.ResourceState

	// Slots are every slot's memcached host:port, in ring order.
	Slots pulumi.StringArrayOutput `pulumi:"slots"`
	// Endpoints are the active members at the manager's first start (the
	// first Nodes slots); the live membership is the manager's GET /api/pool.
	Endpoints pulumi.StringArrayOutput `pulumi:"endpoints"`
	// Admin are the slots' admin base URLs (GET /stats, PUT /config).
	Admin pulumi.StringArrayOutput `pulumi:"admin"`
	// AdminToken is the bearer token of the nodes' admin writes (PUT
	// /config), one per pool, a Pulumi secret.
	AdminToken pulumi.StringOutput `pulumi:"adminToken"`
	// ManagerURL is the manager's dashboard and API; ManagerToken its
	// bearer and sign-in token, a Pulumi secret.
	ManagerURL   pulumi.StringOutput `pulumi:"managerUrl"`
	ManagerToken pulumi.StringOutput `pulumi:"managerToken"`

	Nodes      []*platform.Machine
	ManagerVM  *platform.Machine
	Database   *platform.Database
	NodeGroup  string // the firewall group of the slots
	AdminGroup string // the firewall group of the manager
}

// Firewall groups of the pool's machines; the gallery joins the pool's
// clients by its own group.
const (
	poolNodeGroup    = "-node"
	poolManagerGroup = "-manager"
)

// NewCachePool creates the slots, the manager and the database, and the
// rules that let them (and AllowCIDR, ManagerAllowCIDR) reach each other.
// clients are the firewall groups of other machines that read and write
// the pool and the database (the gallery).
func NewCachePool(ctx *pulumi.Context, name string, p platform.Platform, args *CachePoolArgs, clients []string, opts ...pulumi.ResourceOption) (*CachePool, error) {
	switch {
	case args == nil || args.Slots < 1 || args.Slots > 8:
		return nil, fmt.Errorf("cache pool %s: slots must be from 1 to 8", name)
	case args.Nodes < 1 || args.Nodes > args.Slots:
		return nil, fmt.Errorf("cache pool %s: nodes must be from 1 to the %d slots", name, args.Slots)
	case !slices.Contains(Policies, args.Policy):
		return nil, fmt.Errorf("cache pool %s: policy %q is not one of %v", name, args.Policy, Policies)
	case args.CapacityMB < 1:
		return nil, fmt.Errorf("cache pool %s: capacity must be at least 1 MB", name)
	}
	c := &CachePool{NodeGroup: name + poolNodeGroup, AdminGroup: name + poolManagerGroup}
	if err := ctx.RegisterComponentResource("cloudlabs:cachepool:Pool", name, c, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(c)
	fail := func(err error) (*CachePool, error) { return nil, fmt.Errorf("cache pool %s: %w", name, err) }

	token, err := p.RandomSecret(ctx, name+"-admin-token", 40, child)
	if err != nil {
		return fail(err)
	}
	c.AdminToken = token
	// The token reaches the nodes through the platform's secret store,
	// never through their role.
	tokenSecret := name + "-admin-token"

	var slots, endpoints, admin pulumi.StringArray
	var slotFields []pulumi.Output
	var nodeServices []role.Service
	for i := 1; i <= args.Slots; i++ {
		mname := fmt.Sprintf("%s-node-%d", name, i)
		l := p.Layout(mname)
		r := args.Node.URL.ApplyT(func(url string) (role.Role, error) {
			return CacheNodeRole(l, url, args.Node.SHA256, args.CapacityMB, args.Policy, tokenSecret), nil
		})
		nodeServices = append(nodeServices, CacheNodeRole(l, "", args.Node.SHA256, args.CapacityMB, args.Policy, tokenSecret).Services[0])
		m, err := p.Machine(ctx, mname, platform.MachineArgs{Group: c.NodeGroup, Size: "small", Role: platform.RoleOf(r),
			Secrets: map[string]pulumi.StringOutput{tokenSecret: token}}, child)
		if err != nil {
			return fail(err)
		}
		c.Nodes = append(c.Nodes, m)
		addr := pulumi.Sprintf("%s:%d", m.PrivateIP, l.Port(CachePort))
		adm := pulumi.Sprintf("%s:%d", m.PrivateIP, l.Port(CacheAdmin))
		slots = append(slots, addr)
		if i <= args.Nodes {
			endpoints = append(endpoints, addr)
		}
		admin = append(admin, pulumi.Sprintf("http://%s", adm))
		slotFields = append(slotFields, pulumi.All(addr, adm, m.Handle).ApplyT(func(v []any) map[string]any {
			s := map[string]any{"name": mname, "addr": v[0], "admin": v[1]}
			for k, x := range v[2].(map[string]string) {
				s[k] = x
			}
			return s
		}))
	}
	c.Slots, c.Endpoints, c.Admin = slots.ToStringArrayOutput(), endpoints.ToStringArrayOutput(), admin.ToStringArrayOutput()

	db, err := p.Database(ctx, name+"-db", platform.DatabaseArgs{Name: "cloudlabs", User: "cloudlabs",
		Groups: append([]string{c.AdminGroup}, clients...)}, child)
	if err != nil {
		return fail(err)
	}
	c.Database = db

	managerToken, err := p.RandomSecret(ctx, name+"-manager-token", 40, child)
	if err != nil {
		return fail(err)
	}
	c.ManagerToken = managerToken
	mname := name + "-manager"
	ml := p.Layout(mname)
	envSecret := name + "-manager-env"
	mr := ManagerArgs{Platform: p.Name(), Slots: args.Slots, Nodes: args.Nodes, CapacityMB: args.CapacityMB, Policy: args.Policy,
		Database: db, Region: args.Region, Project: args.Project, Zone: args.Zone, Stack: args.Stack,
		TokenSecret: name + "-manager-token", NodeTokenSecret: tokenSecret, EnvSecret: envSecret,
		Gallery: slices.Contains(clients, GalleryGroup)}
	managerRole := pulumi.All(args.Manager.URL, db.Host, pulumi.All(toAny(slotFields)...)).ApplyT(func(v []any) (role.Role, error) {
		list := v[2].([]any)
		for i, s := range list {
			if ml.Local { // the twin's node group starts the very service the provider runs
				s.(map[string]any)["service"] = nodeServices[i]
			}
		}
		slotsJSON, err := json.MarshalIndent(list, "", "  ")
		if err != nil {
			return role.Role{}, err
		}
		return ManagerRole(ml, v[0].(string), args.Manager.SHA256, v[1].(string), string(slotsJSON), mr)
	})
	mgr, err := p.Machine(ctx, mname, platform.MachineArgs{
		Group: c.AdminGroup, Size: "small", Role: platform.RoleOf(managerRole),
		Secrets: map[string]pulumi.StringOutput{
			mr.TokenSecret: managerToken, tokenSecret: token,
			envSecret: pulumi.Sprintf("PGPASSWORD=%s\n", db.Password),
		},
		Controls: c.NodeGroup, Metrics: managerMetrics(p.Name()),
		Public: args.ManagerAllowCIDR != "",
	}, child, pulumi.DependsOn(nodeResources(c.Nodes)))
	if err != nil {
		return fail(err)
	}
	c.ManagerVM = mgr
	host := mgr.PrivateIP
	if args.ManagerAllowCIDR != "" {
		host = mgr.PublicIP
	}
	c.ManagerURL = pulumi.Sprintf("http://%s:%d", host, ml.Port(ManagerPort))

	ports := []platform.PortRange{platform.Port(CachePort), platform.Port(CacheAdmin)}
	type namedRule struct {
		name string
		rule platform.Rule
	}
	rules := []namedRule{
		{"peers", platform.Rule{To: c.NodeGroup, From: c.NodeGroup, Ports: ports, Why: "cache nodes inside the pool"}},
		{"manager-nodes", platform.Rule{To: c.NodeGroup, From: c.AdminGroup, Ports: ports, Why: "the manager probes, configures and scrapes the nodes"}},
	}
	for _, g := range clients {
		rules = append(rules,
			namedRule{g + "-nodes", platform.Rule{To: c.NodeGroup, From: g, Ports: []platform.PortRange{platform.Port(CachePort)}, Why: g + " reads and fills the pool"}},
			namedRule{g + "-manager", platform.Rule{To: c.AdminGroup, From: g, Ports: []platform.PortRange{platform.Port(ManagerPort)}, Why: g + " follows the pool's membership"}})
	}
	if args.AllowCIDR != "" {
		rules = append(rules, namedRule{"clients", platform.Rule{To: c.NodeGroup, CIDRs: []string{args.AllowCIDR}, Ports: ports, Why: "cache clients named by cachepool:allowCidr"}})
	}
	if args.ManagerAllowCIDR != "" {
		rules = append(rules, namedRule{"operators", platform.Rule{To: c.AdminGroup, CIDRs: []string{args.ManagerAllowCIDR}, Ports: []platform.PortRange{platform.Port(ManagerPort)}, Why: "operators named by manager:allowCidr"}})
	}
	for _, r := range rules {
		if err := p.Allow(ctx, name+"-"+r.name, r.rule, child); err != nil {
			return fail(err)
		}
	}
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"slots": c.Slots, "endpoints": c.Endpoints, "admin": c.Admin, "adminToken": c.AdminToken,
		"managerUrl": c.ManagerURL, "managerToken": c.ManagerToken,
	})
}

// managerMetrics is what the manager's machine does with the stack's
// metrics: on AWS it also sends the slots' statistics (manager publish),
// so the nodes themselves need no cloud permission.
func managerMetrics(platform string) string {
	if platform == "aws" {
		return "readwrite"
	}
	return "read"
}

func toAny(os []pulumi.Output) []any {
	out := make([]any, len(os))
	for i, o := range os {
		out[i] = o
	}
	return out
}

func nodeResources(ms []*platform.Machine) []pulumi.Resource {
	rs := make([]pulumi.Resource, len(ms))
	for i, m := range ms {
		rs[i] = m.Resource
	}
	return rs
}

// ManagerArgs are what the manager's role needs beyond its binary and
// the values known once machines exist.
type ManagerArgs struct {
	Platform              string // "aws", "gcp" or "local"
	Slots, Nodes          int
	CapacityMB            int
	Policy                string
	Database              *platform.Database
	Region, Project, Zone string
	Stack                 string
	// Secret names: the manager's token, the nodes' admin token and the
	// environment file holding the database password.
	TokenSecret, NodeTokenSecret, EnvSecret string
	// Gallery says a gallery shares the database: the manager's "delete
	// all data" then asks it to delete its images.
	Gallery bool
}

// Where the manager keeps its files.
const (
	managerDir         = "/etc/cloudlabs/manager/"
	managerState       = "/var/lib/cloudlabs/manager/"
	prometheusState    = "/var/lib/cloudlabs/prometheus"
	ManagerPort        = 8090
	PrometheusPort     = 9090
	managerTokenPath   = managerDir + "token"
	managerNodeToken   = managerDir + "cachenode-admin-token"
	managerEnvPath     = managerDir + "env"
	managerSlotsPath   = managerDir + "slots.json"
	prometheusConfPath = managerDir + "prometheus.yml"
)

// ManagerRole is the pool manager's machine: the manager web app, its
// autoscaler as a service of its own, and (where the nodes' metrics are
// scraped rather than pushed: the twin, GCP) Prometheus. dbHost is the
// database's address; slotsJSON the slots file the node group reads.
func ManagerRole(l platform.Layout, url, sha, dbHost, slotsJSON string, a ManagerArgs) (role.Role, error) {
	o := owner(l)
	dbURL := fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=%s", a.Database.User, dbHost, a.Database.Port, a.Database.Name, a.Database.SSLMode)
	common := []string{
		"--db", dbURL,
		"--slots-file", l.Path(managerSlotsPath),
		"--cachenode-token-file", l.Path(managerNodeToken),
		"--max-nodes", strconv.Itoa(a.Slots),
	}
	r := role.Role{
		Name:      "manager",
		Downloads: []role.Download{download(l, "manager", url, sha)},
		Files: []role.File{
			{Path: l.Path(managerSlotsPath), Content: slotsJSON, Mode: "0644"},
			{Path: l.Path(managerState + ".keep"), Content: "", Mode: "0644", Owner: o},
		},
		Secrets: []role.SecretFile{
			{Name: a.TokenSecret, Path: l.Path(managerTokenPath), Mode: "0600", Owner: o},
			{Name: a.NodeTokenSecret, Path: l.Path(managerNodeToken), Mode: "0600", Owner: o},
			{Name: a.EnvSecret, Path: l.Path(managerEnvPath), Mode: "0600", Owner: o},
		},
	}
	switch a.Platform {
	case "aws":
		common = append(common, "--nodegroup", "ec2", "--aws-region", a.Region, "--cloudwatch-namespace", CloudWatchNamespace(a.Stack))
	case "gcp":
		common = append(common, "--nodegroup", "gce", "--gce-project", a.Project, "--gce-zone", a.Zone)
	default:
		common = append(common, "--nodegroup", "twin")
	}
	if a.Platform != "aws" {
		conf, err := PrometheusConfig(l.Path(ManagerTargetsPath))
		if err != nil {
			return role.Role{}, err
		}
		r.Files = append(r.Files,
			role.File{Path: l.Path(prometheusConfPath), Content: conf, Mode: "0644"},
			role.File{Path: l.Path(prometheusState + "/.keep"), Content: "", Mode: "0644", Owner: o})
		r.Packages = append(r.Packages, "prometheus")
		// The distribution's own Prometheus would scrape nothing of ours.
		r.Setup = append(r.Setup, "systemctl disable --now prometheus")
		r.Services = append(r.Services, role.Service{
			Name: "prometheus", Exec: "/usr/bin/prometheus",
			Args: []string{
				"--config.file=" + l.Path(prometheusConfPath),
				"--storage.tsdb.path=" + l.Path(prometheusState),
				"--storage.tsdb.retention.time=2d",
				"--web.listen-address=" + hostPort(managerLocal(l), PrometheusPort),
			},
			Port: PrometheusPort, Health: "/-/ready",
		})
		common = append(common, "--prometheus", "http://"+hostPort(managerLocal(l), PrometheusPort))
	}
	web := append(slices.Clone(common),
		"--listen", hostPort(l.Bind, l.Port(ManagerPort)),
		"--token-file", l.Path(managerTokenPath),
		"--initial-nodes", strconv.Itoa(a.Nodes),
		"--node-capacity", strconv.Itoa(a.CapacityMB)+"MB",
		"--node-policy", a.Policy,
		"--targets-file", l.Path(ManagerTargetsPath),
	)
	if a.Gallery {
		web = append(web, "--gallery")
	}
	r.Services = append(r.Services,
		role.Service{Name: "manager", Exec: l.Path(binDir + "manager"), Args: web, EnvFile: l.Path(managerEnvPath),
			Port: l.Port(ManagerPort), Health: "/healthz"},
		role.Service{Name: "manager-autoscale", Exec: l.Path(binDir + "manager"), Args: append([]string{"autoscale"}, common...),
			EnvFile: l.Path(managerEnvPath)},
	)
	if a.Platform == "aws" {
		r.Services = append(r.Services, role.Service{Name: "manager-publish", Exec: l.Path(binDir + "manager"),
			Args: append([]string{"publish"}, common...), EnvFile: l.Path(managerEnvPath)})
	}
	return r, nil
}

// managerLocal is where the manager's machine-local services (Prometheus)
// listen: loopback on a cloud machine, the host's own address on the twin.
func managerLocal(l platform.Layout) string {
	if l.Local {
		return l.Bind
	}
	return "127.0.0.1"
}

// ManagerTargetsPath is the file the manager rewrites with the pool's
// members on every change (Prometheus file_sd: node label = slot name).
const ManagerTargetsPath = managerState + "targets.json"

// CloudWatchNamespace is where a stack's pool metrics go on AWS (as
// internal/pool/metrics/cwstore.Namespace names it).
func CloudWatchNamespace(stack string) string { return "Cloudlabs/" + stack }

// PrometheusConfig is the manager machine's prometheus.yml: every member
// listed in targetsFile (the manager rewrites it on each membership
// change) scraped every 5 s.
func PrometheusConfig(targetsFile string) (string, error) {
	b, err := promstore.RenderConfig(promstore.ConfigArgs{TargetsFile: targetsFile})
	return string(b), err
}
