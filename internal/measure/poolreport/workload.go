package poolreport

import (
	"fmt"
	"math/rand"
	"strconv"
	"strings"
)

// Op is one request of a workload: a read (POST /api/key/<key>) or a
// write (POST /api/upload of the key's image) of image Key.
type Op struct {
	Write bool
	Key   int
}

// Mix is a workload's shape: Zipf popularity over the keys and a
// read:write ratio.
type Mix struct {
	// ZipfS is the Zipf exponent (> 1): key k is drawn with probability
	// proportional to 1/(1+k)^s, so key 0 is the most popular.
	ZipfS float64
	// Reads and Writes give the ratio of reads to writes (9:1).
	Reads, Writes int
}

// ParseRatio reads "9:1" (reads:writes).
func ParseRatio(s string) (reads, writes int, err error) {
	a, b, ok := strings.Cut(s, ":")
	r, err1 := strconv.Atoi(strings.TrimSpace(a))
	w, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || r < 0 || w < 0 || r+w == 0 {
		return 0, 0, fmt.Errorf("read:write ratio %q: want two whole numbers such as 9:1, not both 0", s)
	}
	return r, w, nil
}

// Ops draws n operations over keys keys from seed. The same arguments give
// the same list.
func Ops(seed int64, keys, n int, m Mix) ([]Op, error) {
	if keys < 1 || n < 0 {
		return nil, fmt.Errorf("workload of %d ops over %d keys: want at least one key", n, keys)
	}
	if !(m.ZipfS > 1) {
		return nil, fmt.Errorf("zipf exponent %v: want more than 1", m.ZipfS)
	}
	if m.Reads < 0 || m.Writes < 0 || m.Reads+m.Writes == 0 {
		return nil, fmt.Errorf("read:write %d:%d: want not both 0", m.Reads, m.Writes)
	}
	// math/rand (v1) for its Zipf generator; a source of our own, never
	// the global one, so the list depends on the seed only.
	r := rand.New(rand.NewSource(seed))
	z := rand.NewZipf(r, m.ZipfS, 1, uint64(keys-1))
	writeP := float64(m.Writes) / float64(m.Reads+m.Writes)
	ops := make([]Op, n)
	for i := range ops {
		ops[i] = Op{Write: r.Float64() < writeP, Key: int(z.Uint64())}
	}
	return ops, nil
}

// Uniform is n reads spread evenly over keys keys, in a seeded order: the
// auto-grow scenario's workload, whose working set is every key.
func Uniform(seed int64, keys, n int) []Op {
	r := rand.New(rand.NewSource(seed))
	ops := make([]Op, n)
	for i := range ops {
		ops[i] = Op{Key: r.Intn(keys)}
	}
	return ops
}
