package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/apps/gallery/internal/blob"
	"github.com/cloudlabs/cloudlabs/apps/gallery/internal/cache"
	"github.com/cloudlabs/cloudlabs/apps/gallery/internal/gallerytest"
	"github.com/cloudlabs/cloudlabs/apps/gallery/internal/images"
	"github.com/cloudlabs/cloudlabs/apps/gallery/internal/meta"
	"github.com/cloudlabs/cloudlabs/internal/appkit"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

const testBucket = "gallery-test"

// stack is the real services one test shares: PostgreSQL, versitygw and
// memcached nodes.
type stack struct {
	dbURL string
	s3    *gallerytest.S3
	nodes []*testkit.Process
}

func newStack(t *testing.T, memcachedNodes int, memcachedArgs ...string) *stack {
	t.Helper()
	st := &stack{dbURL: gallerytest.Postgres(t), s3: gallerytest.Versitygw(t)}
	for range memcachedNodes {
		st.nodes = append(st.nodes, testkit.Memcached(t, memcachedArgs...))
	}
	return st
}

func (st *stack) nodeAddrs() []string {
	var a []string
	for _, n := range st.nodes {
		a = append(a, n.Addr)
	}
	return a
}

// gallery is one running gallery over a stack: a real listener.
type gallery struct {
	url     string
	svc     *images.Service
	pool    *cache.Pool
	metrics *appkit.Metrics
	srv     *httptest.Server
}

type galleryOpts struct {
	scheme   string
	maxItem  int
	maxImage int64
	pageSize int
	noNodes  bool // start with an empty pool (a manager will fill it)
}

func (st *stack) start(t *testing.T, o galleryOpts) *gallery {
	t.Helper()
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := appkit.NewMetrics("gallery")
	ms, err := meta.Open(ctx, st.dbURL)
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	bs, err := blob.Open(ctx, blob.Options{Bucket: testBucket, Region: "us-east-1", Endpoint: st.s3.Endpoint,
		AccessKey: st.s3.AccessKey, SecretKey: st.s3.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	if err := bs.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	pool, err := cache.New(cache.Options{Scheme: o.scheme, MaxItem: o.maxItem, Timeout: 500 * time.Millisecond, Registerer: m.Registry, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.nodes) > 0 && !o.noNodes {
		if err := pool.SetNodes(cache.NoEpoch, st.nodeAddrs()); err != nil {
			t.Fatal(err)
		}
	}
	svc := images.NewService(ms, bs, pool, logger, m.Registry)
	s := &Server{Images: svc, Logger: logger, Metrics: m, MaxImage: o.maxImage, PageSize: o.pageSize}
	hs := httptest.NewServer(s.Handler())
	g := &gallery{url: hs.URL, svc: svc, pool: pool, metrics: m, srv: hs}
	t.Cleanup(func() { hs.Close(); ms.Close() })
	return g
}

// stop ends the gallery (as a restart would) before the test ends.
func (g *gallery) stop() { g.srv.Close(); g.svc.Meta.Close() }

// pngImage is a real PNG of noise (incompressible: its size follows side).
func pngImage(t testing.TB, seed uint64, side int) []byte {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	img := image.NewRGBA(image.Rect(0, 0, side, side))
	for y := range side {
		for x := range side {
			img.Set(x, y, color.RGBA{uint8(r.Uint32()), uint8(r.Uint32()), uint8(r.Uint32()), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type field struct {
	name, filename string
	value          []byte
}

func multipartBody(t testing.TB, fields ...field) (io.Reader, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range fields {
		var w io.Writer
		var err error
		if f.filename != "" {
			w, err = mw.CreateFormFile(f.name, f.filename)
		} else {
			w, err = mw.CreateFormField(f.name)
		}
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f.value)
	}
	mw.Close()
	return &b, mw.FormDataContentType()
}

// apiReply is the lab's JSON, decoded loosely so the test sees the types.
type apiReply struct {
	Success any      `json:"success"`
	Keys    []string `json:"keys"`
	Content *string  `json:"content"`
	Error   *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func post(t testing.TB, rawURL, contentType string, body io.Reader) (int, apiReply) {
	t.Helper()
	resp, err := http.Post(rawURL, contentType, body)
	if err != nil {
		t.Fatalf("POST %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var r apiReply
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("POST %s: %s: body is not JSON: %v\n%s", rawURL, resp.Status, err, raw)
	}
	return resp.StatusCode, r
}

// checkOK fails unless the reply is 200 with "success": "true" (a string).
func checkOK(t testing.TB, what string, code int, r apiReply) {
	t.Helper()
	if code != http.StatusOK || r.Success != "true" {
		t.Fatalf("%s: got %d %+v (error %+v), want 200 with success \"true\"", what, code, r, r.Error)
	}
}

// checkFail fails unless the reply is status with the lab's error shape.
func checkFail(t testing.TB, what string, code int, r apiReply, status int) {
	t.Helper()
	if code != status || r.Success != "false" || r.Error == nil || r.Error.Code != status || r.Error.Message == "" {
		t.Fatalf("%s: got %d success=%#v error=%+v, want %d with success \"false\" and error.code %d", what, code, r.Success, r.Error, status, status)
	}
}

func (g *gallery) upload(t testing.TB, key string, data []byte) {
	t.Helper()
	body, ct := multipartBody(t, field{name: "key", value: []byte(key)}, field{name: "file", filename: "x.png", value: data})
	code, r := post(t, g.url+"/api/upload", ct, body)
	checkOK(t, "upload "+strconv.Quote(key), code, r)
}

func keyPath(key string) string { return "/api/key/" + url.PathEscape(key) }

func (g *gallery) retrieve(t testing.TB, key string) []byte {
	t.Helper()
	code, r := post(t, g.url+keyPath(key), "", nil)
	checkOK(t, "retrieve "+strconv.Quote(key), code, r)
	if r.Content == nil {
		t.Fatalf("retrieve %q: no content field", key)
	}
	b, err := base64.StdEncoding.DecodeString(*r.Content)
	if err != nil {
		t.Fatalf("retrieve %q: content is not standard base64: %v", key, err)
	}
	return b
}

// memcachedItems asks a node for its curr_items.
func memcachedItems(t testing.TB, addr string) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial memcached %s: %v", addr, err)
	}
	defer c.Close()
	fmt.Fprintf(c, "stats\r\n")
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		line := sc.Text()
		if line == "END" {
			break
		}
		if v, ok := strings.CutPrefix(line, "STAT curr_items "); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	t.Fatalf("memcached %s: no curr_items in stats", addr)
	return 0
}

func scrape(t testing.TB, g *gallery) string {
	t.Helper()
	resp, err := http.Get(g.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
