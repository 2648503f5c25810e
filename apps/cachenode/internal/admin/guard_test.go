package admin

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// writes are the state-changing endpoints; every guard test runs on each.
var writes = []struct{ method, path, body string }{
	{"PUT", "/config", `{"policy":"random"}`},
	{"POST", "/clear", ""},
}

func errorBody(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
		t.Fatalf("body is not a JSON {\"error\": ...}: %q (%v)", body, err)
	}
	return e.Error
}

func TestWritesRequireBearerToken(t *testing.T) {
	auth := []struct {
		name, header string
		code         int
	}{
		{"no header", "", http.StatusUnauthorized},
		{"wrong token", "Bearer not-the-token", http.StatusUnauthorized},
		{"token prefix only", "Bearer " + testToken[:4], http.StatusUnauthorized},
		{"token with suffix", "Bearer " + testToken + "x", http.StatusUnauthorized},
		{"basic scheme", "Basic " + testToken, http.StatusUnauthorized},
		{"bare token", testToken, http.StatusUnauthorized},
		{"right token", "Bearer " + testToken, http.StatusOK},
		{"scheme is case-insensitive", "bearer " + testToken, http.StatusOK},
	}
	for _, wr := range writes {
		for _, a := range auth {
			t.Run(wr.method+" "+wr.path+" "+a.name, func(t *testing.T) {
				srv, st := newAPI(t)
				fill(st, 5)
				h := http.Header{"Content-Type": {"application/json"}}
				if a.header != "" {
					h.Set("Authorization", a.header)
				}
				code, body := doWith(t, wr.method, srv.URL+wr.path, wr.body, h)
				if code != a.code {
					t.Fatalf("%s %s with %q = %d %s, want %d", wr.method, wr.path, a.header, code, body, a.code)
				}
				changed := st.Stats().Items != 5 || st.Policy().String() != "lru"
				if code == http.StatusOK {
					if !changed {
						t.Errorf("authorized %s %s changed nothing", wr.method, wr.path)
					}
					return
				}
				if changed {
					t.Errorf("refused %s %s changed the store: items %d policy %s", wr.method, wr.path, st.Stats().Items, st.Policy())
				}
				if msg := errorBody(t, body); !strings.Contains(msg, "Authorization: Bearer") {
					t.Errorf("error %q does not say how to authenticate", msg)
				}
			})
		}
	}
}

func TestUnauthorizedSaysBearer(t *testing.T) {
	srv, _ := newAPI(t)
	req, err := http.NewRequest("POST", srv.URL+"/clear", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("POST /clear without token = %d, WWW-Authenticate %q; want 401 and a Bearer challenge",
			resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

func TestWritesRefusedWithoutConfiguredToken(t *testing.T) {
	for _, wr := range writes {
		for _, header := range []string{"", "Bearer ", "Bearer anything"} {
			t.Run(wr.method+" "+wr.path+" "+header, func(t *testing.T) {
				srv, st := newAPIWithToken(t, "")
				fill(st, 5)
				h := http.Header{"Content-Type": {"application/json"}}
				if header != "" {
					h.Set("Authorization", header)
				}
				code, body := doWith(t, wr.method, srv.URL+wr.path, wr.body, h)
				if code != http.StatusForbidden {
					t.Fatalf("%s %s with no token configured = %d %s, want 403", wr.method, wr.path, code, body)
				}
				if msg := errorBody(t, body); !strings.Contains(msg, "--admin-token-file") {
					t.Errorf("error %q does not name the flag to set", msg)
				}
				if st.Stats().Items != 5 || st.Policy().String() != "lru" {
					t.Errorf("refused write changed the store")
				}
			})
		}
	}
}

func TestReadsStayOpen(t *testing.T) {
	for _, token := range []string{"", testToken} {
		srv, _ := newAPIWithToken(t, token)
		for _, path := range []string{"/stats", "/config", "/healthz", "/metrics"} {
			if code, body := doWith(t, "GET", srv.URL+path, "", nil); code != http.StatusOK {
				t.Errorf("GET %s without credentials (token configured: %v) = %d %s, want 200", path, token != "", code, body)
			}
		}
	}
}

func TestCrossSiteWritesRefused(t *testing.T) {
	tests := []struct {
		name   string
		header func(host string) http.Header
		code   int
	}{
		{"other origin", func(string) http.Header { return http.Header{"Origin": {"https://evil.example"}} }, http.StatusForbidden},
		{"same host other port", func(host string) http.Header {
			return http.Header{"Origin": {"http://" + strings.Split(host, ":")[0] + ":1"}}
		}, http.StatusForbidden},
		{"opaque origin", func(string) http.Header { return http.Header{"Origin": {"null"}} }, http.StatusForbidden},
		{"unparsable origin", func(string) http.Header { return http.Header{"Origin": {"http://[::1"}} }, http.StatusForbidden},
		{"fetch metadata cross-site", func(string) http.Header { return http.Header{"Sec-Fetch-Site": {"cross-site"}} }, http.StatusForbidden},
		{"same origin", func(host string) http.Header { return http.Header{"Origin": {"http://" + host}} }, http.StatusOK},
		{"fetch metadata same-origin", func(string) http.Header { return http.Header{"Sec-Fetch-Site": {"same-origin"}} }, http.StatusOK},
		{"no browser headers", func(string) http.Header { return http.Header{} }, http.StatusOK},
	}
	for _, wr := range writes {
		for _, tt := range tests {
			t.Run(wr.method+" "+wr.path+" "+tt.name, func(t *testing.T) {
				srv, st := newAPI(t)
				fill(st, 5)
				host := strings.TrimPrefix(srv.URL, "http://")
				h := tt.header(host)
				// The right token does not make a cross-site request acceptable.
				h.Set("Authorization", "Bearer "+testToken)
				h.Set("Content-Type", "application/json")
				code, body := doWith(t, wr.method, srv.URL+wr.path, wr.body, h)
				if code != tt.code {
					t.Fatalf("%s %s with %v = %d %s, want %d", wr.method, wr.path, h, code, body, tt.code)
				}
				if code == http.StatusForbidden {
					if msg := errorBody(t, body); !strings.Contains(msg, "cross-") {
						t.Errorf("error %q does not say the request was cross-site", msg)
					}
					if st.Stats().Items != 5 || st.Policy().String() != "lru" {
						t.Errorf("refused cross-site write changed the store")
					}
				}
			})
		}
	}
}

// TestBrowserSimpleRequestCannotClear replays what a page on another site
// can send without a CORS preflight: a form POST with no credentials.
func TestBrowserSimpleRequestCannotClear(t *testing.T) {
	srv, st := newAPI(t)
	fill(st, 5)
	h := http.Header{"Origin": {"https://evil.example"}, "Content-Type": {"application/x-www-form-urlencoded"}, "Sec-Fetch-Site": {"cross-site"}}
	if code, body := doWith(t, "POST", srv.URL+"/clear", "a=b", h); code != http.StatusForbidden {
		t.Errorf("cross-site form POST /clear = %d %s, want 403", code, body)
	}
	if n := st.Stats().Items; n != 5 {
		t.Errorf("items after the refused clear = %d, want 5", n)
	}
}

func TestPutConfigRequiresJSONContentType(t *testing.T) {
	tests := []struct {
		name, contentType string
		code              int
	}{
		{"missing", "", http.StatusUnsupportedMediaType},
		{"form", "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
		{"multipart", "multipart/form-data; boundary=x", http.StatusUnsupportedMediaType},
		{"text", "text/plain", http.StatusUnsupportedMediaType},
		{"malformed", "application/json; =", http.StatusUnsupportedMediaType},
		{"json", "application/json", http.StatusOK},
		{"json with charset", "application/json; charset=utf-8", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, st := newAPI(t)
			h := http.Header{"Authorization": {"Bearer " + testToken}}
			if tt.contentType != "" {
				h.Set("Content-Type", tt.contentType)
			}
			code, body := doWith(t, "PUT", srv.URL+"/config", `{"policy":"random"}`, h)
			if code != tt.code {
				t.Fatalf("PUT /config with Content-Type %q = %d %s, want %d", tt.contentType, code, body, tt.code)
			}
			if code != http.StatusOK {
				if msg := errorBody(t, body); !strings.Contains(msg, "application/json") {
					t.Errorf("error %q does not say what is allowed", msg)
				}
				if st.Policy().String() != "lru" {
					t.Errorf("refused PUT changed the policy to %s", st.Policy())
				}
			}
		})
	}
}
