package protocol

import "math"

// parseUint64 accepts what memcached's safe_strtoull accepts.
func parseUint64(b []byte) (uint64, bool) {
	neg, i := sign(b)
	start := i
	var n uint64
	for ; i < len(b) && isDigit(b[i]); i++ {
		d := uint64(b[i] - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	if i == start || i != len(b) {
		return 0, false
	}
	if neg {
		n = -n // strtoull negates; memcached refuses what then looks negative
		if int64(n) < 0 {
			return 0, false
		}
	}
	return n, true
}

// parseUint32 is parseUint64 limited to 32 bits (item flags).
func parseUint32(b []byte) (uint32, bool) {
	n, ok := parseUint64(b)
	if !ok || n > math.MaxUint32 {
		return 0, false
	}
	return uint32(n), true
}

// parseInt32 accepts what memcached's safe_strtol accepts into an int32
// (exptimes, value lengths).
func parseInt32(b []byte) (int64, bool) {
	neg, i := sign(b)
	start := i
	var n int64
	for ; i < len(b) && isDigit(b[i]); i++ {
		n = n*10 + int64(b[i]-'0')
		if n > math.MaxInt32+1 {
			return 0, false
		}
	}
	if i == start || i != len(b) {
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

func sign(b []byte) (neg bool, i int) {
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		return b[0] == '-', 1
	}
	return false, 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
