// Package window keeps a ring of per-second samples of a growing counter
// so "how many in the last minute" is a subtraction, not a per-request cost.
package window

import "sync"

// Window holds the last Seconds+1 samples of a monotonically growing total.
// It is safe for concurrent use.
type Window struct {
	mu      sync.Mutex
	samples []int64 // ring of totals, one per Record
	next    int
	filled  int
}

// New keeps seconds+1 samples so a full window of seconds can be measured.
func New(seconds int) *Window {
	return &Window{samples: make([]int64, seconds+1)}
}

// Record appends the current total; call it once a second.
func (w *Window) Record(total int64) {
	w.mu.Lock()
	w.samples[w.next] = total
	w.next = (w.next + 1) % len(w.samples)
	w.filled = min(w.filled+1, len(w.samples))
	w.mu.Unlock()
}

// Delta is the growth of the total over the window (or over the samples
// recorded so far, when fewer than a full window).
func (w *Window) Delta() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.filled < 2 {
		return 0
	}
	newest := w.samples[(w.next-1+len(w.samples))%len(w.samples)]
	oldest := w.samples[(w.next-w.filled+len(w.samples))%len(w.samples)]
	return newest - oldest
}

// PerSecond returns the growth in each recorded second, oldest first.
func (w *Window) PerSecond() []int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]int64, 0, max(w.filled-1, 0))
	for k := w.filled - 1; k >= 1; k-- {
		cur := w.samples[(w.next-k+len(w.samples))%len(w.samples)]
		prev := w.samples[(w.next-k-1+len(w.samples))%len(w.samples)]
		out = append(out, cur-prev)
	}
	return out
}
