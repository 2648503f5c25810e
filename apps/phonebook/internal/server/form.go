package server

import (
	_ "embed"
	"html/template"
	"net/http"
	"net/url"

	"github.com/cloudlabs/cloudlabs/apps/phonebook/internal/contact"
)

//go:embed form.html
var formHTML string

var formTemplate = template.Must(template.New("form").Parse(formHTML))

// addForm serves the form at GET /add/, with a confirmation after a save
// (the POST redirects here with ?saved=<name>).
func (s *Server) addForm(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	saved, err := contact.Name(r.URL.Query().Get("saved"))
	if err != nil {
		saved = ""
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	err = formTemplate.Execute(w, map[string]any{
		"Saved":     saved,
		"SavedHref": getHref(saved),
		"MaxName":   contact.MaxNameBytes,
		"MaxNumber": contact.MaxNumberBytes,
	})
	if err != nil {
		s.Logger.Error("render form", "err", err)
	}
}

// getHref is the link to a contact's JSON. Path escaping keeps '/', '?' and
// '%' inside the one segment, but not dots: a browser resolves the segments
// "." and ".." (and, per the WHATWG URL standard, their %2e spellings too)
// before sending, so /get/.. and /get/%2E%2E both lead to /. Those two
// names are linked by query instead (GET /get?name=..).
func getHref(name string) string {
	if name == "." || name == ".." {
		return "/get?name=" + url.QueryEscape(name)
	}
	return "/get/" + url.PathEscape(name)
}
