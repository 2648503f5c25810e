// Package role describes what a machine runs, independent of where it runs:
// the packages it needs, the files it holds, the binaries it fetches and the
// services it keeps alive. Platforms realize a Role as cloud-init user data
// (aws, gcp) or as processes on a loopback address (local).
package role

import (
	"fmt"
	"sort"
)

// Role is plain data: no Pulumi outputs, no platform knowledge. A component
// builds it once the values it depends on (peer addresses, artifact URLs)
// are known, inside an ApplyT.
type Role struct {
	// Name names the role ("riak", "phonebook", "fibonacci", "lb", "cachenode").
	Name string `json:"name"`
	// Packages are Debian/Ubuntu packages to install before anything starts.
	Packages []string `json:"packages,omitempty"`
	// Downloads are files fetched at boot and checked against their SHA-256
	// before use: app binaries and packages not in the distribution (Riak).
	Downloads []Download `json:"downloads,omitempty"`
	// Files are written before services start. Paths are absolute on a cloud
	// machine; the local platform places them under its state folder.
	Files []File `json:"files,omitempty"`
	// Services are long-running processes, kept alive by systemd on cloud
	// machines and by the local provider on the twin.
	Services []Service `json:"services,omitempty"`
	// Setup runs once, as root, after files are written and packages
	// installed and before services start (cloud platforms only).
	Setup []string `json:"setup,omitempty"`
	// Boot runs once, as root, after services started (cloud platforms only):
	// joins that need the service up, such as a Riak cluster join.
	Boot []string `json:"boot,omitempty"`
	// Secrets are files whose content is a stack secret (the Riak cookie,
	// an admin token). The platform delivers them before services start
	// from its secret store, read with the machine's own identity (SSM
	// Parameter Store, Secret Manager; a private file on the twin), never
	// through user data. MachineArgs.Secrets carries the values.
	Secrets []SecretFile `json:"secrets,omitempty"`
	// Data are folders holding the machine's durable data (a database).
	// They survive what replaces the machine, as a cloud's stateful disk
	// does; only destroy deletes them, and says so.
	Data []string `json:"data,omitempty"`
}

// SecretFile is where a stack secret lands on the machine.
type SecretFile struct {
	// Name is the secret's name, unique in the stack ("riak-cookie"):
	// the key of MachineArgs.Secrets.
	Name  string `json:"name"`
	Path  string `json:"path"`
	Mode  string `json:"mode"` // octal, such as "0600"
	Owner string `json:"owner,omitempty"`
}

// Download is a file fetched from URL and verified against SHA256.
type Download struct {
	Name   string `json:"name"`
	URL    string `json:"url"`
	SHA256 string `json:"sha256"`
	Path   string `json:"path"`
	Mode   string `json:"mode"` // octal, such as "0755"
}

// File is a file written verbatim.
type File struct {
	Path    string `json:"path"`
	Content string `json:"content"`
	Mode    string `json:"mode"` // octal, such as "0644"
	Owner   string `json:"owner,omitempty"`
}

// Service is one long-running process.
type Service struct {
	Name string   `json:"name"`
	Exec string   `json:"exec"` // absolute path of the executable
	Args []string `json:"args,omitempty"`
	// User runs the service; "" means the role's dedicated user, "root" root.
	User string `json:"user,omitempty"`
	// Port is where the service listens; 0 when it listens nowhere.
	Port int `json:"port,omitempty"`
	// Health is an HTTP path answered 200 when the service is ready;
	// "" means a TCP connect to Port is the check.
	Health string `json:"health,omitempty"`
	// LimitNOFILE raises the open-file limit (nginx, memcached).
	LimitNOFILE int `json:"limitNofile,omitempty"`
	// SystemdUnit, when set, is a unit the distribution package already
	// installs (nginx, memcached): the platform configures and restarts it
	// instead of writing its own unit.
	SystemdUnit string `json:"systemdUnit,omitempty"`
	// EnvFile, when set, is a file of KEY=value lines (a SecretFile, so a
	// password never shows in the arguments or the user data) loaded into
	// the service's environment: systemd's EnvironmentFile; the twin
	// reads it at each start.
	EnvFile string `json:"envFile,omitempty"`
}

// ServiceUser is the dedicated, unprivileged user services run as.
const ServiceUser = "cloudlabs"

// Validate checks the invariants platforms rely on.
func (r Role) Validate() error {
	if r.Name == "" {
		return fmt.Errorf("role has no name")
	}
	seen := map[string]bool{}
	for _, s := range r.Services {
		if s.Name == "" || s.Exec == "" {
			return fmt.Errorf("role %s: service needs a name and an exec", r.Name)
		}
		if seen[s.Name] {
			return fmt.Errorf("role %s: service %s declared twice", r.Name, s.Name)
		}
		seen[s.Name] = true
		if s.EnvFile != "" && !r.brings(s.EnvFile) {
			return fmt.Errorf("role %s: service %s: envFile %s is none of the role's files or secret files", r.Name, s.Name, s.EnvFile)
		}
	}
	for _, d := range r.Downloads {
		if len(d.SHA256) != 64 {
			return fmt.Errorf("role %s: download %s needs a hex SHA-256, got %q", r.Name, d.Name, d.SHA256)
		}
	}
	return nil
}

// brings reports whether path is one of the role's files or secret files.
func (r Role) brings(path string) bool {
	for _, f := range r.Files {
		if f.Path == path {
			return true
		}
	}
	for _, f := range r.Secrets {
		if f.Path == path {
			return true
		}
	}
	return false
}

// Ports lists the ports the role's services listen on, ascending.
func (r Role) Ports() []int {
	var ps []int
	for _, s := range r.Services {
		if s.Port != 0 {
			ps = append(ps, s.Port)
		}
	}
	sort.Ints(ps)
	return ps
}
