package server

import (
	"context"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestWipeDeletesEverything: a "delete all data" request (a row of
// gallery_wipes, as the pool manager writes it) deletes every row, every
// object under images/ (orphans too), and every cached copy; the request
// is marked done with the count; objects outside images/ stay.
func TestWipeDeletesEverything(t *testing.T) {
	st := newStack(t, 1)
	g := st.start(t, galleryOpts{})
	ctx := context.Background()
	keys := []string{"a", "b", "c"}
	for i, k := range keys {
		g.upload(t, k, pngImage(t, uint64(i+1), 4))
		g.retrieve(t, k) // cached now
	}
	if err := g.svc.Blobs.Put(ctx, "images/orphan", pngImage(t, 9, 4), "image/png"); err != nil {
		t.Fatal(err)
	}
	if err := g.svc.Blobs.Put(ctx, "other/file", []byte("x"), "text/plain"); err != nil {
		t.Fatal(err)
	}
	if n := memcachedItems(t, st.nodeAddrs()[0]); n < len(keys) {
		t.Fatalf("%d cached items before the wipe, want at least %d", n, len(keys))
	}

	// Nothing pending: a pass deletes nothing.
	if err := g.svc.WipeOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if objs := st.s3.Objects(t, testBucket, "images/"); len(objs) != len(keys)+1 {
		t.Fatalf("a pass with no request left %d objects, want %d", len(objs), len(keys)+1)
	}

	conn, err := pgx.Connect(ctx, st.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var id int64
	if err := conn.QueryRow(ctx, `INSERT INTO gallery_wipes DEFAULT VALUES RETURNING id`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if err := g.svc.WipeOnce(ctx); err != nil {
		t.Fatal(err)
	}

	code, r := post(t, g.url+"/api/list_keys", "", nil)
	checkOK(t, "list after the wipe", code, r)
	if len(r.Keys) != 0 {
		t.Errorf("keys after the wipe: %q, want none", r.Keys)
	}
	for _, k := range keys {
		if code, _ := post(t, g.url+keyPath(k), "", nil); code != http.StatusNotFound {
			t.Errorf("retrieve %q after the wipe: status %d, want 404 (not a cached copy)", k, code)
		}
	}
	if objs := st.s3.Objects(t, testBucket, "images/"); len(objs) != 0 {
		t.Errorf("objects under images/ after the wipe: %q, want none (orphans too)", objs)
	}
	if objs := st.s3.Objects(t, testBucket, "other/"); len(objs) != 1 {
		t.Errorf("objects outside images/ after the wipe: %q, want the one left alone", objs)
	}
	if n := memcachedItems(t, st.nodeAddrs()[0]); n != 0 {
		t.Errorf("%d cached items after the wipe, want 0", n)
	}
	var deleted int64
	var done bool
	if err := conn.QueryRow(ctx, `SELECT done_at IS NOT NULL, deleted FROM gallery_wipes WHERE id = $1`, id).Scan(&done, &deleted); err != nil {
		t.Fatal(err)
	}
	if !done || deleted != int64(len(keys)) {
		t.Errorf("request %d: done %v, deleted %d; want done with %d", id, done, deleted, len(keys))
	}
}
