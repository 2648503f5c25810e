// Package templates holds the manager's HTML pages, parsed once.
package templates

import (
	"embed"
	"html/template"
)

//go:embed *.html
var files embed.FS

// Pages are the parsed templates, each rendering "layout" from layout.html.
var Pages = map[string]*template.Template{}

func init() {
	funcs := template.FuncMap{
		"trim": formatFloat,
	}
	for _, name := range []string{"login.html", "dashboard.html", "decisions.html", "delete.html", "error.html"} {
		Pages[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(files, "layout.html", "loglist.html", name))
	}
}
