package supervise

import (
	"github.com/cloudlabs/cloudlabs/internal/system"
)

// sessionMembers lists the live processes of session sid. Linux never hands
// out a pid that is still in use as a session id, so every member found is
// a descendant of the session's original leader.
func sessionMembers(sid int) []int {
	var pids []int
	for _, pid := range system.Pids() {
		st, err := system.ReadProcStat(pid)
		if err != nil || !st.Running() {
			continue
		}
		if st.Session == sid {
			pids = append(pids, pid)
		}
	}
	return pids
}
