// Package number parses decimal numbers exactly as memcached's safe_strtoull
// and safe_strtol do, so arguments and stored counters that memcached
// accepts or refuses are accepted or refused here too.
package number

import "math"

// ParseUint64 is C strtoull plus memcached's checks: leading white space
// and a sign are allowed, the digits must end at white space or the end,
// overflow is refused, and so is anything that looks negative.
func ParseUint64(b []byte) (uint64, bool) {
	neg, i := prefix(b)
	start := i
	var n uint64
	for ; i < len(b) && isDigit(b[i]); i++ {
		d := uint64(b[i] - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	if i == start || (i < len(b) && !isSpace(b[i])) {
		return 0, false
	}
	if neg {
		n = -n // strtoull negates; memcached then refuses what looks negative
		if int64(n) < 0 {
			return 0, false
		}
	}
	return n, true
}

// ParseUint32 is ParseUint64 limited to 32 bits (item flags).
func ParseUint32(b []byte) (uint32, bool) {
	n, ok := ParseUint64(b)
	if !ok || n > math.MaxUint32 {
		return 0, false
	}
	return uint32(n), true
}

// ParseInt32 is C strtol plus memcached's checks, into an int32 (exptimes,
// value lengths).
func ParseInt32(b []byte) (int64, bool) {
	neg, i := prefix(b)
	start := i
	var n int64
	for ; i < len(b) && isDigit(b[i]); i++ {
		n = n*10 + int64(b[i]-'0')
		if n > math.MaxInt32+1 {
			return 0, false
		}
	}
	if i == start || (i < len(b) && !isSpace(b[i])) {
		return 0, false
	}
	if neg {
		n = -n
	}
	if n > math.MaxInt32 || n < math.MinInt32 {
		return 0, false
	}
	return n, true
}

// prefix skips leading white space and an optional sign.
func prefix(b []byte) (neg bool, i int) {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		return b[i] == '-', i + 1
	}
	return false, i
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isSpace is C's isspace in the C locale.
func isSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }
