package components

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
)

// PhonebookArgs configures the phone book.
type PhonebookArgs struct {
	// RiakNodes is the size of the Riak cluster; 0 runs the app on its
	// embedded store instead (the local twin, where Riak is not installed).
	RiakNodes   int
	RiakPackage RiakPackage
	RiakCookie  pulumi.StringInput // nil: a random secret
	Binary      Binary             // apps/phonebook
	CacheTTL    time.Duration
	// HTTPAllowCIDR may reach the app on port 80.
	HTTPAllowCIDR string
}

// Phonebook is the contacts web app with memcached beside it, on a Riak
// cluster or on its embedded store.
type Phonebook struct {
	pulumi.ResourceState

	// URL is the app's base URL; the form is at URL + "/add/".
	URL pulumi.StringOutput `pulumi:"url"`
	// Store says where contacts live: a riak-pbc:// URL or "embedded (bbolt)".
	Store pulumi.StringOutput `pulumi:"store"`
	App   *platform.Machine
	Riak  *RiakCluster // nil on the embedded store
}

// NewPhonebook creates the Riak cluster (when asked for), the app machine
// and the rules that let users reach the app and the app reach Riak.
func NewPhonebook(ctx *pulumi.Context, name string, p platform.Platform, args *PhonebookArgs, opts ...pulumi.ResourceOption) (*Phonebook, error) {
	if args == nil || args.RiakNodes < 0 || args.RiakNodes > 7 {
		return nil, fmt.Errorf("phone book %s: riak nodes must be from 1 to 7 (0 for the embedded store)", name)
	}
	if args.CacheTTL < time.Second {
		return nil, fmt.Errorf("phone book %s: the cache TTL must be at least 1s", name)
	}
	pb := &Phonebook{}
	if err := ctx.RegisterComponentResource("cloudlabs:phonebook:Phonebook", name, pb, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(pb)
	appName, appGroup := name+"-app", name+"-app"
	l := p.Layout(appName)

	store := pulumi.String(BoltStore(l)).ToStringOutput()
	pb.Store = pulumi.String("embedded (bbolt)").ToStringOutput()
	var deps []pulumi.Resource
	if args.RiakNodes > 0 {
		var err error
		pb.Riak, err = NewRiakCluster(ctx, name+"-riak", p, &RiakClusterArgs{
			Nodes: args.RiakNodes, Package: args.RiakPackage, Cookie: args.RiakCookie, ClientGroup: appGroup,
		}, child)
		if err != nil {
			return nil, fmt.Errorf("phone book %s: %w", name, err)
		}
		store = pb.Riak.Addresses.ApplyT(RiakStore).(pulumi.StringOutput)
		pb.Store = store
		deps = append(deps, pb.Riak)
	}

	ttl := int(args.CacheTTL / time.Second)
	r := pulumi.All(args.Binary.URL, store).ApplyT(func(v []any) (role.Role, error) {
		r := PhonebookRole(l, v[0].(string), args.Binary.SHA256, v[1].(string), ttl)
		if args.RiakNodes == 0 {
			// The embedded store's database is the machine's durable data:
			// it survives a replace of the machine; only destroy deletes it.
			r.Data = append(r.Data, filepath.Dir(strings.TrimPrefix(BoltStore(l), "bolt://")))
		}
		return r, nil
	})
	var err error
	pb.App, err = p.Machine(ctx, appName, platform.MachineArgs{Group: appGroup, Size: "small", Public: true, Role: platform.RoleOf(r)},
		child, pulumi.DependsOn(deps))
	if err != nil {
		return nil, fmt.Errorf("phone book %s: %w", name, err)
	}
	if err := p.Allow(ctx, appName+"-http", platform.Rule{To: appGroup, CIDRs: []string{args.HTTPAllowCIDR},
		Ports: []platform.PortRange{platform.Port(HTTPPort)}, Why: "users reach the phone book over HTTP"}, child); err != nil {
		return nil, fmt.Errorf("phone book %s: %w", name, err)
	}
	pb.URL = baseURL(pb.App.PublicIP, l.Port(HTTPPort))
	return pb, ctx.RegisterResourceOutputs(pb, pulumi.Map{"url": pb.URL, "store": pb.Store})
}
