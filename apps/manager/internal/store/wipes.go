package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// WipeGallery asks the gallery that shares this database to delete every
// image (a row of its gallery_wipes table: the gallery holds the bucket's
// keys, the manager does not) and waits, polling every poll, until the
// gallery marks it done or ctx ends. It returns how many images went.
func (s *Store) WipeGallery(ctx context.Context, poll time.Duration) (int64, error) {
	var id int64
	if err := s.pool.QueryRow(ctx, `INSERT INTO gallery_wipes DEFAULT VALUES RETURNING id`).Scan(&id); err != nil {
		return 0, fmt.Errorf("ask the gallery to delete its images (has it started on this database?): %w", err)
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		var deleted *int64
		var failure *string
		err := s.pool.QueryRow(ctx, `SELECT deleted, error FROM gallery_wipes WHERE id = $1 AND done_at IS NOT NULL`, id).Scan(&deleted, &failure)
		switch {
		case err == nil && failure != nil:
			return 0, fmt.Errorf("the gallery could not delete its images: %s", *failure)
		case err == nil:
			return *deleted, nil
		case !errors.Is(err, pgx.ErrNoRows):
			return 0, fmt.Errorf("the gallery's answer: %w", err)
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("the gallery did not delete its images in time (request %d stays queued): %w", id, ctx.Err())
		case <-t.C:
		}
	}
}
