package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/apps/phonebook/internal/cache"
	"github.com/cloudlabs/cloudlabs/apps/phonebook/internal/contact"
	"github.com/cloudlabs/cloudlabs/apps/phonebook/internal/store"
	"github.com/cloudlabs/cloudlabs/internal/appkit"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

// phonebook is a server under test on a real loopback listener.
type phonebook struct {
	t    testing.TB
	url  string
	http *http.Client
}

// start serves st (a fresh bolt file when nil) with a cache on memcachedAddr
// when it is not empty.
func start(t testing.TB, st store.Store, memcachedAddr string) *phonebook {
	t.Helper()
	return serve(t, newServer(t, st, newCache(t, memcachedAddr)))
}

// newCache is a cache on memcachedAddr with the lab's TTL, nil for "".
func newCache(t testing.TB, memcachedAddr string) *cache.Cache {
	t.Helper()
	if memcachedAddr == "" {
		return nil
	}
	c, err := cache.New(memcachedAddr, cache.Options{TTL: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// serve runs s on a real loopback listener.
func serve(t testing.TB, s *Server) *phonebook {
	t.Helper()
	srv := httptest.NewUnstartedServer(s.Handler())
	srv.Listener = JSONErrors(srv.Listener) // as main.go serves it
	srv.Start()
	t.Cleanup(srv.Close)
	// Do not follow redirects: the 303 after a form POST is what we check.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &phonebook{t: t, url: srv.URL, http: client}
}

// newServer is a Server over st (a fresh bolt file when nil) with cache c
// (nil: none).
func newServer(t testing.TB, st store.Store, c *cache.Cache) *Server {
	t.Helper()
	if st == nil {
		b, err := store.OpenBolt(filepath.Join(t.TempDir(), "contacts.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		st = b
	}
	s := &Server{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: appkit.NewMetrics("phonebook")}
	if c != nil {
		s.Cache = c
	}
	return s
}

type reply struct {
	status int
	header http.Header
	body   string
}

func (p *phonebook) do(method, path, contentType, body string, header ...string) reply {
	p.t.Helper()
	// Errorf, not Fatal: subtests call this, and p.t is their parent.
	req, err := http.NewRequest(method, p.url+path, strings.NewReader(body))
	if err != nil {
		p.t.Errorf("%s %s: %v", method, path, err)
		return reply{}
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := p.http.Do(req)
	if err != nil {
		p.t.Errorf("%s %s: %v", method, path, err)
		return reply{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b)}
}

// add posts a form asking for JSON back.
func (p *phonebook) add(name, number string) reply {
	p.t.Helper()
	form := url.Values{"name": {name}, "number": {number}}.Encode()
	return p.do("POST", "/add/handle/", "application/x-www-form-urlencoded", form, "Accept", "application/json")
}

func (p *phonebook) get(name string) reply {
	p.t.Helper()
	return p.do("GET", "/get/"+url.PathEscape(name), "", "")
}

// wantContact checks a 200 JSON reply holding exactly want.
func wantContact(t *testing.T, r reply, status int, want contact.Contact) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d (body %s)", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	var got contact.Contact
	if err := json.Unmarshal([]byte(r.body), &got); err != nil || got != want {
		t.Fatalf("body %s (%v), want %+q", r.body, err, want)
	}
}

// wantError checks a JSON error reply with the status and a message
// containing substr.
func wantError(t *testing.T, r reply, status int, substr string) {
	t.Helper()
	var e appkit.Error
	if r.status != status || json.Unmarshal([]byte(r.body), &e) != nil || !strings.Contains(e.Error, substr) {
		t.Fatalf("got %d %s, want %d with a JSON error mentioning %q", r.status, r.body, status, substr)
	}
}

func TestForm(t *testing.T) {
	p := start(t, nil, "")
	r := p.do("GET", "/add/", "", "")
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /add/ = %d %s", r.status, r.header.Get("Content-Type"))
	}
	for _, want := range []string{`action="/add/handle/"`, `method="post"`, `name="name"`, `name="number"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("form lacks %s", want)
		}
	}
}

func TestAddAndGet(t *testing.T) {
	p := start(t, nil, "")
	tests := []struct {
		name   string
		person contact.Contact
	}{
		{"plain", contact.Contact{Name: "John Doe", Number: "+358408053254"}},
		{"unicode", contact.Contact{Name: "Jöhn 山田 🙂", Number: "040 123 4567"}},
		{"slash", contact.Contact{Name: "a/b", Number: "(09) 123-45"}},
		{"question mark", contact.Contact{Name: "who?x=1&y=2", Number: "1"}},
		{"percent", contact.Contact{Name: "100%2F", Number: "2"}},
		{"dot dot", contact.Contact{Name: "..", Number: "3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantContact(t, p.add(tt.person.Name, tt.person.Number), http.StatusCreated, tt.person)
			wantContact(t, p.get(tt.person.Name), http.StatusOK, tt.person)
		})
	}
	t.Run("form post redirects with confirmation", func(t *testing.T) {
		r := p.do("POST", "/add/handle/", "application/x-www-form-urlencoded", "name=Mia&number=555")
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/add/?saved=Mia" {
			t.Fatalf("got %d Location %q, want 303 to /add/?saved=Mia", r.status, r.header.Get("Location"))
		}
		if page := p.do("GET", r.header.Get("Location"), "", ""); !strings.Contains(page.body, "Saved") {
			t.Fatalf("confirmation page lacks Saved: %s", page.body)
		}
		wantContact(t, p.get("Mia"), http.StatusOK, contact.Contact{Name: "Mia", Number: "555"})
	})
	t.Run("multipart", func(t *testing.T) {
		body := "--XX\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nMulti Part\r\n" +
			"--XX\r\nContent-Disposition: form-data; name=\"number\"\r\n\r\n42\r\n--XX--\r\n"
		r := p.do("POST", "/add/handle/", "multipart/form-data; boundary=XX", body, "Accept", "application/json")
		wantContact(t, r, http.StatusCreated, contact.Contact{Name: "Multi Part", Number: "42"})
	})
	t.Run("surrounding whitespace is trimmed", func(t *testing.T) {
		wantContact(t, p.add("  Ann  ", " 12 "), http.StatusCreated, contact.Contact{Name: "Ann", Number: "12"})
	})
	t.Run("overwrite", func(t *testing.T) {
		p.add("John Doe", "1")
		wantContact(t, p.get("John Doe"), http.StatusOK, contact.Contact{Name: "John Doe", Number: "1"})
	})
	t.Run("unknown name", func(t *testing.T) {
		wantError(t, p.get("Nobody"), http.StatusNotFound, "Nobody")
	})
}

func TestBadInput(t *testing.T) {
	p := start(t, nil, "")
	form := "application/x-www-form-urlencoded"
	tests := []struct {
		name        string
		contentType string
		body        string
		status      int
		mention     string
	}{
		{"missing name", form, "number=1", 400, "name"},
		{"missing number", form, "name=NoNumber", 400, "number"},
		{"control character", form, "name=Bad%01Name&number=1", 400, "control"},
		{"invalid utf8", form, "name=Bad%FFName&number=1", 400, "UTF-8"},
		{"long name", form, "name=" + strings.Repeat("x", contact.MaxNameBytes+1) + "&number=1", 400, "256"},
		{"letters in number", form, "name=Letters&number=12ab", 400, "digits"},
		{"number without digits", form, "name=NoDigits&number=%2B-", 400, "digit"},
		{"long number", form, "name=LongNumber&number=" + strings.Repeat("1", 33), 400, "32"},
		{"body too large", form, "name=Huge&number=1&pad=" + strings.Repeat("x", MaxBodyBytes), 413, "limit"},
		{"json body", "application/json", `{"name":"Json","number":"1"}`, 415, "form"},
		{"bad escape", form, "name=%zz&number=1", 400, "parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := p.do("POST", "/add/handle/", tt.contentType, tt.body, "Accept", "application/json")
			wantError(t, r, tt.status, tt.mention)
		})
	}
	t.Run("nothing was stored", func(t *testing.T) {
		r := p.do("GET", "/list?limit=100", "", "")
		if r.status != 200 || !strings.Contains(r.body, `"contacts":[]`) {
			t.Fatalf("after bad input /list = %d %s, want an empty list", r.status, r.body)
		}
	})
	t.Run("bad names in the path", func(t *testing.T) {
		for path, mention := range map[string]string{
			"/get/":          "empty",
			"/get/a%01b":     "control",
			"/get/%20padded": "whitespace",
		} {
			wantError(t, p.do("GET", path, "", ""), 400, mention)
		}
	})
	t.Run("bad list parameters", func(t *testing.T) {
		for _, q := range []string{"limit=0", "limit=101", "limit=x", "after=" + strings.Repeat("x", 257)} {
			wantError(t, p.do("GET", "/list?"+q, "", ""), 400, strings.SplitN(q, "=", 2)[0])
		}
	})
}

func TestMethods(t *testing.T) {
	p := start(t, nil, "")
	tests := []struct{ method, path, allow string }{
		{"GET", "/add/handle/", "POST"},
		{"POST", "/add/", "GET, HEAD"},
		{"POST", "/get/x", "GET, HEAD"},
		{"DELETE", "/list", "GET, HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := p.do(tt.method, tt.path, "", "")
			wantError(t, r, http.StatusMethodNotAllowed, "not allowed")
			if got := r.header.Get("Allow"); got != tt.allow {
				t.Fatalf("Allow %q, want %q", got, tt.allow)
			}
		})
	}
	t.Run("unknown path", func(t *testing.T) {
		wantError(t, p.do("GET", "/nope", "", ""), http.StatusNotFound, "no such endpoint")
	})
}

func TestList(t *testing.T) {
	p := start(t, nil, "")
	names := []string{"Ö", "b", "a/b", "A", "c?d"}
	for _, n := range names {
		p.add(n, "1")
	}
	var got []string
	path := "/list?limit=2"
	for pages := 0; path != ""; pages++ {
		if pages > 5 {
			t.Fatal("too many pages")
		}
		r := p.do("GET", path, "", "")
		var page struct {
			Contacts []contact.Contact `json:"contacts"`
			Next     string            `json:"next"`
		}
		if r.status != 200 || json.Unmarshal([]byte(r.body), &page) != nil {
			t.Fatalf("GET %s = %d %s", path, r.status, r.body)
		}
		for _, c := range page.Contacts {
			got = append(got, c.Name)
		}
		path = ""
		if page.Next != "" {
			path = "/list?limit=2&after=" + url.QueryEscape(page.Next)
		}
	}
	want := []string{"A", "a/b", "b", "c?d", "Ö"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("listed %q, want %q", got, want)
	}
}

func TestCacheReadAfterWrite(t *testing.T) {
	mc := testkit.Memcached(t)
	p := start(t, nil, mc.Addr)
	steps := []struct {
		name   string
		number string
	}{{"first write", "111"}, {"overwrite", "222"}, {"overwrite again", "333"}}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			want := contact.Contact{Name: "Cached Carl", Number: s.number}
			wantContact(t, p.add(want.Name, want.Number), http.StatusCreated, want)
			for range 3 { // the first read may fill the cache, the next ones hit it
				wantContact(t, p.get(want.Name), http.StatusOK, want)
			}
		})
	}
	t.Run("hits are counted", func(t *testing.T) {
		m := p.do("GET", "/metrics", "", "").body
		if !strings.Contains(m, `phonebook_cache_lookups_total{result="hit"}`) {
			t.Fatalf("/metrics lacks cache hits:\n%s", m)
		}
	})
}

func TestCacheOutage(t *testing.T) {
	mc := testkit.Memcached(t)
	p := start(t, nil, mc.Addr)
	before := contact.Contact{Name: "Olga", Number: "1"}
	wantContact(t, p.add(before.Name, before.Number), http.StatusCreated, before)
	wantContact(t, p.get(before.Name), http.StatusOK, before)

	mc.Stop()
	t.Run("reads fall back to the store", func(t *testing.T) {
		wantContact(t, p.get(before.Name), http.StatusOK, before)
	})
	t.Run("writes still succeed", func(t *testing.T) {
		after := contact.Contact{Name: "Olga", Number: "2"}
		wantContact(t, p.add(after.Name, after.Number), http.StatusCreated, after)
		wantContact(t, p.get(after.Name), http.StatusOK, after)
	})
	t.Run("errors are counted", func(t *testing.T) {
		m := p.do("GET", "/metrics", "", "").body
		if !strings.Contains(m, `phonebook_cache_lookups_total{result="error"}`) {
			t.Fatalf("/metrics lacks cache errors:\n%s", m)
		}
	})
}

// brokenStore fails every call, as an unreachable Riak cluster would.
type brokenStore struct{}

var errBroken = errors.New("riak: no nodes available")

func (brokenStore) Get(context.Context, string) (contact.Contact, error) {
	return contact.Contact{}, errBroken
}
func (brokenStore) Put(context.Context, contact.Contact) error { return errBroken }
func (brokenStore) List(context.Context, string, int) ([]contact.Contact, error) {
	return nil, errBroken
}
func (brokenStore) Close() error { return nil }

func TestStoreFailure(t *testing.T) {
	p := start(t, brokenStore{}, "")
	tests := []struct {
		name string
		r    func() reply
	}{
		{"get", func() reply { return p.get("x") }},
		{"add", func() reply { return p.add("x", "1") }},
		{"list", func() reply { return p.do("GET", "/list", "", "") }},
		{"readyz", func() reply { return p.do("GET", "/readyz", "", "") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, tt.r(), http.StatusServiceUnavailable, "")
		})
	}
	t.Run("healthz stays up", func(t *testing.T) {
		if r := p.do("GET", "/healthz", "", ""); r.status != 200 {
			t.Fatalf("/healthz = %d", r.status)
		}
	})
}

// TestNamesAreOneContactWhateverTheirNormalization adds "René" in one
// Unicode form and looks it up in the other: both forms are one contact,
// stored in NFC.
func TestNamesAreOneContactWhateverTheirNormalization(t *testing.T) {
	const nfc, nfd = "Ren\u00e9", "Rene\u0301"
	tests := []struct{ name, add, get string }{
		{"add NFD get NFC", nfd, nfc},
		{"add NFC get NFD", nfc, nfd},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := start(t, nil, "")
			want := contact.Contact{Name: nfc, Number: "040 1"}
			wantContact(t, p.add(tt.add, want.Number), http.StatusCreated, want)
			wantContact(t, p.get(tt.get), http.StatusOK, want)
			wantContact(t, p.get(tt.add), http.StatusOK, want)

			// The other form overwrites the same contact: the list has one.
			want.Number = "040 2"
			wantContact(t, p.add(tt.get, want.Number), http.StatusCreated, want)
			r := p.do("GET", "/list", "", "")
			var page struct{ Contacts []contact.Contact }
			if r.status != 200 || json.Unmarshal([]byte(r.body), &page) != nil {
				t.Fatalf("GET /list = %d %s", r.status, r.body)
			}
			if len(page.Contacts) != 1 || page.Contacts[0] != want {
				t.Fatalf("listed %+q, want exactly [%+q]", page.Contacts, want)
			}
			// A cursor in the other form skips the contact like its NFC twin.
			r = p.do("GET", "/list?after="+url.QueryEscape(nfd), "", "")
			if r.status != 200 || !strings.Contains(r.body, `"contacts":[]`) {
				t.Fatalf("GET /list?after=<NFD> = %d %s, want an empty page", r.status, r.body)
			}
		})
	}
}

// TestRequestsNetHTTPRejectsGetJSONErrors sends requests net/http refuses
// before any handler runs, over a raw connection, and checks each gets the
// documented JSON 400 naming the problem.
func TestRequestsNetHTTPRejectsGetJSONErrors(t *testing.T) {
	p := start(t, nil, "")
	tests := []struct {
		name     string
		requests []string // sent one after the other on one connection; the last is refused
		mention  string
	}{
		{"lone percent", []string{"GET /get/% HTTP/1.1\r\nHost: x\r\n\r\n"}, `bad URL escape in request path "/get/%"`},
		{"percent without hex", []string{"GET /get/%zz HTTP/1.1\r\nHost: x\r\n\r\n"}, `"/get/%zz"`},
		{"after a good request on the same connection", []string{
			"POST /add/handle/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 15\r\n\r\nname=Q&number=1",
			"GET /get/a%2 HTTP/1.1\r\nHost: x\r\n\r\n",
		}, `"/get/a%2"`},
		{"missing Host header", []string{"GET /get/x HTTP/1.1\r\n\r\n"}, "Host header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", strings.TrimPrefix(p.url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			br := bufio.NewReader(conn)
			var last reply
			for _, req := range tt.requests {
				if _, err := io.WriteString(conn, req); err != nil {
					t.Fatal(err)
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("reading the reply to %q: %v", req, err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				last = reply{resp.StatusCode, resp.Header, string(b)}
			}
			if ct := last.header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q, want application/json (body %q)", ct, last.body)
			}
			wantError(t, last, http.StatusBadRequest, tt.mention)
		})
	}
}

// browserDotSegment reports whether a browser would resolve the path
// segment away: "." and "..", with any dot spelled %2e or %2E (WHATWG URL
// standard, "single-dot" and "double-dot path segment").
func browserDotSegment(seg string) bool {
	s := strings.ReplaceAll(strings.ToLower(seg), "%2e", ".")
	return s == "." || s == ".."
}

// TestSavedLinkLeadsToTheContact adds contacts with the browser form and
// follows the "Saved" link on the confirmation page: it must be a link a
// browser sends unchanged, and lead to that contact.
func TestSavedLinkLeadsToTheContact(t *testing.T) {
	p := start(t, nil, "")
	hrefRE := regexp.MustCompile(`role="status">Saved <a href="([^"]*)">`)
	for _, name := range []string{"..", ".", "...", "a/b", "100%", "x?y=1", "Jöhn 山田"} {
		t.Run(name, func(t *testing.T) {
			form := url.Values{"name": {name}, "number": {"1"}}.Encode()
			r := p.do("POST", "/add/handle/", "application/x-www-form-urlencoded", form)
			if r.status != http.StatusSeeOther {
				t.Fatalf("POST = %d %s, want 303", r.status, r.body)
			}
			page := p.do("GET", r.header.Get("Location"), "", "")
			m := hrefRE.FindStringSubmatch(page.body)
			if m == nil {
				t.Fatalf("confirmation page has no Saved link:\n%s", page.body)
			}
			href := html.UnescapeString(m[1])
			u, err := url.Parse(href)
			if err != nil {
				t.Fatalf("link %q: %v", href, err)
			}
			for _, seg := range strings.Split(u.EscapedPath(), "/") {
				if browserDotSegment(seg) {
					t.Fatalf("link %q has the segment %q, which a browser resolves away", href, seg)
				}
			}
			wantContact(t, p.do("GET", href, "", ""), http.StatusOK, contact.Contact{Name: name, Number: "1"})
		})
	}
	t.Run("escaped dots in the path are the name", func(t *testing.T) {
		// What non-browser clients may send; %2E%2E is not resolved here.
		for _, path := range []string{"/get/%2E%2E", "/get/%2e%2e", "/get/.%2E"} {
			wantContact(t, p.do("GET", path, "", ""), http.StatusOK, contact.Contact{Name: "..", Number: "1"})
		}
	})
	t.Run("query lookup without a name", func(t *testing.T) {
		wantError(t, p.do("GET", "/get", "", ""), http.StatusBadRequest, "name: missing")
		wantError(t, p.do("GET", "/get?name=%", "", ""), http.StatusBadRequest, "%25")
	})
}

// browserAccept is what Firefox sends for a page.
const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

// TestBrowserMistakesGetTheFormAgain posts bad input as a browser and as
// API clients: the browser gets an HTML page with the error and the form
// (what it typed kept, escaped), API clients keep their JSON error.
func TestBrowserMistakesGetTheFormAgain(t *testing.T) {
	p := start(t, nil, "")
	form := "application/x-www-form-urlencoded"
	tests := []struct {
		name, contentType, body string
		status                  int
		mention                 string // in the error, JSON or HTML
		typed                   string // a value the page keeps, HTML-escaped
	}{
		{"empty name", form, "name=&number=040+123", 400, "name: must not be empty", `value="040 123"`},
		{"bad number", form, "name=Ann&number=12ab", 400, "only digits, spaces and + - . ( ) are allowed", `value="Ann"`},
		{"markup in the name is escaped", form, "name=%3Cscript%3Ealert(1)%3C%2Fscript%3E&number=x", 400, "number:", `value="&lt;script&gt;alert(1)&lt;/script&gt;"`},
		{"not a form", "text/plain", "Ann 1", 415, "not supported", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/browser", func(t *testing.T) {
			r := p.do("POST", "/add/handle/", tt.contentType, tt.body, "Accept", browserAccept)
			if r.status != tt.status || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
				t.Fatalf("got %d %q, want %d text/html:\n%s", r.status, r.header.Get("Content-Type"), tt.status, r.body)
			}
			for _, want := range []string{`role="alert"`, `action="/add/handle/"`, `name="number"`, tt.typed} {
				if !strings.Contains(r.body, want) {
					t.Errorf("page lacks %s:\n%s", want, r.body)
				}
			}
			if !strings.Contains(html.UnescapeString(r.body), tt.mention) {
				t.Errorf("page does not show the error %q:\n%s", tt.mention, r.body)
			}
			if strings.Contains(r.body, "<script>") {
				t.Errorf("page contains unescaped markup from the request:\n%s", r.body)
			}
		})
		for _, accept := range []string{"application/json", "", "*/*"} {
			t.Run(tt.name+"/Accept "+accept, func(t *testing.T) {
				wantError(t, p.do("POST", "/add/handle/", tt.contentType, tt.body, "Accept", accept), tt.status, tt.mention)
			})
		}
	}
	t.Run("nothing was stored", func(t *testing.T) {
		if r := p.do("GET", "/list", "", ""); !strings.Contains(r.body, `"contacts":[]`) {
			t.Fatalf("/list after refused posts = %s, want no contacts", r.body)
		}
	})
}
