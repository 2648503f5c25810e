// Package fib memoizes Fibonacci numbers up to a fixed maximum, as the lab's
// Flask service did, with lock-free reads of everything already computed.
package fib

import (
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"
)

// Table holds fib(0)..fib(Len()-1). It starts with fib(0) and fib(1), like the
// original's [0, 1], and grows to n+1 values when fib(n) is first asked for.
// Safe for concurrent use.
//
// The slice is allocated once at max+1 entries and never reallocated, so a
// reader that saw Len() == k may read vals[:k] without a lock: those entries
// were written before k was published and are never written again.
type Table struct {
	mu     sync.Mutex // serializes growth only
	length atomic.Int64
	vals   []*big.Int
}

// NewTable returns a table that can memoize fib(0)..fib(max).
func NewTable(max int) (*Table, error) {
	if max < 1 {
		return nil, fmt.Errorf("fibonacci table maximum %d: must be at least 1", max)
	}
	t := &Table{vals: make([]*big.Int, max+1)}
	t.vals[0], t.vals[1] = big.NewInt(0), big.NewInt(1)
	t.length.Store(2)
	return t, nil
}

// Max is the largest n the table accepts.
func (t *Table) Max() int { return len(t.vals) - 1 }

// Len is how many values are memoized (the original's cache_length).
func (t *Table) Len() int { return int(t.length.Load()) }

// Value returns fib(n), computing and memoizing every value up to n that is
// missing. The result is shared: callers must not modify it. It panics when
// n is outside 0..Max(), which callers validate first.
func (t *Table) Value(n int) *big.Int {
	if n < 0 || n > t.Max() {
		panic(fmt.Sprintf("fib: n=%d outside 0..%d", n, t.Max()))
	}
	if n < t.Len() {
		return t.vals[n]
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	k := t.Len()
	for i := k; i <= n; i++ {
		t.vals[i] = new(big.Int).Add(t.vals[i-1], t.vals[i-2])
	}
	if n+1 > k {
		t.length.Store(int64(n + 1))
	}
	return t.vals[n]
}
