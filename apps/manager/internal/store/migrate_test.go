package store

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cloudlabs/cloudlabs/internal/appkit/pgmigrate"
	"github.com/cloudlabs/cloudlabs/internal/pool/autoscale"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

var testSeed = Seed{Active: 1, CapacityBytes: 1 << 20, CachePolicy: "lru", Policy: autoscale.Policy{}}

// TestMigrate: processes starting at once against a new database migrate it
// once (the session lock serializes them), a restart applies nothing, and a
// database newer than this manager is refused.
func TestMigrate(t *testing.T) {
	ctx := context.Background()
	url := testkit.Postgres(t)

	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() {
			s, _, err := Open(ctx, url, testSeed)
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
	s, seeded, err := Open(ctx, url, testSeed)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	s.Close()
	if seeded {
		t.Error("reopen seeded the pool again")
	}

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var applied, max int
	if err := conn.QueryRow(ctx, `SELECT count(*), max(version_id) FROM `+pgmigrate.Table("manager")+` WHERE version_id > 0`).Scan(&applied, &max); err != nil {
		t.Fatal(err)
	}
	if applied != 2 || max != 2 {
		t.Fatalf("%s records %d migrations up to %d, want 2 up to 2", pgmigrate.Table("manager"), applied, max)
	}

	if _, err := conn.Exec(ctx, `INSERT INTO `+pgmigrate.Table("manager")+` (version_id, is_applied) VALUES (99, true)`); err != nil {
		t.Fatal(err)
	}
	_, _, err = Open(ctx, url, testSeed)
	if err == nil || !strings.Contains(err.Error(), "newer than this manager knows (2)") {
		t.Fatalf("Open on a database at version 99 = %v, want it refused as newer", err)
	}
}
