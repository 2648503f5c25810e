package cost

import (
	"context"
	"fmt"
	"maps"
	"os"
	"strings"

	"github.com/cloudlabs/cloudlabs/internal/artifact"
	"github.com/cloudlabs/cloudlabs/internal/program"
	"github.com/cloudlabs/cloudlabs/internal/stackconfig"
	"github.com/cloudlabs/cloudlabs/internal/stackfile"
)

// LocalNote is the whole estimate of the local twin.
const LocalNote = "the local twin costs nothing: it runs on this machine"

// placeholderSHA256 stands in for hashes that change no price.
const placeholderSHA256 = "0000000000000000000000000000000000000000000000000000000000000000"

// Stack estimates a stack from its config file's values: it runs the
// program offline, measures what it declares and prices it with t.
func Stack(stack string, values map[string]stackfile.Value, t Table, o Options) (*Report, error) {
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
	mocks, err := program.Offline(stack, values, placeholderBinaries)
	if err != nil {
		return nil, fmt.Errorf("stack %s: %w", stack, err)
	}
	u, err := Measure(cfg.Platform, mocks.Resources())
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

// placeholderBinaries stands in for compiling the apps: the machines'
// prices do not depend on the binaries, so an estimate builds nothing.
func placeholderBinaries(_ context.Context, _, outDir, _ string, apps []string) (map[string]artifact.Built, error) {
	out := map[string]artifact.Built{}
	for _, a := range apps {
		out[a] = artifact.Built{Name: a, Path: outDir + "/" + a, SHA256: placeholderSHA256}
	}
	return out, nil
}
