// Package program is the one cloudlabs Pulumi program: `pulumi up` (main.go)
// and labctl (through the Automation API) both run Run. It reads and
// validates the stack config, picks the platform, builds and publishes the
// apps, declares the enabled environments and exports their addresses.
package program

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/cloudlabs/cloudlabs/components"
	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/config/stackconfig"
	"github.com/cloudlabs/cloudlabs/internal/machine/artifact"
	"github.com/cloudlabs/cloudlabs/internal/machine/netem"
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

// run declares the stack. planOnly says the run only shows what would be
// made (Offline: render, cost), as a dry run (preview) does.
func run(ctx *pulumi.Context, build Builder, planOnly bool) error {
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
	if link := (netem.Link{DelayMs: cfg.NetworkDelayMs, LossPct: cfg.NetworkLossPct}); !link.Off() && p.Name() != "local" {
		step, err := netem.BootStep(link)
		if err != nil {
			return err
		}
		p = slowLink{Platform: p, step: step}
	}
	bins, err := publishApps(ctx, p, cfg, build)
	if err != nil {
		return err
	}
	ctx.Export("platform", pulumi.String(p.Name()))

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
		ctx.Export("phonebookUrl", pb.URL)
		ctx.Export("phonebookForm", pulumi.Sprintf("%s/add/", pb.URL))
		ctx.Export("phonebookStore", pb.Store)
		machines = append(machines, pb.App)
		if pb.Riak != nil {
			ctx.Export("riakNodes", pb.Riak.Addresses)
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
		ctx.Export("fibonacciUrl", f.URL)
		ctx.Export("fibonacciBackends", f.Backends)
		machines = append(append(machines, f.LB), f.Nodes...)
	}
	if cfg.Enabled("cachepool") {
		c, err := components.NewCachePool(ctx, "cachepool", p, &components.CachePoolArgs{
			Nodes: cfg.CachePoolNodes, CapacityMB: cfg.CachePoolCapacityMB, Policy: cfg.CachePoolPolicy,
			Binary: bins["cachenode"], AllowCIDR: cfg.CachePoolAllowCIDR,
		})
		if err != nil {
			return err
		}
		ctx.Export("cachepoolEndpoints", c.Endpoints)
		ctx.Export("cachepoolAdmin", c.Admin)
		ctx.Export("cachepoolAdminToken", c.AdminToken) // a secret: outputs --show-secrets
		machines = append(machines, c.Nodes...)
	}
	if cfg.SSHOpen() {
		cmds := pulumi.StringMap{}
		for _, m := range machines {
			cmds[m.Name] = pulumi.Sprintf("ssh ubuntu@%s", m.SSHHost)
		}
		ctx.Export("sshCommands", cmds)
	}
	return nil
}

// appsFor lists the apps the enabled environments run.
func appsFor(cfg stackconfig.Config) []string {
	byEnv := map[string]string{"phonebook": "phonebook", "fibonacci": "fibonacci", "cachepool": "cachenode"}
	var apps []string
	for _, env := range cfg.Environments {
		apps = append(apps, byEnv[env])
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
