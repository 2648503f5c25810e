package store

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Notifier turns the pool's NOTIFYs into a broadcast: Changed returns a
// channel closed at the next change. Safe for concurrent use.
type Notifier struct {
	mu sync.Mutex
	ch chan struct{}
}

// NewNotifier returns a Notifier; run Listen to feed it.
func NewNotifier() *Notifier { return &Notifier{ch: make(chan struct{})} }

// Changed returns a channel closed at the next announced change.
func (n *Notifier) Changed() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ch
}

// Broadcast wakes every waiter.
func (n *Notifier) Broadcast() {
	n.mu.Lock()
	close(n.ch)
	n.ch = make(chan struct{})
	n.mu.Unlock()
}

// Listen holds a connection in LISTEN on Channel and broadcasts every
// notification until ctx ends; a lost connection is re-established (and
// counted as a change, since notifications may have been missed).
func (s *Store) Listen(ctx context.Context, n *Notifier, logger *slog.Logger) {
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, n)
		if ctx.Err() != nil {
			return
		}
		logger.Warn("listen for pool changes", "err", err)
		n.Broadcast()
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (s *Store) listenOnce(ctx context.Context, n *Notifier) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `LISTEN `+Channel); err != nil {
		return err
	}
	defer func() { _, _ = conn.Exec(context.Background(), `UNLISTEN `+Channel) }()
	for {
		if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
			return err
		}
		n.Broadcast()
	}
}
