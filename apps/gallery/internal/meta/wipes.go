package meta

import (
	"context"
	"fmt"
)

// PendingWipes lists the requests to delete everything (the pool
// manager's "delete all data") not yet done, oldest first.
func (s *Store) PendingWipes(ctx context.Context) ([]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM gallery_wipes WHERE done_at IS NULL ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("pending wipes: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("pending wipes: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// DeleteAll deletes every row and returns the objects they named.
func (s *Store) DeleteAll(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `DELETE FROM images RETURNING object`)
	if err != nil {
		return nil, fmt.Errorf("delete all rows: %w", err)
	}
	var objects []string
	for rows.Next() {
		var o string
		if err := rows.Scan(&o); err != nil {
			return nil, fmt.Errorf("delete all rows: %w", err)
		}
		objects = append(objects, o)
	}
	return objects, rows.Err()
}

// FinishWipes marks the requests done, with what was deleted or why not.
func (s *Store) FinishWipes(ctx context.Context, ids []int64, deleted int, failure string) error {
	var errText *string
	if failure != "" {
		errText = &failure
	}
	_, err := s.pool.Exec(ctx, `UPDATE gallery_wipes SET done_at = now(), deleted = $2, error = $3 WHERE id = ANY($1)`, ids, deleted, errText)
	if err != nil {
		return fmt.Errorf("finish wipes: %w", err)
	}
	return nil
}
