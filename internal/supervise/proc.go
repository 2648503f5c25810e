package supervise

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// procStat is the part of /proc/<pid>/stat that identifies a process.
type procStat struct {
	state     byte
	pgrp      int
	session   int
	startTime uint64 // clock ticks since boot: unique per pid incarnation
}

// readStat parses /proc/<pid>/stat. The command name (field 2) may contain
// spaces and parentheses, so fields are counted after its last ')'.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("parse /proc/%d/stat: no command name", pid)
	}
	// Fields after the name start at field 3 (state); starttime is field 22.
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(f))
	}
	var st procStat
	st.state = f[0][0]
	if st.pgrp, err = strconv.Atoi(f[2]); err != nil {
		return procStat{}, fmt.Errorf("parse /proc/%d/stat pgrp: %w", pid, err)
	}
	if st.session, err = strconv.Atoi(f[3]); err != nil {
		return procStat{}, fmt.Errorf("parse /proc/%d/stat session: %w", pid, err)
	}
	if st.startTime, err = strconv.ParseUint(f[19], 10, 64); err != nil {
		return procStat{}, fmt.Errorf("parse /proc/%d/stat starttime: %w", pid, err)
	}
	return st, nil
}

// running reports whether the process is alive and not a zombie waiting to
// be reaped.
func (s procStat) running() bool { return s.state != 'Z' && s.state != 'X' }

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
		st, err := readStat(pid)
		if err != nil || !st.running() {
			continue
		}
		if st.session == sid {
			pids = append(pids, pid)
		}
	}
	return pids
}
