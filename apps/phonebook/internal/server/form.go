package server

import (
	"bytes"
	_ "embed"
	"html/template"
	"net/http"
	"net/url"

	"github.com/cloudlabs/cloudlabs/apps/phonebook/internal/contact"
	"github.com/cloudlabs/cloudlabs/internal/appkit"
)

//go:embed form.html
var formHTML string

var formTemplate = template.Must(template.New("form").Parse(formHTML))

// formPage is what form.html shows: the form, with a confirmation after a
// save, or with the error and what the user typed after a refused POST.
type formPage struct {
	Saved, SavedHref    string
	Error, Name, Number string
	MaxName, MaxNumber  int
}

// addForm serves the form at GET /add/, with a confirmation after a save
// (the POST redirects here with ?saved=<name>).
func (s *Server) addForm(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	page := formPage{}
	if saved, err := contact.Name(r.URL.Query().Get("saved")); err == nil {
		page.Saved, page.SavedHref = saved, getHref(saved)
	}
	s.renderForm(w, http.StatusOK, page)
}

// renderForm writes the form page with status; html/template escapes every
// value for its context (element text, attribute, URL).
func (s *Server) renderForm(w http.ResponseWriter, status int, page formPage) {
	page.MaxName, page.MaxNumber = contact.MaxNameBytes, contact.MaxNumberBytes
	var buf bytes.Buffer
	if err := formTemplate.Execute(&buf, page); err != nil {
		s.Logger.Error("render form", "err", err)
		appkit.WriteError(w, http.StatusInternalServerError, "cannot render the form")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
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
