// Package program is the one cloudlabs Pulumi program: `pulumi up` (main.go)
// and labctl (through the Automation API) both run Run. It reads and
// validates the stack config, picks the platform, builds and publishes the
// apps, declares the enabled environments and exports their addresses.
package program

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/cloudlabs/cloudlabs/components"
	"github.com/cloudlabs/cloudlabs/components/local"
	"github.com/cloudlabs/cloudlabs/components/offline"
	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/config/stackconfig"
	"github.com/cloudlabs/cloudlabs/internal/config/stackfile"
	"github.com/cloudlabs/cloudlabs/internal/machine/artifact"
	"github.com/cloudlabs/cloudlabs/internal/machine/netem"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/system"
)

// Run declares the stack, building the apps from this repository.
func Run(ctx *pulumi.Context) error { return RunWith(artifact.Build)(ctx) }

// Builder compiles the apps for linux/goarch into outDir (artifact.Build;
// tests pass their own to vary the binaries).
type Builder func(ctx context.Context, root, outDir, goarch string, apps []string) (map[string]artifact.Built, error)

// RunWith is the program with the apps built by build.
func RunWith(build Builder) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error { return run(ctx, build, false) }
}

// observer sees what a run declares beyond its resources: each cloud
// machine's role as its environment declared it (before the host key is
// added) and every export. Offline runs use it (MachineRoles, tests).
type observer struct {
	mu      sync.Mutex
	roles   map[string]role.Role
	exports map[string]pulumi.Input
}

func newObserver() *observer {
	return &observer{roles: map[string]role.Role{}, exports: map[string]pulumi.Input{}}
}

// tap records the role of every machine made through p.
type tap struct {
	platform.Platform
	ob *observer
}

func (t tap) Machine(ctx *pulumi.Context, name string, args platform.MachineArgs, opts ...pulumi.ResourceOption) (*platform.Machine, error) {
	args.Role = platform.RoleOf(args.Role.ApplyT(func(v any) (role.Role, error) {
		r := v.(role.Role)
		t.ob.mu.Lock()
		defer t.ob.mu.Unlock()
		t.ob.roles[name] = r
		return r, nil
	}))
	return t.Platform.Machine(ctx, name, args, opts...)
}

// run declares the stack. planOnly says the run only shows what would be
// made (Offline: render, cost), as a dry run (preview) does.
func run(ctx *pulumi.Context, build Builder, planOnly bool) error {
	return runObserved(ctx, build, planOnly, nil)
}

// runObserved is run, telling ob (when not nil) what it declares.
func runObserved(ctx *pulumi.Context, build Builder, planOnly bool, ob *observer) error {
	export := func(name string, v pulumi.Input) {
		ctx.Export(name, v)
		if ob != nil {
			ob.exports[name] = v
		}
	}
	// Only a real deployment needs what NotReady lists (it would install
	// an unchecked package): a preview, render and cost go on with a
	// warning, so every shipped stack can be looked at as cloned.
	parse := stackconfig.Parse
	if planOnly || ctx.DryRun() {
		parse = stackconfig.ParsePlan
	}
	cfg, err := parse(ctx.GetConfig)
	if err != nil {
		return err
	}
	for _, msg := range cfg.NotReady() {
		if err := ctx.Log.Warn(msg+" (a preview goes on with a placeholder hash; up will refuse)", nil); err != nil {
			return err
		}
	}
	p, err := newPlatform(ctx, cfg)
	if err != nil {
		return err
	}
	twin, _ := p.(*local.Platform)
	if link := (netem.Link{DelayMs: cfg.NetworkDelayMs, LossPct: cfg.NetworkLossPct}); !link.Off() && p.Name() != "local" {
		step, err := netem.BootStep(link)
		if err != nil {
			return err
		}
		p = slowLink{Platform: p, step: step}
	}
	if ob != nil {
		p = tap{Platform: p, ob: ob}
	}
	// With SSH open, every cloud machine gets a host key the program made
	// (never trusted on first use); without it none exists.
	var hostKeys *platform.HostKeys
	if cfg.SSHOpen() && p.Name() != "local" {
		hostKeys = platform.WithHostKeys(p)
		p = hostKeys
	}
	bins, err := publishApps(ctx, p, cfg, build)
	if err != nil {
		return err
	}
	export("platform", pulumi.String(p.Name()))

	var machines []*platform.Machine
	if cfg.Enabled("phonebook") {
		riakNodes := cfg.RiakNodes
		if p.Name() == "local" {
			// Riak is not installable on the twin's machines: the app keeps
			// its contacts in its embedded store, and says so in the outputs.
			riakNodes = 0
		}
		riakPackage := components.RiakPackage{URL: cfg.RiakPackageURL, SHA256: cfg.RiakPackageSHA256}
		if riakPackage.SHA256 == "" && riakNodes > 0 {
			// A dry run only (Parse refuses a deployment without it, and
			// NotReady warned): the nodes would refuse the package.
			riakPackage.SHA256 = PlaceholderSHA256
		}
		var cookie pulumi.StringInput
		if _, ok := ctx.GetConfig("riak:cookie"); ok {
			cookie = config.GetSecret(ctx, "riak:cookie")
		}
		pb, err := components.NewPhonebook(ctx, "phonebook", p, &components.PhonebookArgs{
			RiakNodes:     riakNodes,
			RiakPackage:   riakPackage,
			RiakCookie:    cookie,
			Binary:        bins["phonebook"],
			CacheTTL:      cfg.CacheTTL,
			HTTPAllowCIDR: cfg.HTTPAllowCIDR,
		})
		if err != nil {
			return err
		}
		export("phonebookUrl", pb.URL)
		export("phonebookForm", pulumi.Sprintf("%s/add/", pb.URL))
		export("phonebookStore", pb.Store)
		machines = append(machines, pb.App)
		if pb.Riak != nil {
			export("riakNodes", pb.Riak.Addresses)
			machines = append(machines, pb.Riak.Nodes...)
		}
	}
	if cfg.Enabled("fibonacci") {
		f, err := components.NewFleet(ctx, "fibonacci", p, &components.FleetArgs{
			Nodes: cfg.FibonacciNodes, MaxN: cfg.FibonacciMaxN, Binary: bins["fibonacci"], HTTPAllowCIDR: cfg.HTTPAllowCIDR,
		})
		if err != nil {
			return err
		}
		export("fibonacciUrl", f.URL)
		export("fibonacciBackends", f.Backends)
		machines = append(append(machines, f.LB), f.Nodes...)
	}
	if cfg.Enabled("cachepool") {
		var clients []string
		if cfg.Enabled("gallery") {
			clients = append(clients, components.GalleryGroup)
		}
		c, err := components.NewCachePool(ctx, "cachepool", p, &components.CachePoolArgs{
			Slots: cfg.CachePoolMaxNodes, Nodes: cfg.CachePoolNodes, CapacityMB: cfg.CachePoolCapacityMB, Policy: cfg.CachePoolPolicy,
			Node: bins["cachenode"], Manager: bins["manager"], AllowCIDR: cfg.CachePoolAllowCIDR, ManagerAllowCIDR: cfg.ManagerAllowCIDR,
			Region: awsRegion(ctx), Project: gcpProject(ctx), Zone: gcpZone(ctx), Stack: ctx.Stack(),
		}, clients)
		if err != nil {
			return err
		}
		export("cachepoolSlots", c.Slots)
		endpoints := c.Endpoints
		if twin != nil {
			endpoints = liveMembers(twin.Layout(c.ManagerVM.Name), c.Nodes, c.Slots, endpoints)
		}
		export("cachepoolEndpoints", endpoints)
		export("cachepoolAdmin", c.Admin)
		export("cachepoolAdminToken", c.AdminToken) // a secret: outputs --show-secrets
		export("managerUrl", c.ManagerURL)
		export("managerToken", c.ManagerToken) // a secret
		machines = append(append(machines, c.Nodes...), c.ManagerVM)
		if cfg.Enabled("gallery") {
			g, err := components.NewGallery(ctx, "gallery", p, &components.GalleryArgs{
				Binary: bins["gallery"], Pool: c, Ring: cfg.CachePoolRing, MaxImageMB: cfg.GalleryMaxImageMB, HTTPAllowCIDR: cfg.HTTPAllowCIDR,
			})
			if err != nil {
				return err
			}
			export("galleryUrl", g.URL)
			machines = append(machines, g.Machine)
		}
	}
	if cfg.SSHOpen() {
		user := "ubuntu"
		if twin != nil {
			user = local.SSHUser // the twin's hosts run their services as root
		}
		cmds := pulumi.StringMap{}
		for _, m := range machines {
			cmds[m.Name] = pulumi.Sprintf("ssh %s@%s", user, m.SSHHost)
		}
		export("sshCommands", cmds)
		// known_hosts from the stack's outputs:
		// labctl outputs --json | jq -r .knownHosts > known_hosts
		switch {
		case hostKeys != nil:
			export("knownHosts", hostKeys.KnownHosts())
		case twin != nil && cfg.LocalNetwork == stackconfig.LocalNetns:
			export("knownHosts", twin.KnownHosts())
		}
	}
	return nil
}

// liveMembers are the pool's members as the twin's manager last wrote
// them (its Prometheus targets file, in its host folder on this machine;
// each target labelled with its slot's machine name),
// so that an up after the manager resized exports the members then, in
// slot order; seed (the first cachepool:nodes slots) before the manager
// ever ran. On a cloud the manager is private: the seed is all the program
// knows, and GET /api/pool is the live truth.
func liveMembers(manager platform.Layout, machines []*platform.Machine, slots, seed pulumi.StringArrayOutput) pulumi.StringArrayOutput {
	b, err := os.ReadFile(manager.Path(components.ManagerTargetsPath))
	if err != nil {
		return seed
	}
	var groups []struct {
		Labels map[string]string `json:"labels"`
	}
	if json.Unmarshal(b, &groups) != nil || len(groups) == 0 {
		return seed
	}
	active := map[string]bool{}
	for _, g := range groups {
		active[g.Labels["node"]] = true
	}
	return slots.ApplyT(func(all []string) []string {
		var out []string
		for i, ep := range all {
			if active[machines[i].Name] {
				out = append(out, ep)
			}
		}
		return out
	}).(pulumi.StringArrayOutput)
}

// appsFor lists the apps the enabled environments run.
func appsFor(cfg stackconfig.Config) []string {
	byEnv := map[string][]string{"phonebook": {"phonebook"}, "fibonacci": {"fibonacci"}, "cachepool": {"cachenode", "manager"}, "gallery": {"gallery"}}
	var apps []string
	for _, env := range cfg.Environments {
		apps = append(apps, byEnv[env]...)
	}
	sort.Strings(apps)
	return apps
}

// publishApps cross-compiles the apps for the platform's machines and
// publishes them where the machines fetch them.
func publishApps(ctx *pulumi.Context, p platform.Platform, cfg stackconfig.Config, build Builder) (components.Binaries, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	root, err := system.ModuleRoot(wd)
	if err != nil {
		return nil, err
	}
	out := filepath.Join(root, ".labctl", "build", "linux-"+p.Arch())
	built, err := build(ctx.Context(), root, out, p.Arch(), appsFor(cfg))
	if err != nil {
		return nil, err
	}
	bins := components.Binaries{}
	for _, name := range appsFor(cfg) {
		b := built[name]
		url, err := p.Publish(ctx, platform.Artifact{Name: name, Path: b.Path, SHA256: b.SHA256})
		if err != nil {
			return nil, fmt.Errorf("publish %s: %w", name, err)
		}
		bins[name] = components.Binary{Name: name, SHA256: b.SHA256, URL: url}
	}
	return bins, nil
}

// MachineRoles runs the program offline with a stack's config (as Offline
// does) and returns each machine's role as its environment declares it, by
// machine name: what verify derives a cloud machine's checks from. Values
// that depend on what only the cloud knows (addresses, random secrets)
// are the mocks' in these roles.
func MachineRoles(stack string, file map[string]stackfile.Value, build Builder) (map[string]role.Role, error) {
	cfg := map[string]string{}
	for k, v := range file {
		if v.Secure == "" {
			cfg[k] = v.Value
		}
	}
	ob := newObserver()
	_, err := offline.Run(func(ctx *pulumi.Context) error { return runObserved(ctx, build, true, ob) }, stackfile.Project, stack, cfg)
	if err != nil {
		return nil, plainError(err)
	}
	return ob.roles, nil
}
