package meta

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cloudlabs/cloudlabs/internal/appkit/pgmigrate"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

// TestMigrate: galleries starting at once against a new database migrate it
// once (the session lock serializes them), a restart applies nothing and
// keeps the rows, and a database newer than this gallery is refused.
func TestMigrate(t *testing.T) {
	ctx := context.Background()
	url := testkit.Postgres(t)

	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() {
			s, err := Open(ctx, url)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open %d: %v", i, err)
		}
	}
	s, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, Row{Key: "k", Object: "images/k-1", ContentType: "image/png", Size: 1, SHA256: "00", UploadedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, url)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if _, err := s.Get(ctx, "k"); err != nil {
		t.Fatalf("after reopen, Get(k) = %v", err)
	}
	s.Close()

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var applied, max int
	if err := conn.QueryRow(ctx, `SELECT count(*), max(version_id) FROM `+pgmigrate.Table("gallery")+` WHERE version_id > 0`).Scan(&applied, &max); err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("the embedded migrations: %v, %v", files, err)
	}
	if applied != len(files) || max != len(files) {
		t.Fatalf("%s records %d migrations up to %d, want each of the %d files once", pgmigrate.Table("gallery"), applied, max, len(files))
	}

	if _, err := conn.Exec(ctx, `INSERT INTO `+pgmigrate.Table("gallery")+` (version_id, is_applied) VALUES (99, true)`); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, url)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("newer than this gallery knows (%d)", len(files))) {
		t.Fatalf("Open on a database at version 99 = %v, want it refused as newer", err)
	}
}
