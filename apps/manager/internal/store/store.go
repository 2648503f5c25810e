// Package store keeps the manager's state in PostgreSQL: the pool (active
// size, epoch, node configuration, autoscaler policy) in one row, and the
// decision log. The manager and the autoscaler are separate processes over
// the same database: changes are announced with NOTIFY, resizes are
// serialized with an advisory lock.
package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cloudlabs/cloudlabs/internal/pool/autoscale"
)

// Channel is the NOTIFY channel every change to the pool row is announced
// on; the payload is the epoch.
const Channel = "cloudlabs_pool"

// resizeLock is the advisory lock key held for a whole membership change
// ("pool" in ASCII).
const resizeLock = 0x706f6f6c

// Store is the manager's database. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

// Pool is the pool row.
type Pool struct {
	// Active is how many slots, from the first, are members.
	Active int
	// Epoch changes with every membership change.
	Epoch int64
	// CapacityBytes and CachePolicy are every node's configuration,
	// remembered for nodes that join later.
	CapacityBytes int64
	CachePolicy   string
	// Policy is the autoscaler's policy; Policy.Mode is the pool's mode.
	Policy  autoscale.Policy
	Updated time.Time
}

// Seed is the pool row written at the very first start only.
type Seed struct {
	Active        int
	CapacityBytes int64
	CachePolicy   string
	Policy        autoscale.Policy
}

// Open connects, migrates and seeds the pool row if the database has none.
// seeded reports whether this call created it (the pool's first boot).
func Open(ctx context.Context, url string, seed Seed) (s *Store, seeded bool, err error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, false, fmt.Errorf("parse database URL: %w", err)
	}
	p, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, false, err
	}
	s = &Store{pool: p}
	if err := s.migrate(ctx); err != nil {
		p.Close()
		return nil, false, err
	}
	seeded, err = s.seed(ctx, seed)
	if err != nil {
		p.Close()
		return nil, false, err
	}
	return s, seeded, nil
}

// Close closes the connections.
func (s *Store) Close() { s.pool.Close() }

// DB is the connection pool (for LISTEN).
func (s *Store) DB() *pgxpool.Pool { return s.pool }

func (s *Store) seed(ctx context.Context, seed Seed) (bool, error) {
	pol, err := json.Marshal(seed.Policy)
	if err != nil {
		return false, err
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO pool (id, active, epoch, capacity_bytes, cache_policy, autoscale)
		VALUES (1, $1, 1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`, seed.Active, seed.CapacityBytes, seed.CachePolicy, pol)
	if err != nil {
		return false, fmt.Errorf("seed pool: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// Get reads the pool row.
func (s *Store) Get(ctx context.Context) (Pool, error) {
	return get(ctx, s.pool)
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func get(ctx context.Context, q querier) (Pool, error) {
	var p Pool
	var pol []byte
	err := q.QueryRow(ctx, `SELECT active, epoch, capacity_bytes, cache_policy, autoscale, updated_at FROM pool WHERE id = 1`).
		Scan(&p.Active, &p.Epoch, &p.CapacityBytes, &p.CachePolicy, &pol, &p.Updated)
	if err != nil {
		return p, fmt.Errorf("read pool: %w", err)
	}
	if err := json.Unmarshal(pol, &p.Policy); err != nil {
		return p, fmt.Errorf("read pool: policy: %w", err)
	}
	return p, nil
}

// update runs set on the pool row and announces the change.
func (s *Store) update(ctx context.Context, set string, args ...any) (Pool, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return Pool{}, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, `UPDATE pool SET `+set+`, updated_at = now() WHERE id = 1`, args...); err != nil {
		return Pool{}, fmt.Errorf("update pool: %w", err)
	}
	p, err := get(ctx, tx)
	if err != nil {
		return Pool{}, err
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, Channel, fmt.Sprint(p.Epoch)); err != nil {
		return Pool{}, fmt.Errorf("notify: %w", err)
	}
	return p, tx.Commit(ctx)
}

// SetActive makes the first n slots the members and bumps the epoch.
func (s *Store) SetActive(ctx context.Context, n int) (Pool, error) {
	return s.update(ctx, `active = $1, epoch = epoch + 1`, n)
}

// SetConfig remembers the nodes' configuration.
func (s *Store) SetConfig(ctx context.Context, capacity int64, policy string) (Pool, error) {
	return s.update(ctx, `capacity_bytes = $1, cache_policy = $2`, capacity, policy)
}

// SetPolicy stores the autoscaler policy (and so the mode).
func (s *Store) SetPolicy(ctx context.Context, p autoscale.Policy) (Pool, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return Pool{}, err
	}
	return s.update(ctx, `autoscale = $1`, b)
}

// Policy reads the autoscaler policy: the autoscaler's PolicySource, read
// at every check so a change applies without a restart.
func (s *Store) Policy(ctx context.Context) (autoscale.Policy, error) {
	p, err := s.Get(ctx)
	return p.Policy, err
}

// LockResize holds the pool-wide resize lock (a session advisory lock, so
// the manager and the autoscaler processes exclude each other) until the
// returned function is called.
func (s *Store) LockResize(ctx context.Context) (unlock func(), err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("resize lock: %w", err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(resizeLock)); err != nil {
		conn.Release()
		return nil, fmt.Errorf("resize lock: %w", err)
	}
	return func() {
		if _, err := conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, int64(resizeLock)); err != nil {
			// A connection that could not unlock must not go back to the
			// pool still holding the lock.
			_ = conn.Conn().Close(context.Background())
		}
		conn.Release()
	}, nil
}

// Decision is one row of the decision log.
type Decision struct {
	ID       int64          `json:"id"`
	At       time.Time      `json:"at"`
	Cause    string         `json:"cause"` // button, api, autoscaler, first-boot
	Rule     string         `json:"rule"`  // grow, shrink, hold rules of autoscale, or the action
	From     int            `json:"from_nodes"`
	To       int            `json:"to_nodes"`
	Outcome  string         `json:"outcome"` // resized, held, refused: ..., failed: ...
	Reason   string         `json:"reason"`
	Inputs   map[string]any `json:"inputs"`
	Duration time.Duration  `json:"-"`
	Millis   float64        `json:"duration_ms"`
}

// AddDecision appends d to the log.
func (s *Store) AddDecision(ctx context.Context, d Decision) error {
	if d.At.IsZero() {
		d.At = time.Now()
	}
	if d.Inputs == nil {
		d.Inputs = map[string]any{}
	}
	in, err := json.Marshal(d.Inputs)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO decisions (at, cause, rule, from_nodes, to_nodes, outcome, reason, inputs, duration_ms)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		d.At, d.Cause, d.Rule, d.From, d.To, d.Outcome, d.Reason, in, float64(d.Duration)/float64(time.Millisecond))
	if err != nil {
		return fmt.Errorf("record decision: %w", err)
	}
	return nil
}

// Decisions returns the latest limit decisions, newest first.
func (s *Store) Decisions(ctx context.Context, limit int) ([]Decision, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, at, cause, rule, from_nodes, to_nodes, outcome, reason, inputs, duration_ms
		FROM decisions ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("read decisions: %w", err)
	}
	out := []Decision{}
	for rows.Next() {
		var d Decision
		var in []byte
		if err := rows.Scan(&d.ID, &d.At, &d.Cause, &d.Rule, &d.From, &d.To, &d.Outcome, &d.Reason, &in, &d.Millis); err != nil {
			return nil, err
		}
		d.Duration = time.Duration(d.Millis * float64(time.Millisecond))
		if err := json.Unmarshal(in, &d.Inputs); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
