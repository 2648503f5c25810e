// Package templates holds every file the machines boot with — cloud-init,
// systemd units, nginx, Riak — as text/template files, parsed once and
// shared by the cloud platforms and the local twin.
package templates

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"strings"
	"text/template"
)

//go:embed *.tmpl
var files embed.FS

var parsed = template.Must(template.New("").Funcs(template.FuncMap{
	"yamlBlock": yamlBlock,
	"quote":     quote,
	"join":      strings.Join,
	"add":       func(a, b int) int { return a + b },
}).ParseFS(files, "*.tmpl"))

// Render executes the named template ("nginx.conf.tmpl") with data.
func Render(name string, data any) (string, error) {
	var b bytes.Buffer
	if err := parsed.ExecuteTemplate(&b, name, data); err != nil {
		return "", fmt.Errorf("render %s: %w", name, err)
	}
	return b.String(), nil
}

// quote makes s a double-quoted scalar, valid in YAML and in shell words
// that need no expansion: JSON string syntax is a subset of YAML's.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// yamlBlock renders s as a YAML literal block indented by indent spaces,
// so files stay readable in `labctl render` output. Content a literal block
// cannot carry exactly (leading spaces, trailing spaces, tabs at line start,
// no trailing newline variants) falls back to a quoted scalar.
func yamlBlock(indent int, s string) string {
	if s == "" || strings.ContainsAny(s, "\r\t") || strings.HasPrefix(s, " ") || strings.HasPrefix(s, "\n") ||
		strings.Contains(s, " \n") || strings.HasSuffix(s, "\n\n") {
		return quote(s)
	}
	chomp := "|"
	if !strings.HasSuffix(s, "\n") {
		chomp = "|-"
	}
	pad := strings.Repeat(" ", indent)
	var b strings.Builder
	b.WriteString(chomp)
	for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		b.WriteByte('\n')
		if line != "" {
			b.WriteString(pad)
			b.WriteString(line)
		}
	}
	return b.String()
}
