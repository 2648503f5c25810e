package system

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ProcStat is the part of /proc/<pid>/stat that identifies a process and
// says whether it still runs.
type ProcStat struct {
	State     byte // R, S, D, Z (zombie), X (dead), ...
	PPID      int
	Pgrp      int
	Session   int
	StartTime uint64 // clock ticks since boot: unique per pid incarnation
}

// ReadProcStat parses /proc/<pid>/stat. The command name (field 2) may
// contain spaces and parentheses, so fields are counted after its last ')'.
func ReadProcStat(pid int) (ProcStat, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return ProcStat{}, err
	}
	return parseProcStat(pid, string(b))
}

func parseProcStat(pid int, s string) (ProcStat, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ProcStat{}, fmt.Errorf("parse /proc/%d/stat: no command name", pid)
	}
	// Fields after the name start at field 3 (state); starttime is field 22.
	f := strings.Fields(s[i+1:])
	if len(f) < 20 || len(f[0]) != 1 {
		return ProcStat{}, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(f))
	}
	st := ProcStat{State: f[0][0]}
	var err error
	if st.PPID, err = strconv.Atoi(f[1]); err != nil {
		return ProcStat{}, fmt.Errorf("parse /proc/%d/stat ppid: %w", pid, err)
	}
	if st.Pgrp, err = strconv.Atoi(f[2]); err != nil {
		return ProcStat{}, fmt.Errorf("parse /proc/%d/stat pgrp: %w", pid, err)
	}
	if st.Session, err = strconv.Atoi(f[3]); err != nil {
		return ProcStat{}, fmt.Errorf("parse /proc/%d/stat session: %w", pid, err)
	}
	if st.StartTime, err = strconv.ParseUint(f[19], 10, 64); err != nil {
		return ProcStat{}, fmt.Errorf("parse /proc/%d/stat starttime: %w", pid, err)
	}
	return st, nil
}

// Running reports whether the process is alive and not a zombie waiting
// to be reaped: a zombie has ended.
func (s ProcStat) Running() bool { return s.State != 'Z' && s.State != 'X' }

// ProcessRunning reports whether pid names a live process that is not a
// zombie.
func ProcessRunning(pid int) bool {
	st, err := ReadProcStat(pid)
	return err == nil && st.Running()
}

// Pids lists the processes in /proc now (nil when /proc cannot be read);
// any of them may end before the caller looks at it.
func Pids() []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}
