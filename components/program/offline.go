package program

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/offline"
	"github.com/cloudlabs/cloudlabs/internal/config/stackfile"
	"github.com/cloudlabs/cloudlabs/internal/machine/artifact"
)

// Offline runs the program against recording mocks with a stack's config:
// no CLI, plugin, credentials or network. It plans, as a preview does:
// what only a deployment needs (stackconfig.NotReady) is not required.
// (The mocks run it as a deployment, not a dry run, so that every output
// they compute is known, and rendered.) Secrets in the file cannot be
// decrypted offline and are left out (the program then makes its own).
func Offline(stack string, file map[string]stackfile.Value, build Builder) (*offline.Mocks, error) {
	cfg := map[string]string{}
	for k, v := range file {
		if v.Secure == "" {
			cfg[k] = v.Value
		}
	}
	m, err := offline.Run(func(ctx *pulumi.Context) error { return run(ctx, build, true) }, stackfile.Project, stack, cfg)
	return m, plainError(err)
}

// plainError unwraps the SDK's multierror ("1 error occurred:\n\t* ...",
// blank lines after) into its errors, for people to read.
func plainError(err error) error {
	var multi interface{ WrappedErrors() []error }
	if !errors.As(err, &multi) {
		return err
	}
	var errs []error
	for _, e := range multi.WrappedErrors() {
		if msg := strings.TrimSpace(e.Error()); msg != e.Error() {
			e = errors.New(msg)
		}
		errs = append(errs, e)
	}
	if len(errs) == 0 {
		return err
	}
	return errors.Join(errs...)
}

// Declared runs the program offline with a stack's config, building no
// binary, and returns what it declared: what a cost estimate reads.
func Declared(stack string, file map[string]stackfile.Value) ([]offline.Resource, error) {
	m, err := Offline(stack, file, NoBuild)
	if err != nil {
		return nil, err
	}
	return m.Resources(), nil
}

// NoBuild stands in for compiling the apps where the binaries change
// nothing that is read (a cost estimate): every app gets a placeholder
// path and hash.
func NoBuild(_ context.Context, _, outDir, _ string, apps []string) (map[string]artifact.Built, error) {
	out := map[string]artifact.Built{}
	for _, a := range apps {
		out[a] = artifact.Built{Name: a, Path: outDir + "/" + a, SHA256: PlaceholderSHA256}
	}
	return out, nil
}

// PlaceholderSHA256 stands in for hashes that change nothing read.
const PlaceholderSHA256 = "0000000000000000000000000000000000000000000000000000000000000000"

// BootFiles returns what each machine boots with, by machine name: its
// #cloud-config user data on a cloud, its role as JSON on the local twin.
func BootFiles(m *offline.Mocks) (map[string]string, error) {
	out := map[string]string{}
	for _, r := range m.Resources() {
		switch r.Type {
		case offline.AWSInstance:
			out[r.Name] = r.Str("userData")
		case offline.GCPInstance:
			md := r.Inputs["metadata"]
			if md.IsSecret() {
				md = md.SecretValue().Element
			}
			if !md.IsObject() {
				return nil, fmt.Errorf("%s has no metadata", r.Name)
			}
			out[r.Name] = offline.Resource{Inputs: md.ObjectValue()}.Str("user-data")
		case offline.LocalHost:
			var role any
			if err := json.Unmarshal([]byte(r.Str("role")), &role); err != nil {
				return nil, fmt.Errorf("%s: role: %w", r.Name, err)
			}
			b, err := json.MarshalIndent(role, "", "  ")
			if err != nil {
				return nil, err
			}
			out[r.Name] = string(b) + "\n"
		}
	}
	for name, v := range out {
		if v == "" {
			return nil, fmt.Errorf("%s boots with nothing: its user data is empty", name)
		}
	}
	return out, nil
}
