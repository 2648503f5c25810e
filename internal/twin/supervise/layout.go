package supervise

import "path/filepath"

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
