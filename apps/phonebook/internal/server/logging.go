package server

import (
	"log/slog"
	"sync"
	"time"
)

// limitedLogger logs at most once per interval: during a memcached outage
// every request fails the same way, and one line says it all.
type limitedLogger struct {
	logger *slog.Logger
	every  time.Duration

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (l *limitedLogger) Warn(msg string, args ...any) {
	l.mu.Lock()
	now := time.Now()
	if now.Sub(l.last) < l.every {
		l.suppressed++
		l.mu.Unlock()
		return
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	l.mu.Unlock()
	l.logger.Warn(msg, append(args, "suppressed_since_last", n)...)
}
