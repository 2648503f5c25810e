package local

import (
	"fmt"
	"path"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
)

// The twin's secret store is the host folder itself: the provider writes
// each SecretFile 0600 before the services start, from the Host's
// "secrets" input (a Pulumi secret, so state keeps it encrypted).
func init() { machineSecrets = hostSecrets }

// hostSecrets is the Host's "secrets" input of a machine: the value of
// each of its role's SecretFiles keyed by the file's path in the host
// folder. Every SecretFile needs a value and every value a SecretFile.
func hostSecrets(name string, l platform.Layout, args platform.MachineArgs) (pulumi.StringMapInput, error) {
	names, err := platform.SecretNames(name, args.Secrets)
	if err != nil {
		return nil, err
	}
	deps := []any{args.Role}
	for _, n := range names {
		deps = append(deps, args.Secrets[n])
	}
	return pulumi.All(deps...).ApplyT(func(vs []any) (map[string]string, error) {
		r, ok := vs[0].(role.Role)
		if !ok {
			return nil, fmt.Errorf("machine %s: role output holds %T, want role.Role", name, vs[0])
		}
		if err := platform.MatchSecrets(name, r, names); err != nil {
			return nil, err
		}
		values := make(map[string]string, len(names))
		for i, n := range names {
			values[n] = vs[i+1].(string)
		}
		return secretFiles(l, r.Secrets, values)
	}).(pulumi.StringMapOutput), nil
}

// secretFiles places each SecretFile under the layout's root (a path the
// component already placed there stays) with its value.
func secretFiles(l platform.Layout, files []role.SecretFile, values map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(files))
	for _, f := range files {
		if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path {
			return nil, fmt.Errorf("secret %q: path %q; allowed: a clean absolute path", f.Name, f.Path)
		}
		p := f.Path
		if !strings.HasPrefix(p, l.Root+"/") {
			p = l.Path(p)
		}
		if _, dup := out[p]; dup {
			return nil, fmt.Errorf("secret %q: path %s holds another secret", f.Name, p)
		}
		v, ok := values[f.Name]
		if !ok {
			return nil, fmt.Errorf("secret %q has no value", f.Name)
		}
		out[p] = v
	}
	return out, nil
}
