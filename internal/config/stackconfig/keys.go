package stackconfig

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Secrets are keys the program reads that Pulumi.yaml cannot declare: a key
// outside the project's namespace must carry a value there, which every
// stack would share, and a secret has none to share.
var Secrets = []string{"riak:cookie"}

// ProviderNamespaces are the namespaces of the providers the program uses,
// configured by their own keys (aws:region, gcp:project): never checked
// here, however close their names come to one of the project's.
var ProviderNamespaces = []string{"aws", "gcp", "random", "pulumi"}

// Schema is the set of config keys a project declares: the keys of
// Pulumi.yaml's config section, plus Secrets. It is the one list of what a
// stack may set; a test keeps it equal to what Parse reads.
type Schema struct {
	project    string
	keys       []string // fully namespaced, sorted
	namespaces []string // the namespaces keys use, sorted
}

// LoadSchema reads the keys the project file (Pulumi.yaml) declares.
func LoadSchema(projectFile string) (Schema, error) {
	b, err := os.ReadFile(projectFile)
	if err != nil {
		return Schema{}, fmt.Errorf("read the declared config keys: %w", err)
	}
	s, err := ParseSchema(b)
	if err != nil {
		return Schema{}, fmt.Errorf("%s: %w", projectFile, err)
	}
	return s, nil
}

// ParseSchema reads the keys a project file's content declares.
func ParseSchema(projectYAML []byte) (Schema, error) {
	var project struct {
		Name   string               `yaml:"name"`
		Config map[string]yaml.Node `yaml:"config"`
	}
	if err := yaml.Unmarshal(projectYAML, &project); err != nil {
		return Schema{}, fmt.Errorf("not a Pulumi project file: %w", err)
	}
	if project.Name == "" || len(project.Config) == 0 {
		return Schema{}, errors.New("not a Pulumi project file with a name and a config section")
	}
	s := Schema{project: project.Name}
	for k := range project.Config {
		s.keys = append(s.keys, s.full(k))
	}
	s.keys = append(s.keys, Secrets...)
	slices.Sort(s.keys)
	s.keys = slices.Compact(s.keys)
	for _, k := range s.keys {
		ns, _, _ := strings.Cut(k, ":")
		s.namespaces = append(s.namespaces, ns)
	}
	slices.Sort(s.namespaces)
	s.namespaces = slices.Compact(s.namespaces)
	return s, nil
}

// Keys returns the declared keys, fully namespaced and sorted.
func (s Schema) Keys() []string { return slices.Clone(s.keys) }

// full puts a key without a namespace into the project's, as Pulumi does.
func (s Schema) full(k string) string {
	if strings.Contains(k, ":") {
		return k
	}
	return s.project + ":" + k
}

// Check reports every key that the project does not declare though it
// names one of the project's namespaces (riak:nodse), or a namespace a
// typo away from one (fibonaci:nodes), each with the closest declared key.
// Other namespaces belong to providers and pass.
func (s Schema) Check(keys []string) error {
	var errs []error
	for _, k := range keys {
		k = s.full(k)
		if slices.Contains(s.keys, k) {
			continue
		}
		ns, _, _ := strings.Cut(k, ":")
		if slices.Contains(ProviderNamespaces, ns) {
			continue
		}
		if !slices.Contains(s.namespaces, ns) && distance(ns, closest(ns, s.namespaces)) > 2 {
			continue
		}
		errs = append(errs, fmt.Errorf("%s: no such config key; did you mean %s? (the keys are declared in Pulumi.yaml)", k, closest(k, s.keys)))
	}
	return errors.Join(errs...)
}

// closest returns the candidate with the fewest edits from s (the first
// of equals).
func closest(s string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		if d := distance(s, c); bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// distance is the Levenshtein distance: the fewest single-character
// insertions, deletions and substitutions that turn a into b.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
