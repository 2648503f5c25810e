// Package templates holds the gallery's HTML pages, parsed once.
package templates

import (
	"embed"
	"html/template"
)

//go:embed *.html
var files embed.FS

// Pages are the parsed templates: upload.html, key.html, keys.html,
// error.html, each rendering "layout" from layout.html.
var Pages = map[string]*template.Template{}

func init() {
	for _, name := range []string{"upload.html", "key.html", "keys.html", "error.html"} {
		Pages[name] = template.Must(template.ParseFS(files, "layout.html", name))
	}
}
