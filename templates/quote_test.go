package templates

import (
	"testing"

	"gopkg.in/yaml.v3"
)

// TestScalarsRoundTripThroughYAML: whatever text a role file holds, the
// scalar the user data carries reads back as that text, DEL and the C1
// controls included (JSON leaves them raw; YAML refuses them raw).
func TestScalarsRoundTripThroughYAML(t *testing.T) {
	for _, s := range []string{
		"plain\n", "del \x7f here\n", "c1 \u0080 and nel \u0085\n", "tab\tstart\n", "no newline",
		"bell \x07\n", "quote \" and backslash \\\n", "<html> & \u00e9\n", " leading space\n", "\ufeffbom\n",
	} {
		for name, render := range map[string]func(string) string{
			"quote":     quote,
			"yamlBlock": func(s string) string { return yamlBlock(2, s) },
		} {
			doc := "x: " + render(s) + "\n"
			var got struct{ X string }
			if err := yaml.Unmarshal([]byte(doc), &got); err != nil {
				t.Errorf("%s(%q): YAML refuses it: %v\n%s", name, s, err, doc)
				continue
			}
			if got.X != s {
				t.Errorf("%s(%q) reads back as %q", name, s, got.X)
			}
		}
	}
}
