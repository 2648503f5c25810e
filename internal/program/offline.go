package program

import (
	"github.com/cloudlabs/cloudlabs/internal/pulumitest"
	"github.com/cloudlabs/cloudlabs/internal/stackfile"
)

// Offline runs the program against recording mocks with a stack's config:
// no CLI, plugin, credentials or network. Secrets in the file cannot be
// decrypted offline and are left out (the program then makes its own).
func Offline(stack string, file map[string]stackfile.Value) (*pulumitest.Mocks, error) {
	cfg := map[string]string{}
	for k, v := range file {
		if v.Secure == "" {
			cfg[k] = v.Value
		}
	}
	return pulumitest.Run(Run, stackfile.Project, stack, cfg)
}
