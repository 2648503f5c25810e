package program

import (
	"encoding/json"
	"fmt"

	"github.com/cloudlabs/cloudlabs/internal/pulumitest"
	"github.com/cloudlabs/cloudlabs/internal/stackfile"
)

// Offline runs the program against recording mocks with a stack's config:
// no CLI, plugin, credentials or network. Secrets in the file cannot be
// decrypted offline and are left out (the program then makes its own).
func Offline(stack string, file map[string]stackfile.Value, build Builder) (*pulumitest.Mocks, error) {
	cfg := map[string]string{}
	for k, v := range file {
		if v.Secure == "" {
			cfg[k] = v.Value
		}
	}
	return pulumitest.Run(RunWith(build), stackfile.Project, stack, cfg)
}

// Machine resource types, by platform.
const (
	AWSInstance = "aws:ec2/instance:Instance"
	GCPInstance = "gcp:compute/instance:Instance"
	LocalHost   = "cloudlabs:local:Host"
)

// BootFiles returns what each machine boots with, by machine name: its
// #cloud-config user data on a cloud, its role as JSON on the local twin.
func BootFiles(m *pulumitest.Mocks) (map[string]string, error) {
	out := map[string]string{}
	for _, r := range m.Resources() {
		switch r.Type {
		case AWSInstance:
			out[r.Name] = r.Str("userData")
		case GCPInstance:
			md := r.Inputs["metadata"]
			if md.IsSecret() {
				md = md.SecretValue().Element
			}
			if !md.IsObject() {
				return nil, fmt.Errorf("%s has no metadata", r.Name)
			}
			out[r.Name] = pulumitest.Resource{Inputs: md.ObjectValue()}.Str("user-data")
		case LocalHost:
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
