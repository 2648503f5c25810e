// Package progress shows how far a long run has got on stderr: a bar
// redrawn in place on a terminal, a plain line every few seconds otherwise
// (so CI logs and files stay readable).
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Meter reports Done against Total until Stop.
type Meter struct {
	Done atomic.Int64

	w      io.Writer
	label  string
	total  int64
	tty    bool
	start  time.Time
	stop   chan struct{}
	wg     sync.WaitGroup
	period time.Duration
}

// Start begins reporting on w; a terminal gets a bar redrawn 5 times a
// second, anything else a line every 5 seconds.
func Start(w io.Writer, label string, total int) *Meter {
	m := &Meter{w: w, label: label, total: int64(total), tty: IsTerminal(w), start: time.Now(), stop: make(chan struct{}), period: 5 * time.Second}
	if m.tty {
		m.period = 200 * time.Millisecond
	}
	m.wg.Add(1)
	go m.loop()
	return m
}

// IsTerminal reports whether w is a character device such as a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (m *Meter) loop() {
	defer m.wg.Done()
	t := time.NewTicker(m.period)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.print(false)
		}
	}
}

// Stop prints the final state and stops reporting.
func (m *Meter) Stop() {
	close(m.stop)
	m.wg.Wait()
	m.print(true)
}

func (m *Meter) print(final bool) {
	done := m.Done.Load()
	secs := time.Since(m.start).Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(done) / secs
	}
	pct := 100.0
	if m.total > 0 {
		pct = 100 * float64(done) / float64(m.total)
	}
	if !m.tty {
		fmt.Fprintf(m.w, "%s: %d/%d (%.0f%%) %.0f/s %.1fs\n", m.label, done, m.total, pct, rate, secs)
		return
	}
	const width = 30
	filled := min(int(pct/100*width), width)
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", width-filled)
	end := ""
	if final {
		end = "\n"
	}
	fmt.Fprintf(m.w, "\r%s [%s] %3.0f%% %d/%d %.0f/s %.1fs\033[K%s", m.label, bar, pct, done, m.total, rate, secs, end)
}
