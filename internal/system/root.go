package system

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ModuleRoot finds the cloudlabs module root: $CLOUDLABS_ROOT, else the
// nearest folder at or above dir holding this module's go.mod.
func ModuleRoot(dir string) (string, error) {
	if r := os.Getenv("CLOUDLABS_ROOT"); r != "" {
		return r, nil
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/cloudlabs/cloudlabs\n") {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no cloudlabs module above %s: run from the repository or set CLOUDLABS_ROOT", dir)
		}
	}
}
