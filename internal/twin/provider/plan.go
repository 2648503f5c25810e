package provider

import (
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/cloudlabs/cloudlabs/internal/machine/role"
)

// plan is what an update does to a host's services.
type plan struct {
	stop    []string // services gone from the role
	restart []string // running services whose inputs changed
	start   []string // services not running (new, or died)
	reload  []string // running services sent SIGHUP for a reload-only file
}

// without drops the services skip names from what the plan starts,
// restarts or reloads (parked services); stopping a service gone from the
// role still happens.
func (pl plan) without(skip func(string) bool) plan {
	keep := func(names []string) []string {
		var out []string
		for _, n := range names {
			if !skip(n) {
				out = append(out, n)
			}
		}
		return out
	}
	pl.restart, pl.start, pl.reload = keep(pl.restart), keep(pl.start), keep(pl.reload)
	return pl
}

// planServices decides, from the paths whose content changed, which
// services restart and which only reload. The dependency rule:
//
//   - a service depends on its Exec and on every file whose path appears in
//     one of its Args, or lies below a folder named in one of its Args;
//   - a changed file listed in reloads (path -> service, from the
//     platform's DynamicFiles) only reloads that service;
//   - a changed file no service depends on restarts every service of the
//     host: a config read from a path the flags do not name must not be
//     silently ignored.
//
// A service whose spec and dependencies are unchanged keeps its process.
func planServices(old *role.Role, new role.Role, changed map[string]bool, reloads map[string]string, running func(string) bool) plan {
	var pl plan
	oldSvc := map[string]role.Service{}
	if old != nil {
		for _, s := range old.Services {
			oldSvc[s.Name] = s
		}
	}
	newNames := map[string]bool{}
	for _, s := range new.Services {
		newNames[s.Name] = true
	}
	for name := range oldSvc {
		if !newNames[name] {
			pl.stop = append(pl.stop, name)
		}
	}
	slices.Sort(pl.stop)

	restart := map[string]bool{}
	reload := map[string]bool{}
	for path := range changed {
		if svc, ok := reloads[path]; ok && newNames[svc] {
			reload[svc] = true
			continue
		}
		hit := false
		for _, s := range new.Services {
			if dependsOn(s, path) {
				restart[s.Name], hit = true, true
			}
		}
		if !hit {
			for _, s := range new.Services {
				restart[s.Name] = true
			}
		}
	}
	for _, s := range new.Services {
		prev, existed := oldSvc[s.Name]
		switch {
		case !running(s.Name):
			pl.start = append(pl.start, s.Name)
		case !existed || !reflect.DeepEqual(prev, s) || restart[s.Name]:
			pl.restart = append(pl.restart, s.Name)
		case reload[s.Name]:
			pl.reload = append(pl.reload, s.Name)
		}
	}
	return pl
}

// dependsOn applies the dependency rule to one service and one path.
func dependsOn(s role.Service, path string) bool {
	if s.Exec == path {
		return true
	}
	for _, a := range s.Args {
		if strings.Contains(a, path) {
			return true
		}
		for _, dir := range pathsIn(a) {
			if strings.HasPrefix(path, strings.TrimSuffix(dir, "/")+"/") {
				return true
			}
		}
	}
	return false
}

// pathsIn finds absolute paths in one argument: "/a/b", "--dir=/a/b",
// "bolt:///a/b", "include /a/b;".
func pathsIn(arg string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(arg, func(r rune) bool { return r == '=' || r == ' ' || r == ';' || r == ',' }) {
		if i := strings.Index(f, "://"); i >= 0 {
			f = f[i+2:]
		}
		if strings.HasPrefix(f, "/") && len(f) > 1 {
			out = append(out, filepath.Clean(f))
		}
	}
	return out
}
