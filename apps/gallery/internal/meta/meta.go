// Package meta keeps the gallery's key → object mapping in PostgreSQL:
// which object in the bucket holds each key's image, with its content type,
// size, SHA-256 and upload time. The images themselves never enter the
// database (the lab's rule); see package images for the upload order.
package meta

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNotFound means no row has the key.
var ErrNotFound = errors.New("no such key")

// Row is one key's mapping.
type Row struct {
	Key         string
	Object      string // object name in the bucket
	ContentType string
	Size        int64
	SHA256      string // hex
	UploadedAt  time.Time
}

// Store is the mapping table behind a pgx pool. Safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

// Open connects to the database at url (a libpq URL or key=value string),
// checks it answers and applies the migrations.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	s := &Store{pool: pool}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close releases the pool's connections.
func (s *Store) Close() { s.pool.Close() }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

const columns = `key, object, content_type, size, sha256, uploaded_at`

func scan(r pgx.Row) (Row, error) {
	var row Row
	err := r.Scan(&row.Key, &row.Object, &row.ContentType, &row.Size, &row.SHA256, &row.UploadedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return row, ErrNotFound
	}
	return row, err
}

// Get returns key's row, or ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) (Row, error) {
	row, err := scan(s.pool.QueryRow(ctx, `SELECT `+columns+` FROM images WHERE key = $1`, key))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return row, fmt.Errorf("read key row: %w", err)
	}
	return row, err
}

// Put makes row the mapping of row.Key, in one transaction, and returns
// the object name it replaced ("" for a new key). Two uploads of one key
// serialize on the row lock, so each learns exactly the object it replaced
// and no replaced object is forgotten.
func (s *Store) Put(ctx context.Context, row Row) (replaced string, err error) {
	for {
		replaced, retry, err := s.put(ctx, row)
		if !retry {
			return replaced, err
		}
	}
}

func (s *Store) put(ctx context.Context, row Row) (replaced string, retry bool, err error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return "", false, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	err = tx.QueryRow(ctx, `SELECT object FROM images WHERE key = $1 FOR UPDATE`, row.Key).Scan(&replaced)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		// A concurrent first upload of the same key may insert between our
		// SELECT and INSERT: DO NOTHING then inserts nothing, and the loop
		// starts over, this time finding (and locking) that row.
		tag, err := tx.Exec(ctx, `INSERT INTO images (`+columns+`) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO NOTHING`,
			row.Key, row.Object, row.ContentType, row.Size, row.SHA256, row.UploadedAt)
		if err != nil {
			return "", false, fmt.Errorf("insert key row: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return "", true, nil
		}
		replaced = ""
	case err != nil:
		return "", false, fmt.Errorf("lock key row: %w", err)
	default:
		if _, err := tx.Exec(ctx, `UPDATE images SET object = $2, content_type = $3, size = $4, sha256 = $5, uploaded_at = $6 WHERE key = $1`,
			row.Key, row.Object, row.ContentType, row.Size, row.SHA256, row.UploadedAt); err != nil {
			return "", false, fmt.Errorf("update key row: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return "", false, fmt.Errorf("commit key row: %w", err)
	}
	return replaced, false, nil
}

// Keys returns up to limit keys greater than after, in byte order (the
// column's collation is "C"); limit <= 0 means all.
func (s *Store) Keys(ctx context.Context, after string, limit int) ([]string, error) {
	q := `SELECT key FROM images WHERE key > $1 ORDER BY key`
	args := []any{after}
	if limit > 0 {
		q += ` LIMIT $2`
		args = append(args, limit)
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	return keys, nil
}

// Referenced returns which of names some row points to.
func (s *Store) Referenced(ctx context.Context, names []string) (map[string]bool, error) {
	rows, err := s.pool.Query(ctx, `SELECT object FROM images WHERE object = ANY($1)`, names)
	if err != nil {
		return nil, fmt.Errorf("look up object names: %w", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("look up object names: %w", err)
	}
	m := make(map[string]bool, len(found))
	for _, n := range found {
		m[n] = true
	}
	return m, nil
}

// IsUnavailable reports whether err means the database could not be
// reached (as opposed to refusing a statement).
func IsUnavailable(err error) bool {
	var pgErr *pgconn.PgError
	return err != nil && !errors.As(err, &pgErr)
}
