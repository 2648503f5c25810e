package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudlabs/cloudlabs/internal/appkit/pgmigrate"
)

// TestGC: an object no row references (an upload that crashed between the
// object put and the row commit) is deleted once older than the grace;
// referenced objects and young orphans stay.
func TestGC(t *testing.T) {
	st := newStack(t, 0)
	g := st.start(t, galleryOpts{})
	ctx := context.Background()
	g.upload(t, "kept", pngImage(t, 1, 4))
	orphan := "images/orphan-from-a-crash"
	if err := g.svc.Blobs.Put(ctx, orphan, pngImage(t, 2, 4), "image/png"); err != nil {
		t.Fatal(err)
	}
	if objs := st.s3.Objects(t, testBucket, "images/"); len(objs) != 2 {
		t.Fatalf("before gc: %d objects %q, want 2", len(objs), objs)
	}
	// Outside the prefix: not the gallery's, never collected.
	if err := g.svc.Blobs.Put(ctx, "other/file", []byte("x"), "text/plain"); err != nil {
		t.Fatal(err)
	}

	res, err := g.svc.GC(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if res.Deleted != 0 || res.Young != 1 || len(st.s3.Objects(t, testBucket, "images/")) != 2 {
		t.Fatalf("gc with a 1h grace: %+v; a young orphan may be an upload in flight and must stay", res)
	}

	res, err = g.svc.GC(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	objs := st.s3.Objects(t, testBucket, "images/")
	if res.Deleted != 1 || res.Referenced != 1 || len(objs) != 1 || objs[0] == orphan {
		t.Fatalf("gc: %+v, objects left %q; want only the orphan deleted", res, objs)
	}
	if len(st.s3.Objects(t, testBucket, "other/")) != 1 {
		t.Fatal("gc deleted an object outside images/")
	}
	if got := g.retrieve(t, "kept"); !bytes.Equal(got, pngImage(t, 1, 4)) {
		t.Fatal("the referenced image changed")
	}
}

// TestRowFailureDeletesObject: when the row write fails, the upload
// answers an error and deletes the object it put, leaving no orphan.
func TestRowFailureDeletesObject(t *testing.T) {
	st := newStack(t, 0)
	g := st.start(t, galleryOpts{})
	g.upload(t, "fine", pngImage(t, 1, 4))
	// A real database refusal: a constraint the row breaks.
	conn, err := pgx.Connect(context.Background(), st.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `ALTER TABLE images ADD CONSTRAINT refuse_boom CHECK (key <> 'boom')`); err != nil {
		t.Fatal(err)
	}
	body, ct := multipartBody(t, field{name: "key", value: []byte("boom")}, field{name: "file", filename: "b.png", value: pngImage(t, 2, 4)})
	code, r := post(t, g.url+"/api/upload", ct, body)
	checkFail(t, "row refused", code, r, http.StatusServiceUnavailable)
	if objs := st.s3.Objects(t, testBucket, "images/"); len(objs) != 1 {
		t.Fatalf("after the failed row write the bucket holds %d objects %q, want 1 (the new object deleted)", len(objs), objs)
	}
	if m := scrape(t, g); !strings.Contains(m, `gallery_store_errors_total{op="put",store="db"} 1`) {
		t.Errorf("the db error is not counted:\n%s", grep(m, "store_errors"))
	}
}

// TestMigrationsIdempotent: opening the same database again (a restart, or
// two galleries) applies nothing twice and keeps the rows.
func TestMigrationsIdempotent(t *testing.T) {
	st := newStack(t, 0)
	g := st.start(t, galleryOpts{})
	g.upload(t, "x", pngImage(t, 1, 4))
	st.start(t, galleryOpts{})
	conn, err := pgx.Connect(context.Background(), st.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var versions, rows int
	// goose's table also holds its version 0 row.
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM `+pgmigrate.Table("gallery")+` WHERE version_id > 0`).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM images`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("../meta/migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("the gallery's migrations: %v, %v", files, err)
	}
	if versions != len(files) || rows != 1 {
		t.Fatalf("%s records %d migrations, images has %d rows; want %d (each file once) and 1", pgmigrate.Table("gallery"), versions, rows, len(files))
	}
}

// TestPages: the form, the image page and bytes, the paginated list, and
// the form's cross-site refusal.
func TestPages(t *testing.T) {
	st := newStack(t, 1)
	g := st.start(t, galleryOpts{pageSize: 2})
	img := pngImage(t, 4, 4)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	postForm := func(key string, site string) *http.Response {
		body, ct := multipartBody(t, field{name: "key", value: []byte(key)}, field{name: "file", filename: "a.png", value: img})
		req, _ := http.NewRequest("POST", g.url+"/upload", body)
		req.Header.Set("Content-Type", ct)
		if site != "" {
			req.Header.Set("Sec-Fetch-Site", site)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	get := func(path string) (int, string, string) {
		resp, err := http.Get(g.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}

	if code, _, body := get("/"); code != 200 || !strings.Contains(body, `enctype="multipart/form-data"`) || !strings.Contains(body, `name="file"`) {
		t.Fatalf("upload form: %d\n%s", code, body)
	}
	resp := postForm("evil", "cross-site")
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site form post: %s, want 403", resp.Status)
	}
	key := `<b>"x"</b> & ü`
	resp = postForm(key, "same-origin")
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || loc != "/key/"+url.PathEscape(key)+"?saved=1" {
		t.Fatalf("form post: %s Location %q", resp.Status, loc)
	}
	code, _, body := get(loc)
	if code != 200 || strings.Contains(body, "<b>") || !strings.Contains(body, "&lt;b&gt;") || !strings.Contains(body, "Saved") {
		t.Fatalf("key page: %d; want the key escaped and the saved message:\n%s", code, body)
	}
	code, ct, raw := get("/image/" + url.PathEscape(key))
	if code != 200 || ct != "image/png" || raw != string(img) {
		t.Fatalf("image: %d %q, %d bytes", code, ct, len(raw))
	}
	if code, _, _ := get("/key/missing"); code != http.StatusNotFound {
		t.Fatalf("missing key page: %d, want 404", code)
	}
	for _, k := range []string{"a", "b", ".."} {
		resp := postForm(k, "")
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("post %q: %s", k, resp.Status)
		}
	}
	// Keys in byte order: "..", "<b>…", "a", "b"; two per page.
	_, _, p1 := get("/keys")
	if !strings.Contains(p1, `href="/key?key=..`) || !strings.Contains(p1, "&lt;b&gt;") || strings.Contains(p1, `/key/a"`) {
		t.Fatalf("page 1 wants .. (as a query) and the <b> key:\n%s", p1)
	}
	if !strings.Contains(p1, `href="/keys?after=`) {
		t.Fatalf("page 1 has no next link:\n%s", p1)
	}
	_, _, p2 := get("/keys?after=" + url.QueryEscape(key))
	if !strings.Contains(p2, `href="/key/a"`) || !strings.Contains(p2, `href="/key/b"`) {
		t.Fatalf("page 2 wants a and b:\n%s", p2)
	}
	if code, _, raw := get("/image?key=.."); code != 200 || raw != string(img) {
		t.Fatalf("/image?key=..: %d", code)
	}
	// The lab's API sits beside the pages, unchanged: no CSRF check there.
	code2, r := post(t, g.url+"/api/list_keys", "", nil)
	checkOK(t, "list", code2, r)
	if len(r.Keys) != 4 {
		t.Fatalf("keys %q", r.Keys)
	}
}
