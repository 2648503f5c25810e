package cache

// MaxRelativeExptime is memcached's 30-day cut-off: an exptime up to this
// many seconds is relative to now, a larger one is an absolute unix time.
const MaxRelativeExptime = 60 * 60 * 24 * 30

// Deadline converts a memcached exptime to an absolute unix second at which
// the item stops being visible (0 = never). Negative exptimes and absolute
// times in the past give a deadline that has already passed.
func Deadline(exptime, now int64) int64 {
	switch {
	case exptime == 0:
		return 0
	case exptime < 0:
		return past
	case exptime <= MaxRelativeExptime:
		return now + exptime
	case exptime <= now:
		return past
	default:
		return exptime
	}
}

// past is a deadline every clock has passed: the epoch's first second.
const past = 1

func expired(deadline, now int64) bool {
	return deadline != 0 && deadline <= now
}
