package platform

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Sizes are the abstract sizes components ask for, smallest first.
var Sizes = []string{"small", "medium"}

// SizeCatalog is how a cloud names its machine sizes: the cloud platforms
// resolve MachineArgs.Size through it the same way.
type SizeCatalog struct {
	Cloud   string         // "aws", for messages
	Noun    string         // "instance type", "machine type"
	Example string         // a well-formed type, for messages
	Valid   *regexp.Regexp // well-formed type names
	// Arch is the GOARCH of a type.
	Arch func(typ string) string
	// Defaults are the types of every size for a small type of arch.
	Defaults func(small, arch string) map[string]string
}

// Resolve maps every size to a type: small (or the amd64 default for it),
// the catalog's defaults for the others, then the overrides. Every size
// must share small's architecture, since the apps are built once per stack.
func (c SizeCatalog) Resolve(small string, overrides map[string]string) (types map[string]string, arch string, err error) {
	if small == "" {
		small = c.Defaults("", "amd64")["small"]
	}
	if !c.Valid.MatchString(small) {
		return nil, "", fmt.Errorf("%s platform: %s %q; allowed: a type such as %s", c.Cloud, c.Noun, small, c.Example)
	}
	arch = c.Arch(small)
	types = c.Defaults(small, arch)
	types["small"] = small
	sizes := make([]string, 0, len(overrides))
	for size := range overrides {
		sizes = append(sizes, size)
	}
	sort.Strings(sizes)
	for _, size := range sizes {
		t := overrides[size]
		if !slices.Contains(Sizes, size) {
			return nil, "", fmt.Errorf("%s platform: size %q; allowed: %s", c.Cloud, size, strings.Join(Sizes, ", "))
		}
		if !c.Valid.MatchString(t) {
			return nil, "", fmt.Errorf("%s platform: %s %q for size %s; allowed: a type such as %s", c.Cloud, c.Noun, t, size, c.Example)
		}
		types[size] = t
	}
	for _, size := range Sizes {
		if a := c.Arch(types[size]); a != arch {
			return nil, "", fmt.Errorf("%s platform: size %s is %s (%s) but size small is %s (%s): every size must share one architecture",
				c.Cloud, size, types[size], a, small, arch)
		}
	}
	return types, arch, nil
}
