package platform

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/internal/machine/role"
)

// secretNamePattern is what every platform accepts as a secret's name: it
// becomes part of an SSM parameter path and a Secret Manager secret id.
var secretNamePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// SecretNames checks a machine's MachineArgs.Secrets before anything is
// created and returns their names, sorted (the order platforms create
// store entries and grants in).
func SecretNames(machine string, values map[string]pulumi.StringOutput) ([]string, error) {
	names := make([]string, 0, len(values))
	for name := range values {
		if !secretNamePattern.MatchString(name) {
			return nil, fmt.Errorf("machine %s: secret name %q; allowed: lowercase letters, digits and '-', starting with a letter, at most 63 characters", machine, name)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

// MatchSecrets checks, once the role is known, that every SecretFile has a
// value in MachineArgs.Secrets and every value a SecretFile: a machine is
// granted exactly the secrets it installs.
func MatchSecrets(machine string, r role.Role, names []string) error {
	files := map[string]bool{}
	for _, s := range r.Secrets {
		if files[s.Name] {
			return fmt.Errorf("machine %s: secret %q is installed twice", machine, s.Name)
		}
		files[s.Name] = true
		if !slices.Contains(names, s.Name) {
			return fmt.Errorf("machine %s: role %s installs secret %q but MachineArgs.Secrets has no value for it (has: %s)",
				machine, r.Name, s.Name, strings.Join(names, ", "))
		}
	}
	for _, n := range names {
		if !files[n] {
			return fmt.Errorf("machine %s: MachineArgs.Secrets gives %q but role %s has no SecretFile for it", machine, n, r.Name)
		}
	}
	return nil
}
