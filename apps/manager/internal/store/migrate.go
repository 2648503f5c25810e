package store

import (
	"context"
	"embed"

	"github.com/cloudlabs/cloudlabs/internal/appkit/pgmigrate"
)

// migrations are goose SQL files, applied in order, each once
// (internal/appkit/pgmigrate). Append only: never edit an applied one.
//
//go:embed migrations/*.sql
var migrations embed.FS

func (s *Store) migrate(ctx context.Context) error {
	return pgmigrate.Up(ctx, s.pool, "manager", migrations)
}
