package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/cloudlabs/cloudlabs/internal/appkit"
)

// TokenFlag is the flag that configures the write token; error replies
// name it so an operator knows what to set.
const TokenFlag = "--admin-token-file"

// guardWrite wraps a state-changing endpoint: it refuses cross-site
// requests (a browser page elsewhere must not clear the cache), then
// requires "Authorization: Bearer <token>" matching a.Token. Reads are not
// wrapped: Prometheus scrapes /metrics without credentials.
func (a *API) guardWrite(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if msg := crossSite(r); msg != "" {
			appkit.WriteError(w, http.StatusForbidden, msg)
			return
		}
		if a.Token == "" {
			appkit.WriteError(w, http.StatusForbidden,
				"writes are disabled: no admin token configured; start cachenode with "+TokenFlag+" <file> (env CACHENODE_ADMIN_TOKEN_FILE)")
			return
		}
		if !a.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="cachenode admin"`)
			appkit.WriteError(w, http.StatusUnauthorized, "missing or wrong token: send the header \"Authorization: Bearer <token>\" with the token from "+TokenFlag)
			return
		}
		h(w, r)
	}
}

// authorized compares the bearer token in constant time; hashing both
// sides first makes the comparison independent of the lengths too.
func (a *API) authorized(r *http.Request) bool {
	const prefix = "bearer "
	v := r.Header.Get("Authorization")
	if len(v) < len(prefix) || !strings.EqualFold(v[:len(prefix)], prefix) {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(v[len(prefix):])))
	want := sha256.Sum256([]byte(a.Token))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// crossSite explains why r looks like a browser request from another site,
// or returns "". Browsers send Origin on cross-origin POST and PUT and
// Sec-Fetch-Site on every request; non-browser clients send neither.
func crossSite(r *http.Request) string {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return "cross-site request refused (Sec-Fetch-Site: cross-site): call the admin API from a server-side client"
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return ""
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
		return "cross-origin request refused: Origin " + quote(origin) + " does not match host " + quote(r.Host)
	}
	return ""
}

// requireJSON refuses bodies a cross-site HTML form or a "simple" fetch can
// send (form-urlencoded, multipart, text/plain): only JSON configures.
func requireJSON(r *http.Request) string {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return "Content-Type " + quote(ct) + ": want application/json"
	}
	return ""
}

func quote(s string) string {
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}
