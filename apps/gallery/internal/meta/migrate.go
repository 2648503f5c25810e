package meta

import (
	"context"
	"fmt"
)

// migrations are applied in order, each once, recorded in
// schema_migrations. Every statement is idempotent as well (IF NOT EXISTS),
// so a database created by hand or half-migrated by a crash still converges.
// Append only: never edit an applied migration.
var migrations = []string{
	1: `CREATE TABLE IF NOT EXISTS images (
		key          text COLLATE "C" PRIMARY KEY,
		object       text NOT NULL UNIQUE,
		content_type text NOT NULL,
		size         bigint NOT NULL CHECK (size >= 0),
		sha256       text NOT NULL,
		uploaded_at  timestamptz NOT NULL
	)`,
}

// migrationLock is the advisory lock key that serializes galleries starting
// at once against one database (any constant; "gallery" in ASCII).
const migrationLock = 0x67616c6c657279

func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("migrate: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	var current int
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: read version: %w", err)
	}
	if current > len(migrations)-1 {
		return fmt.Errorf("migrate: database is at schema version %d, newer than this gallery knows (%d): upgrade the gallery", current, len(migrations)-1)
	}
	for v := current + 1; v < len(migrations); v++ {
		if _, err := tx.Exec(ctx, migrations[v]); err != nil {
			return fmt.Errorf("migrate: version %d: %w", v, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, v); err != nil {
			return fmt.Errorf("migrate: record version %d: %w", v, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return nil
}
