// Package stackfile reads and edits stacks/Pulumi.<stack>.yaml the way the
// Pulumi CLI does, for the paths that run the program without it reading
// the file (labctl through the Automation API, which ignores stackConfigDir,
// and offline rendering). Edits keep the file's comments and order.
package stackfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cloudlabs/cloudlabs/internal/system"
)

// Project is the Pulumi project name: keys without a namespace belong to it.
const Project = "cloudlabs"

// Value is one config value as the file holds it.
type Value struct {
	// Value is the plain value; lists and maps are JSON, as Pulumi passes
	// structured config to programs. Empty for secrets.
	Value string
	// Secure is the ciphertext of a secret value ("" for plain values).
	Secure string
}

var stackName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`)

// Path is the config file of a stack in the stacks folder.
func Path(dir, stack string) (string, error) {
	if !stackName.MatchString(stack) {
		return "", fmt.Errorf("stack name %q: allowed are letters, digits, '-', '_' and '.'", stack)
	}
	return filepath.Join(dir, "Pulumi."+stack+".yaml"), nil
}

// Load reads a stack's config, keys fully namespaced ("cloudlabs:platform").
// A missing file is an empty config.
func Load(path string) (map[string]Value, error) {
	doc, err := read(path)
	if err != nil {
		return nil, err
	}
	out := map[string]Value{}
	cfg := mapping(doc, "config")
	if cfg == nil {
		return out, nil
	}
	for i := 0; i+1 < len(cfg.Content); i += 2 {
		k, v := cfg.Content[i].Value, cfg.Content[i+1]
		val, err := value(v)
		if err != nil {
			return nil, fmt.Errorf("%s: config key %s: %w", path, k, err)
		}
		out[FullKey(k)] = val
	}
	return out, nil
}

// FullKey puts a key without a namespace into the project's.
func FullKey(k string) string {
	if strings.Contains(k, ":") {
		return k
	}
	return Project + ":" + k
}

// Set writes plain values into the stack's config file, creating it if
// needed and keeping everything else in it as it was.
func Set(path string, values map[string]string) error {
	doc, err := read(path)
	if err != nil {
		return err
	}
	if doc.Kind == 0 {
		doc = &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	root := doc.Content[0]
	cfg := mapping(doc, "config")
	if cfg == nil {
		cfg = &yaml.Node{Kind: yaml.MappingNode}
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "config"}, cfg)
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := &yaml.Node{Kind: yaml.ScalarNode, Value: values[k], Tag: "!!str"}
		found := false
		for i := 0; i+1 < len(cfg.Content); i += 2 {
			if FullKey(cfg.Content[i].Value) == FullKey(k) {
				cfg.Content[i+1] = v
				found = true
				break
			}
		}
		if !found {
			cfg.Content = append(cfg.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, v)
		}
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return system.WriteFile(path, b.Bytes(), filemode(path))
}

func read(path string) (*yaml.Node, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &yaml.Node{}, nil
	}
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s is not valid YAML: %w", path, err)
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 && doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: want a mapping with a config: key at the top", path)
	}
	return &doc, nil
}

func mapping(doc *yaml.Node, key string) *yaml.Node {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == key && root.Content[i+1].Kind == yaml.MappingNode {
			return root.Content[i+1]
		}
	}
	return nil
}

func value(n *yaml.Node) (Value, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		return Value{Value: n.Value}, nil
	case yaml.MappingNode:
		if len(n.Content) == 2 && n.Content[0].Value == "secure" {
			return Value{Secure: n.Content[1].Value}, nil
		}
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return Value{}, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return Value{}, err
	}
	return Value{Value: string(b)}, nil
}

// filemode keeps an existing stack file's permissions (a user may have
// made it private); a new file gets 0644.
func filemode(path string) os.FileMode {
	if st, err := os.Stat(path); err == nil {
		return st.Mode().Perm()
	}
	return 0o644
}
