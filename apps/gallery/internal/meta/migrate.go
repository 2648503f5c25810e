package meta

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
// MigrationTable. Append only: never edit an applied migration.
//
//go:embed migrations/*.sql
var migrations embed.FS

// MigrationTable is the gallery's own goose version table, so the manager
// (or anything else using goose) can share the database.
const MigrationTable = "gallery_migrations"

// migrationLock is the session advisory lock that serializes galleries
// starting at once against one database ("gallery" in ASCII).
const migrationLock = 0x67616c6c657279

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
		goose.WithTableName(MigrationTable), goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// goose's Up does nothing for a database newer than its files; an older
	// gallery must refuse it rather than run against a schema it does not know.
	current, known, err := p.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("migrate: read version: %w", err)
	}
	if current > known {
		return fmt.Errorf("migrate: database is at schema version %d, newer than this gallery knows (%d): upgrade the gallery", current, known)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}
