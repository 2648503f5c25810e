package supervise

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/machine/role"
)

// PidFile and LogFile are where a twin host keeps a service's pid file and
// log below the host's folder: the provider starts services there, and
// whatever else starts or stops one (the pool manager's twin node group)
// finds them in the same place.
func PidFile(hostDir, service string) string {
	return filepath.Join(hostDir, "run/cloudlabs", service+".pid")
}

// LogFile: see PidFile.
func LogFile(hostDir, service string) string {
	return filepath.Join(hostDir, "var/log/cloudlabs", service+".log")
}

// NetNSFile holds the path of the network namespace a twin host's
// services run in (namespace mode); no file means this machine's network
// (loopback mode). The provider writes it; HostSpec reads it, so whatever
// else starts a host's service starts it in the same place.
func NetNSFile(hostDir string) string { return filepath.Join(hostDir, "run/cloudlabs/netns") }

// HostNetNS is the namespace path recorded for the host, "" for none.
func HostNetNS(hostDir string) string {
	b, err := os.ReadFile(NetNSFile(hostDir))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// HostSpec is a role service as a supervised process of the twin host
// with folder hostDir and address bind: its pid file and log in their
// place, in the host's namespace (NetNSFile), and, when it listens, a
// health check on its port from inside that namespace. The provider
// starts services with it, and so does whatever else starts one of a
// host's services (the pool manager's twin node group).
func HostSpec(hostDir, bind string, s role.Service, healthTimeout time.Duration) Spec {
	sp := Spec{
		Name: s.Name, Exec: s.Exec, Args: s.Args, Dir: hostDir,
		LogFile: LogFile(hostDir, s.Name), PidFile: PidFile(hostDir, s.Name),
		LimitNOFILE: s.LimitNOFILE, Timeout: healthTimeout, EnvFile: s.EnvFile,
	}
	sp.NetNS = HostNetNS(hostDir)
	if s.Port != 0 {
		sp.Health = Health{Addr: net.JoinHostPort(bind, strconv.Itoa(s.Port)), Path: s.Health, NetNS: sp.NetNS}
	}
	return sp
}
