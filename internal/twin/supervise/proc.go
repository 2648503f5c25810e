package supervise

import (
	"os"
	"strconv"

	"github.com/cloudlabs/cloudlabs/internal/system"
)

// sessionMembers lists the live processes of session sid. Linux never hands
// out a pid that is still in use as a session id, so every member found is
// a descendant of the session's original leader.
func sessionMembers(sid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
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
