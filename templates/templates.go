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
	// JSON leaves DEL and the C1 controls raw, which YAML does not allow
	// in any scalar: escape them as YAML does.
	var out strings.Builder
	for _, r := range string(b) {
		if !yamlPrintable(r) {
			fmt.Fprintf(&out, "\\u%04x", r)
			continue
		}
		out.WriteRune(r)
	}
	return out.String()
}

// yamlPrintable reports whether r may stand as it is in a YAML scalar and
// read back unchanged (YAML 1.2, 5.1 "c-printable", less NEL, which
// parsers fold as a line break).
func yamlPrintable(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return true
	case r < 0x20 || r == 0x7f:
		return false
	case r >= 0x80 && r <= 0x9f:
		return false
	case r >= 0xd800 && r <= 0xdfff, r == 0xfffe, r == 0xffff:
		return false
	}
	return true
}

// yamlBlock renders s as a YAML literal block indented by indent spaces,
// so files stay readable in `labctl render` output. Content a literal block
// cannot carry exactly (leading spaces, trailing spaces, tabs at line start,
// no trailing newline variants) falls back to a quoted scalar.
func yamlBlock(indent int, s string) string {
	if s == "" || strings.ContainsAny(s, "\r\t") || strings.HasPrefix(s, " ") || strings.HasPrefix(s, "\n") ||
		strings.Contains(s, " \n") || strings.HasSuffix(s, "\n\n") || strings.IndexFunc(s, func(r rune) bool { return !yamlPrintable(r) }) >= 0 {
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
