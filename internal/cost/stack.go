package cost

import (
	"fmt"
	"maps"
	"os"
	"strings"

	"github.com/cloudlabs/cloudlabs/components/offline"
	"github.com/cloudlabs/cloudlabs/internal/config/stackconfig"
	"github.com/cloudlabs/cloudlabs/internal/config/stackfile"
)

// LocalNote is the whole estimate of the local twin.
const LocalNote = "the local twin costs nothing: it runs on this machine"

// placeholderSHA256 stands in for a Riak package hash, which changes no
// price.
const placeholderSHA256 = "0000000000000000000000000000000000000000000000000000000000000000"

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
	values, notes := pricingValues(values)
	cfg, err := stackconfig.Parse(func(k string) (string, bool) { v, ok := values[k]; return v.Value, ok })
	if err != nil {
		return nil, fmt.Errorf("stack %s: %w", stack, err)
	}
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
	rep, err := Price(u, t, o)
	if err != nil {
		return nil, fmt.Errorf("stack %s: %w", stack, err)
	}
	rep.Stack = stack
	rep.Warnings = append(notes, rep.Warnings...)
	return rep, nil
}

// pricingValues fills in what validation requires but no price depends
// on, so an estimate works before the stack is ready to deploy.
func pricingValues(values map[string]stackfile.Value) (map[string]stackfile.Value, []string) {
	out := maps.Clone(values)
	notes := []string{}
	if v, ok := out["riak:packageSha256"]; !ok || (v.Value == "" && v.Secure == "") {
		out["riak:packageSha256"] = stackfile.Value{Value: placeholderSHA256}
		if on := out["cloudlabs:environments"]; on.Value == "" || strings.Contains(on.Value, "phonebook") {
			notes = append(notes, "riak:packageSha256 is unset: priced anyway (the hash changes no price), but `pulumi up` needs it")
		}
	}
	return out, notes
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
