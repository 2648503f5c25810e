package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/appkit"
)

// Sessions are stateless: the cookie is "<expiry>.<HMAC(token, expiry)>",
// so it survives a restart of the manager and dies with a rotated token.
// The CSRF token of a session is HMAC(token, "csrf" + cookie): forms carry
// it in a hidden field.
const (
	cookieName = "manager_session"
	sessionTTL = 12 * time.Hour
)

func (s *Server) mac(parts ...string) string {
	m := hmac.New(sha256.New, []byte(s.Token))
	m.Write([]byte(strings.Join(parts, "|")))
	return hex.EncodeToString(m.Sum(nil))
}

func (s *Server) newSession(now time.Time) string {
	exp := strconv.FormatInt(now.Add(sessionTTL).Unix(), 10)
	return exp + "." + s.mac("session", exp)
}

// session returns the request's valid session cookie value, or "".
func (s *Server) session(r *http.Request) string {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return ""
	}
	exp, sig, ok := strings.Cut(c.Value, ".")
	if !ok {
		return ""
	}
	n, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || s.now().Unix() > n {
		return ""
	}
	if !hmac.Equal([]byte(sig), []byte(s.mac("session", exp))) {
		return ""
	}
	return c.Value
}

func (s *Server) csrfToken(session string) string { return s.mac("csrf", session) }

// bearer reports whether the request carries the API token.
func (s *Server) bearer(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.Token)) == 1
}

func (s *Server) tokenMatches(t string) bool {
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(t)), []byte(s.Token)) == 1
}

// api guards an API route: the bearer token, or for reads a signed-in
// browser's session (the dashboard's refresh script).
func (s *Server) api(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.bearer(r) || (r.Method == http.MethodGet && s.session(r) != "") {
			h(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="manager"`)
		msg := "missing or wrong token: send Authorization: Bearer <token> (the manager's --token-file)"
		if r.Header.Get("Authorization") == "" {
			msg = "no token: send Authorization: Bearer <token> (the manager's --token-file)"
		}
		appkit.WriteError(w, http.StatusUnauthorized, msg)
	}
}

// page guards a page: signed in, or off to the sign-in form.
func (s *Server) page(h func(w http.ResponseWriter, r *http.Request, session string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess := s.session(r)
		if sess == "" {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		h(w, r, sess)
	}
}

// form guards a state-changing form: signed in and the session's CSRF
// token in the "csrf" field (cross-origin posts are refused before, by
// http.CrossOriginProtection).
func (s *Server) form(h func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	return s.page(func(w http.ResponseWriter, r *http.Request, sess string) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			s.pageError(w, http.StatusBadRequest, fmt.Sprintf("The form could not be read: %v.", err))
			return
		}
		if !hmac.Equal([]byte(r.PostForm.Get("csrf")), []byte(s.csrfToken(sess))) {
			s.pageError(w, http.StatusForbidden, "This form lacks its security token (it may be from an older page). Reload the dashboard and send it again.")
			return
		}
		h(w, r)
	})
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "login.html", map[string]any{"Title": "Sign in"})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil || !s.tokenMatches(r.PostForm.Get("token")) {
		s.render(w, http.StatusUnauthorized, "login.html", map[string]any{"Title": "Sign in", "Error": "That is not the manager's token."})
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: s.newSession(s.now()), Path: "/", MaxAge: int(sessionTTL / time.Second),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
