package sweep

import (
	"fmt"
	"syscall"
)

// RaiseFDLimit lifts the soft open-files limit to the hard one (what
// `ulimit -n` does in the lab) and reports whether need descriptors fit.
// The message says what was done, for the operator.
func RaiseFDLimit(need uint64) (ok bool, msg string) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return false, fmt.Sprintf("cannot read the open-files limit: %v", err)
	}
	before := lim.Cur
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return before >= need, fmt.Sprintf("open-files limit stays %d (raising to %d failed: %v); %d needed", before, lim.Max, err, need)
		}
	}
	if lim.Cur < need {
		return false, fmt.Sprintf("open-files limit is %d (hard limit %d), below the %d the highest concurrency needs: raise the hard limit (ulimit -Hn, or LimitNOFILE= in systemd) or expect 'other' errors (too many open files)", lim.Cur, lim.Max, need)
	}
	if lim.Cur != before {
		return true, fmt.Sprintf("open-files limit raised from %d to %d", before, lim.Cur)
	}
	return true, fmt.Sprintf("open-files limit %d is enough", lim.Cur)
}
