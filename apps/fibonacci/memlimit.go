package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/cloudlabs/cloudlabs/apps/fibonacci/internal/api"
)

// The memo is the process's memory: it only grows, up to api.MemoBytes(maxN)
// live. Left to GOGC alone, the heap then peaks at about twice that (the
// process measured 860 MB resident at max-n 50000 for 400 MB live), so the
// server sets a soft memory limit (runtime/debug.SetMemoryLimit) that keeps
// the collector working harder instead near the top.
const (
	// autoHeadroom is what the auto limit allows above the memo for the
	// runtime, connections and request buffers, and garbage between cycles.
	autoHeadroom = 32 << 20
	// minHeadroom is the least an explicit limit must leave above the memo:
	// below it the collector would run all the time and still not fit.
	minHeadroom = 16 << 20
)

// memoryLimit is the value of --memory-limit: "auto", "off", or a size.
type memoryLimit struct {
	auto  bool
	bytes int64 // math.MaxInt64 for "off"
}

func (m *memoryLimit) String() string {
	switch {
	case m.auto:
		return "auto"
	case m.bytes == math.MaxInt64:
		return "off"
	}
	return strconv.FormatInt(m.bytes, 10)
}

// Set accepts "auto", "off", or bytes with an optional B, KiB, MiB or GiB
// suffix, as GOMEMLIMIT does.
func (m *memoryLimit) Set(s string) error {
	switch s {
	case "auto":
		*m = memoryLimit{auto: true}
		return nil
	case "off":
		*m = memoryLimit{bytes: math.MaxInt64}
		return nil
	}
	num, unit := s, int64(1)
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			num, unit = strings.TrimSuffix(s, u.suffix), u.size
			break
		}
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v <= 0 || v > math.MaxInt64/unit {
		return fmt.Errorf("%q: want auto, off, or a positive size such as 512MiB (suffixes B, KiB, MiB, GiB)", s)
	}
	*m = memoryLimit{bytes: v * unit}
	return nil
}

// resolve returns the limit in bytes for a server answering up to maxN:
// auto is 1.5 times the memo plus autoHeadroom; an explicit limit that
// cannot hold the memo is refused rather than left to thrash.
func (m memoryLimit) resolve(maxN int) (int64, error) {
	memo := api.MemoBytes(maxN)
	if m.auto {
		return memo + memo/2 + autoHeadroom, nil
	}
	if need := memo + minHeadroom; m.bytes < need {
		return 0, fmt.Errorf("memory-limit %s is below what max-n %d needs: the memo alone holds up to %s; give at least %s, or a smaller --max-n",
			mib(m.bytes), maxN, mib(memo), mib(need))
	}
	return m.bytes, nil
}

// mib renders a byte count for people, rounded up to a whole MiB.
func mib(b int64) string { return fmt.Sprintf("%dMiB", (b+(1<<20)-1)>>20) }
