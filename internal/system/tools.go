package system

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
)

// Tool versions the scripts install; a cached build of another version is
// not used.
const (
	PulumiVersion = "3.256.0"
)

// CacheDir is where scripts/install-*.sh put what they build:
// $CLOUDLABS_CACHE, else $XDG_CACHE_HOME/cloudlabs, else ~/.cache/cloudlabs.
func CacheDir() string {
	if d := os.Getenv("CLOUDLABS_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "cloudlabs")
	}
	h, _ := os.UserHomeDir()
	return filepath.Join(h, ".cache", "cloudlabs")
}

// tools says where each installer leaves its tool, relative to CacheDir,
// and how to install it.
var tools = map[string]struct {
	dirs    []string
	install string
}{
	"pulumi":     {[]string{"pulumi-v" + PulumiVersion + "/bin", "pulumi-v*/bin", "bin"}, "scripts/install-pulumi.sh (the README's two commands run it)"},
	"actionlint": {[]string{"bin"}, "scripts/install-go-tools.sh (the README's test command runs it)"},
	"gotestsum":  {[]string{"bin"}, "scripts/install-go-tools.sh (the README's test command runs it)"},
	"versitygw":  {[]string{"bin"}, "scripts/install-go-tools.sh (the README's two commands run it)"},
}

// Tool finds a tool the project installs: on PATH first, else where its
// installer puts it. The error names the installer.
func Tool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	t, ok := tools[name]
	if !ok {
		return "", fmt.Errorf("%s not found on PATH", name)
	}
	for _, d := range t.dirs {
		matches, _ := filepath.Glob(filepath.Join(CacheDir(), d, name))
		sort.Sort(sort.Reverse(sort.StringSlice(matches)))
		for _, m := range matches {
			if st, err := os.Stat(m); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
				return m, nil
			}
		}
	}
	return "", fmt.Errorf("%s not found on PATH or in %s: install it with %s", name, CacheDir(), t.install)
}
