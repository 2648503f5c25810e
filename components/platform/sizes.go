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
	// Capacity is what a type offers, when the catalog knows it (ok false
	// otherwise): sizes are kept in order by it.
	Capacity func(typ string) (c Capacity, ok bool)
}

// Capacity is a machine type's memory and vCPUs.
type Capacity struct {
	MemGB float64
	VCPUs float64
}

// Covers reports whether c offers at least d's memory and at least its
// vCPUs: a larger size may not give up either one for the other.
func (c Capacity) Covers(d Capacity) bool {
	return c.MemGB >= d.MemGB && c.VCPUs >= d.VCPUs
}

// smaller reports whether type a is known to offer less than type b in
// memory or in vCPUs.
func (c SizeCatalog) smaller(a, b string) bool {
	if c.Capacity == nil {
		return false
	}
	ca, okA := c.Capacity(a)
	cb, okB := c.Capacity(b)
	return okA && okB && !ca.Covers(cb)
}

// Resolve maps every size to a type: small (or the amd64 default for it),
// the catalog's defaults for the others, then the overrides. Every size
// must share small's architecture, since the apps are built once per stack.
// Sizes never shrink: a default smaller than the size before it becomes
// that size's type, and an override smaller than it is refused.
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
	for i := 1; i < len(Sizes); i++ {
		if prev := types[Sizes[i-1]]; c.smaller(types[Sizes[i]], prev) {
			types[Sizes[i]] = prev
		}
	}
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
	for i := 1; i < len(Sizes); i++ {
		size, prev := Sizes[i], Sizes[i-1]
		if c.smaller(types[size], types[prev]) {
			return nil, "", fmt.Errorf("%s platform: size %s is %s, smaller than size %s (%s); allowed: a %s at least as large as %s",
				c.Cloud, size, types[size], prev, types[prev], c.Noun, types[prev])
		}
	}
	return types, arch, nil
}
