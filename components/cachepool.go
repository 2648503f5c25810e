package components

import (
	"fmt"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
)

// Policies the cache nodes can evict by.
var Policies = []string{"lru", "random"}

// CachePoolArgs configures a cache pool.
type CachePoolArgs struct {
	Nodes      int    // 1..8
	CapacityMB int    // per node
	Policy     string // "lru" or "random"
	Binary     Binary // apps/cachenode
	// AllowCIDR, when set, may reach the nodes' memcached and admin ports
	// from outside the pool; "" keeps them reachable from the pool only.
	AllowCIDR string
}

// CachePool is 1..8 cache nodes speaking the memcached protocol.
type CachePool struct {
	pulumi.ResourceState

	// Endpoints are the nodes' memcached host:port, in node order.
	Endpoints pulumi.StringArrayOutput `pulumi:"endpoints"`
	// Admin are the nodes' admin base URLs (GET /stats, PUT /config).
	Admin pulumi.StringArrayOutput `pulumi:"admin"`
	// AdminToken is the bearer token of the nodes' admin writes (PUT
	// /config), one per pool, a Pulumi secret.
	AdminToken pulumi.StringOutput `pulumi:"adminToken"`
	Nodes      []*platform.Machine
}

// NewCachePool creates the nodes and the rules that let them (and
// AllowCIDR) reach each other.
func NewCachePool(ctx *pulumi.Context, name string, p platform.Platform, args *CachePoolArgs, opts ...pulumi.ResourceOption) (*CachePool, error) {
	switch {
	case args == nil || args.Nodes < 1 || args.Nodes > 8:
		return nil, fmt.Errorf("cache pool %s: nodes must be from 1 to 8", name)
	case !slices.Contains(Policies, args.Policy):
		return nil, fmt.Errorf("cache pool %s: policy %q is not one of %v", name, args.Policy, Policies)
	case args.CapacityMB < 1:
		return nil, fmt.Errorf("cache pool %s: capacity must be at least 1 MB", name)
	}
	c := &CachePool{}
	if err := ctx.RegisterComponentResource("cloudlabs:cachepool:Pool", name, c, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(c)
	token, err := p.RandomSecret(ctx, name+"-admin-token", 40, child)
	if err != nil {
		return nil, fmt.Errorf("cache pool %s: admin token: %w", name, err)
	}
	c.AdminToken = token
	// The token reaches the nodes through the platform's secret store,
	// never through their role.
	tokenSecret := name + "-admin-token"
	secrets := map[string]pulumi.StringOutput{tokenSecret: c.AdminToken}
	group := name + "-node"
	var endpoints, admin pulumi.StringArray
	for i := 1; i <= args.Nodes; i++ {
		mname := fmt.Sprintf("%s-node-%d", name, i)
		l := p.Layout(mname)
		r := args.Binary.URL.ApplyT(func(url string) (role.Role, error) {
			return CacheNodeRole(l, url, args.Binary.SHA256, args.CapacityMB, args.Policy, tokenSecret), nil
		})
		m, err := p.Machine(ctx, mname, platform.MachineArgs{Group: group, Size: "small", Role: platform.RoleOf(r), Secrets: secrets}, child)
		if err != nil {
			return nil, fmt.Errorf("cache pool %s: %w", name, err)
		}
		c.Nodes = append(c.Nodes, m)
		endpoints = append(endpoints, pulumi.Sprintf("%s:%d", m.PrivateIP, l.Port(CachePort)))
		admin = append(admin, pulumi.Sprintf("http://%s:%d", m.PrivateIP, l.Port(CacheAdmin)))
	}
	c.Endpoints, c.Admin = endpoints.ToStringArrayOutput(), admin.ToStringArrayOutput()

	ports := []platform.PortRange{platform.Port(CachePort), platform.Port(CacheAdmin)}
	if err := p.Allow(ctx, name+"-peers", platform.Rule{To: group, From: group, Ports: ports,
		Why: "cache nodes and their clients inside the pool"}, child); err != nil {
		return nil, fmt.Errorf("cache pool %s: %w", name, err)
	}
	if args.AllowCIDR != "" {
		if err := p.Allow(ctx, name+"-clients", platform.Rule{To: group, CIDRs: []string{args.AllowCIDR}, Ports: ports,
			Why: "cache clients named by cachepool:allowCidr"}, child); err != nil {
			return nil, fmt.Errorf("cache pool %s: %w", name, err)
		}
	}
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"endpoints": c.Endpoints, "admin": c.Admin, "adminToken": c.AdminToken})
}
