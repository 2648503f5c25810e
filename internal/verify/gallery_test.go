package verify

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

// TestGalleryRoundTripDerived: the check comes from galleryUrl alone; a
// stack without a gallery has none.
func TestGalleryRoundTripDerived(t *testing.T) {
	for _, c := range (Outputs{"phonebookUrl": "http://pb", "fibonacciUrl": "http://fib"}).CrossChecks() {
		if c.Machine == "gallery" {
			t.Errorf("no galleryUrl, yet a check %s", c.ID())
		}
	}
	var ids []string
	for _, c := range (Outputs{"galleryUrl": "http://gallery.example"}).CrossChecks() {
		ids = append(ids, c.ID())
	}
	if len(ids) != 1 || ids[0] != "gallery/roundtrip" {
		t.Errorf("checks %q, want [gallery/roundtrip]", ids)
	}
}

// TestProbePNG: the probe's image is a valid PNG, different on every run.
func TestProbePNG(t *testing.T) {
	a, err := probePNG()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := probePNG()
	if bytes.Equal(a, b) {
		t.Error("two probe images are identical")
	}
	if _, err := png.Decode(bytes.NewReader(a)); err != nil {
		t.Errorf("not a PNG: %v", err)
	}
	if ct := http.DetectContentType(a); ct != "image/png" {
		t.Errorf("sniffed as %s", ct)
	}
}

// realGallery is the gallery built from apps/gallery, run over a real
// PostgreSQL cluster, a real versitygw and a real memcached node.
type realGallery struct {
	url string
	s3  *testkit.S3
}

func startGallery(t *testing.T) *realGallery {
	t.Helper()
	bin := testkit.BuildApp(t, "apps/gallery")
	db := testkit.Postgres(t)
	s3 := testkit.Versitygw(t)
	mc := testkit.Memcached(t)
	addr := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	testkit.Start(t, addr, bin, "--listen", addr, "--database", db,
		"--s3-endpoint", s3.Endpoint, "--s3-access-key", s3.AccessKey, "--s3-secret-key", s3.SecretKey,
		"--bucket", "verify-gallery", "--create-bucket", "--nodes", mc.Addr, "--gc-at-start=false")
	return &realGallery{url: "http://" + addr, s3: s3}
}

// TestGalleryRoundTrip runs the check against the real gallery: it passes
// (twice: each run uploads new bytes over the last), and with the object
// store stopped it is CRITICAL naming the upload.
func TestGalleryRoundTrip(t *testing.T) {
	g := startGallery(t)
	c := (Outputs{"galleryUrl": g.url + "/"}).CrossChecks()
	if len(c) != 1 || c[0].ID() != "gallery/roundtrip" {
		t.Fatalf("checks %v, want gallery/roundtrip", c)
	}
	for i := range 2 {
		o := c[0].Probe(t.Context())
		if o.Status != OK {
			t.Fatalf("run %d: %s: expected %s, found %s", i+1, o.Status, o.Expected, o.Found)
		}
		t.Logf("run %d: %s", i+1, o.Found)
	}
	if objs := g.s3.Objects(t, "verify-gallery", "images/"); len(objs) != 1 {
		t.Errorf("objects in the bucket %q, want the probe's one (the replaced one deleted)", objs)
	}

	g.s3.Proc.Stop()
	o := c[0].Probe(t.Context())
	if o.Status != Critical || !strings.HasPrefix(o.Found, "upload (POST /api/upload): status 503") {
		t.Errorf("object store stopped: %s: %s, want CRITICAL upload … status 503", o.Status, o.Found)
	}
	t.Logf("store stopped: %s", o.Found)
}

// fakeGallery answers the lab's API as told: upload with uploadStatus,
// retrieve with what content makes of the uploaded bytes.
func fakeGallery(t *testing.T, uploadStatus int, retrieve func(w http.ResponseWriter, uploaded []byte)) string {
	t.Helper()
	var last []byte
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/api/upload":
			if uploadStatus != http.StatusOK {
				w.WriteHeader(uploadStatus)
				io.WriteString(w, `{"success":"false","error":{"code":500,"message":"boom"}}`)
				return
			}
			f, _, err := r.FormFile("file")
			if err != nil || r.FormValue("key") != ReservedImageKey {
				http.Error(w, "bad form", 400)
				return
			}
			last, _ = io.ReadAll(f)
			io.WriteString(w, `{"success":"true"}`)
		case r.Method == http.MethodPost && r.URL.Path == "/api/key/"+ReservedImageKey:
			retrieve(w, last)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s.URL
}

// TestGalleryRoundTripFailures: each failing step is named.
func TestGalleryRoundTripFailures(t *testing.T) {
	content := func(b []byte) string {
		return fmt.Sprintf(`{"success":"true","content":%q}`, base64.StdEncoding.EncodeToString(b))
	}
	cases := []struct {
		name   string
		upload int
		get    func(w http.ResponseWriter, b []byte)
		want   []string
	}{
		{"upload 500", 500, nil, []string{"upload (POST /api/upload): status 500", "boom"}},
		{"retrieve 404", 200, func(w http.ResponseWriter, _ []byte) {
			w.WriteHeader(404)
			io.WriteString(w, `{"success":"false","error":{"code":404,"message":"no image has this key"}}`)
		}, []string{"retrieve (POST /api/key/cloudlabs-verify-probe): status 404", "no image has this key"}},
		{"retrieve success false", 200, func(w http.ResponseWriter, _ []byte) {
			io.WriteString(w, `{"success":"false"}`)
		}, []string{"retrieve", `success "false"`}},
		{"stale copy", 200, func(w http.ResponseWriter, b []byte) {
			old, _ := probePNG()
			io.WriteString(w, content(old))
		}, []string{"bytes differ: uploaded ", "read back "}},
		{"truncated", 200, func(w http.ResponseWriter, b []byte) {
			io.WriteString(w, content(b[:len(b)-1]))
		}, []string{"bytes differ: uploaded ", "read back "}},
		{"one byte flipped", 200, func(w http.ResponseWriter, b []byte) {
			c := bytes.Clone(b)
			c[len(c)/2] ^= 0x01
			io.WriteString(w, content(c))
		}, []string{"bytes differ: uploaded ", "read back "}},
		{"not base64", 200, func(w http.ResponseWriter, b []byte) {
			io.WriteString(w, `{"success":"true","content":"%%%"}`)
		}, []string{"retrieve: content is not standard base64"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := GalleryRoundTrip("gallery", fakeGallery(t, tc.upload, tc.get)).Probe(t.Context())
			if o.Status != Critical {
				t.Fatalf("%s: %s, want CRITICAL", o.Status, o.Found)
			}
			for _, w := range tc.want {
				if !strings.Contains(o.Found, w) {
					t.Errorf("found %q, want it to contain %q", o.Found, w)
				}
			}
			t.Logf("%s", o.Found)
		})
	}
}
