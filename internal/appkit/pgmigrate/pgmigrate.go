// Package pgmigrate applies an app's SQL migrations to its PostgreSQL
// database at start, with goose: each app keeps its own version table and
// session lock, so apps (and several copies of one) can share a database.
package pgmigrate

import (
	"context"
	"fmt"
	"hash/fnv"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Up applies the goose SQL files in fsys's migrations/ folder (append
// only: never edit an applied one) that the database lacks, under a session advisory lock so
// that copies starting at once take turns. app names the version table
// (<app>_migrations), the lock and the errors. A database newer than the
// files is refused: goose's Up would quietly run against a schema this
// binary does not know. Closing the *sql.DB it opens leaves pool open.
func Up(ctx context.Context, pool *pgxpool.Pool, app string, fsys fs.FS) error {
	files, err := fs.Sub(fsys, "migrations")
	if err != nil {
		return fmt.Errorf("migrate %s: %w", app, err)
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(lockID(app)))
	if err != nil {
		return fmt.Errorf("migrate %s: %w", app, err)
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, files,
		goose.WithTableName(Table(app)), goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("migrate %s: %w", app, err)
	}
	current, known, err := p.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("migrate %s: read version: %w", app, err)
	}
	if current > known {
		return fmt.Errorf("migrate %s: database is at schema version %d, newer than this %s knows (%d): upgrade the %s", app, current, app, known, app)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", app, err)
	}
	return nil
}

// Table is app's goose version table.
func Table(app string) string { return app + "_migrations" }

// lockID is app's advisory lock key: stable, and distinct per app.
func lockID(app string) int64 {
	h := fnv.New64a()
	h.Write([]byte("cloudlabs-migrate:" + app))
	return int64(h.Sum64() >> 1)
}
