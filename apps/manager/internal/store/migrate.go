package store

import (
	"context"
	"fmt"
)

// migrations are applied in order, each once, recorded in
// manager_migrations; every statement is idempotent too. Append only.
var migrations = []string{
	1: `CREATE TABLE IF NOT EXISTS pool (
		id             integer PRIMARY KEY CHECK (id = 1),
		active         integer NOT NULL CHECK (active BETWEEN 1 AND 8),
		epoch          bigint NOT NULL,
		capacity_bytes bigint NOT NULL CHECK (capacity_bytes >= 0),
		cache_policy   text NOT NULL,
		autoscale      jsonb NOT NULL,
		updated_at     timestamptz NOT NULL DEFAULT now()
	)`,
	2: `CREATE TABLE IF NOT EXISTS decisions (
		id          bigserial PRIMARY KEY,
		at          timestamptz NOT NULL,
		cause       text NOT NULL,
		rule        text NOT NULL,
		from_nodes  integer NOT NULL,
		to_nodes    integer NOT NULL,
		outcome     text NOT NULL,
		reason      text NOT NULL,
		inputs      jsonb NOT NULL,
		duration_ms double precision NOT NULL
	)`,
}

// migrationLock serializes a manager and an autoscaler starting at once.
const migrationLock = 0x6d616e61676572 // "manager"

func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("migrate: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS manager_migrations (
		version    integer PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var current int
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM manager_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: read version: %w", err)
	}
	if current > len(migrations)-1 {
		return fmt.Errorf("migrate: database is at schema version %d, newer than this manager knows (%d)", current, len(migrations)-1)
	}
	for v := current + 1; v < len(migrations); v++ {
		if _, err := tx.Exec(ctx, migrations[v]); err != nil {
			return fmt.Errorf("migrate: version %d: %w", v, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO manager_migrations (version) VALUES ($1)`, v); err != nil {
			return fmt.Errorf("migrate: record version %d: %w", v, err)
		}
	}
	return tx.Commit(ctx)
}
