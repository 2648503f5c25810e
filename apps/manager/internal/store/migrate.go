package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// migrations are goose SQL files, applied in order, each once, recorded in
// migrationTable. Append only: never edit an applied migration.
//
//go:embed migrations/*.sql
var migrations embed.FS

// migrationTable is the manager's own goose version table, so the gallery
// (or anything else using goose) can share the database.
const migrationTable = "manager_migrations"

// migrationLock is the session advisory lock that serializes a manager and
// an autoscaler starting at once ("manager" in ASCII).
const migrationLock = 0x6d616e61676572

func (s *Store) migrate(ctx context.Context) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLock))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// Closing db leaves s.pool open.
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithTableName(migrationTable), goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// goose's Up does nothing for a database newer than its files; an older
	// manager must refuse it rather than run against a schema it does not know.
	current, known, err := p.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("migrate: read version: %w", err)
	}
	if current > known {
		return fmt.Errorf("migrate: database is at schema version %d, newer than this manager knows (%d)", current, known)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}
