package verify

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/twin/supervise"
)

// twinService reads a twin host's pid file and the recorded process's
// /proc stat over SSH: running when that very incarnation (same start
// time) is alive, as supervise.Alive decides locally.
func (s *SSH) twinService(ctx context.Context, sv role.Service) (ServiceState, error) {
	pf := ShellQuote(supervise.PidFile(s.cfg.TwinDir, sv.Name))
	out, code, err := s.Run(ctx, "cat -- "+pf+" && cat /proc/\"$(cut -d' ' -f1 "+pf+")\"/stat")
	if err != nil {
		return ServiceState{}, err
	}
	pid, stat, ok := strings.Cut(out, "\n")
	if code != 0 || !ok {
		return ServiceState{Active: "no live process for pid file " + supervise.PidFile(s.cfg.TwinDir, sv.Name)}, nil
	}
	f := strings.Fields(pid)
	if len(f) != 2 {
		return ServiceState{Active: fmt.Sprintf("pid file %q: want \"pid starttime\"", pid)}, nil
	}
	// Fields after the command's closing parenthesis start at the third
	// (state); the start time is the 22nd.
	i := strings.LastIndexByte(stat, ')')
	rest := strings.Fields(stat[i+1:])
	if i < 0 || len(rest) < 20 {
		return ServiceState{Active: "unreadable /proc stat of pid " + f[0]}, nil
	}
	if _, err := strconv.ParseUint(rest[19], 10, 64); err != nil || rest[19] != f[1] || rest[0] == "Z" {
		return ServiceState{Active: fmt.Sprintf("pid %s (from %s) is not running", f[0], supervise.PidFile(s.cfg.TwinDir, sv.Name))}, nil
	}
	return ServiceState{Running: true, Active: "pid " + f[0]}, nil
}
