package cost

import (
	"fmt"
	"os"

	"github.com/cloudlabs/cloudlabs/components/offline"
	"github.com/cloudlabs/cloudlabs/internal/config/stackconfig"
	"github.com/cloudlabs/cloudlabs/internal/config/stackfile"
)

// LocalNote is the whole estimate of the local twin.
const LocalNote = "the local twin costs nothing: it runs on this machine"

// Declare runs a stack's program offline with the given config values
// and returns the resources it declared (program.Declared, given by labctl):
// the seam that keeps pricing free of the program and the cloud SDKs.
type Declare func(stack string, values map[string]stackfile.Value) ([]offline.Resource, error)

// Stack estimates a stack from its config file's values: declare runs the
// program offline, Measure reads what it declared, Price prices it with t.
func Stack(stack string, values map[string]stackfile.Value, declare Declare, t Table, o Options) (*Report, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	// A plan, not a deployment: what only a deployment needs (the Riak
	// package's hash) changes no price, and becomes a warning.
	cfg, err := stackconfig.ParsePlan(func(k string) (string, bool) { v, ok := values[k]; return v.Value, ok && v.Secure == "" })
	if err != nil {
		return nil, fmt.Errorf("stack %s: %w", stack, err)
	}
	notes := cfg.NotReady()
	if cfg.Platform == "local" {
		return &Report{Stack: stack, Platform: "local", HoursPerDay: o.HoursPerDay, EgressGBPerDay: o.EgressGBPerDay,
			Currency: t.Currency, AsOf: t.AsOf, Lines: []Line{}, Warnings: []string{}, Note: LocalNote}, nil
	}
	resources, err := declare(stack, values)
	if err != nil {
		return nil, fmt.Errorf("stack %s: %w", stack, err)
	}
	u, err := Measure(cfg.Platform, resources)
	if err != nil {
		return nil, fmt.Errorf("stack %s: %w", stack, err)
	}
	if cfg.Platform == "aws" {
		u.Region = awsRegion(values)
	}
	// The pool's slots run as many as the manager keeps active: priced at
	// cachepool:nodes, the size it starts with (-c cachepool:nodes=N
	// prices another).
	u.ActiveSlots = total(u.Slots)
	if cfg.Enabled("cachepool") {
		u.ActiveSlots = min(cfg.CachePoolNodes, u.ActiveSlots)
	}
	rep, err := Price(u, t, o)
	if err != nil {
		return nil, fmt.Errorf("stack %s: %w", stack, err)
	}
	rep.Stack = stack
	rep.Warnings = append(notes, rep.Warnings...)
	return rep, nil
}

// awsRegion is where the AWS provider will deploy: aws:region, else the
// environment the provider reads.
func awsRegion(values map[string]stackfile.Value) string {
	if r := values["aws:region"].Value; r != "" {
		return r
	}
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
		if r := os.Getenv(k); r != "" {
			return r
		}
	}
	return ""
}
