package provider

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/machine/artifact"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/system"
	"github.com/cloudlabs/cloudlabs/internal/twin/supervise"
)

// stopGrace is how long a service has between SIGTERM and SIGKILL.
const stopGrace = 5 * time.Second

// healthTimeout bounds the wait for one service to become healthy.
var healthTimeout = 20 * time.Second

// markerFile marks a folder as a host's, so Delete never removes a folder
// the provider did not make.
const markerFile = ".cloudlabs-host"

// host is one local machine: a folder and a loopback address.
type host struct {
	name    string
	dir     string
	bind    string
	dataDir string                           // the machine's disk; "" keeps Data folders in dir
	net     *HostNet                         // its network namespace; nil: loopback
	logf    func(format string, args ...any) // routine steps
	warnf   func(format string, args ...any) // what the operator should see
}

// desired is what a host should hold: its role, the content of its secret
// files by path, and the files whose change only reloads a service.
type desired struct {
	role    role.Role
	secrets map[string]string
	reloads map[string]string
}

// secretMode is every secret file's mode: readable by the user the
// provider runs as, who also runs the services, and by nobody else.
const secretMode os.FileMode = 0o600

func (h host) pidFile(svc string) string { return supervise.PidFile(h.dir, svc) }
func (h host) logFile(svc string) string { return supervise.LogFile(h.dir, svc) }

// apply brings the host from old (nil on create) to new: it writes the
// files, secrets and downloads that differ from what is on disk, then
// stops, restarts, starts and reloads services as planServices decides.
// Parked services are never started, restarted or reloaded: their owner
// stopped them on purpose. It returns what runs and what is parked.
func (h host) apply(ctx context.Context, old *desired, new desired) (status, error) {
	if err := h.check(new); err != nil {
		return status{}, err
	}
	if old != nil {
		// A recorded state is input too: an edited or corrupt one must not
		// make the provider delete files outside the folder.
		if err := h.checkPaths(*old); err != nil {
			return status{}, fmt.Errorf("recorded state: %w", err)
		}
	}
	if err := os.MkdirAll(h.dir, 0o755); err != nil {
		return status{}, fmt.Errorf("host %s: %w", h.name, err)
	}
	if err := h.join(); err != nil {
		return status{}, err
	}
	if err := h.canListen(); err != nil {
		return status{}, err
	}
	if err := os.WriteFile(filepath.Join(h.dir, markerFile), fmt.Appendf(nil, "%s %s\n", h.name, h.bind), 0o644); err != nil {
		return status{}, fmt.Errorf("host %s: %w", h.name, err)
	}
	if err := h.linkData(new.role); err != nil {
		return status{}, err
	}
	changed, err := h.writeFiles(ctx, old, new)
	if err != nil {
		return status{}, err
	}
	var oldRole *role.Role
	if old != nil {
		oldRole = &old.role
	}
	running := func(svc string) bool { return supervise.Alive(h.pidFile(svc)) != 0 }
	pl := planServices(oldRole, new.role, changed, new.reloads, running)
	pl = pl.without(func(svc string) bool { return supervise.Parked(h.dir, svc) })
	for _, name := range append(pl.stop, pl.restart...) {
		h.logf("stop %s", name)
		if err := supervise.Stop(h.pidFile(name), stopGrace); err != nil {
			return status{}, fmt.Errorf("host %s: stop %s: %w", h.name, name, err)
		}
	}
	for _, name := range pl.stop {
		// A service gone from the role is no longer parked either.
		if err := supervise.Unpark(h.dir, name); err != nil {
			return status{}, fmt.Errorf("host %s: %w", h.name, err)
		}
	}
	for _, s := range new.role.Services {
		if !slices.Contains(pl.start, s.Name) && !slices.Contains(pl.restart, s.Name) {
			continue
		}
		h.logf("start %s", s.Name)
		if _, err := supervise.Start(ctx, h.spec(s)); err != nil {
			return status{}, fmt.Errorf("host %s: %w", h.name, err)
		}
	}
	for _, name := range pl.reload {
		h.logf("reload %s", name)
		if err := supervise.Signal(h.pidFile(name), syscall.SIGHUP); err != nil {
			return status{}, fmt.Errorf("host %s: reload %s: %w", h.name, name, err)
		}
	}
	return h.status(new.role), nil
}

// spec turns a role service into a supervised process of this host.
func (h host) spec(s role.Service) supervise.Spec {
	return supervise.HostSpec(h.dir, h.bind, s, healthTimeout)
}

// status is what runs of a host's role and what is parked.
type status struct {
	pids   map[string]int // running services by name
	parked []string       // services marked parked, in role order
	total  int            // services of the role
}

// complete reports whether every service runs or is parked: a host with a
// parked slot is as it should be.
func (s status) complete() bool {
	n := len(s.pids)
	for _, p := range s.parked {
		if _, running := s.pids[p]; !running {
			n++
		}
	}
	return n == s.total
}

// status reads the pid files and parked markers of r's services.
func (h host) status(r role.Role) status {
	s := status{pids: map[string]int{}, total: len(r.Services)}
	for _, svc := range r.Services {
		if pid := supervise.Alive(h.pidFile(svc.Name)); pid != 0 {
			s.pids[svc.Name] = pid
		}
		if supervise.Parked(h.dir, svc.Name) {
			s.parked = append(s.parked, svc.Name)
		}
	}
	return s
}

// check fails early, before anything changes, on what would fail later.
func (h host) check(d desired) error {
	r := d.role
	if err := r.Validate(); err != nil {
		return err
	}
	if !filepath.IsAbs(h.dir) || filepath.Clean(h.dir) == "/" {
		return fmt.Errorf("host %s: stateDir %q must be an absolute folder below /", h.name, h.dir)
	}
	if h.dataDir != "" {
		dd, dir := filepath.Clean(h.dataDir), filepath.Clean(h.dir)
		if !filepath.IsAbs(dd) || dd == "/" || dd == dir || within(dd, dir) || within(dir, dd) {
			return fmt.Errorf("host %s: dataDir %q must be an absolute folder apart from the host folder %s", h.name, h.dataDir, h.dir)
		}
	}
	if err := h.checkPaths(d); err != nil {
		return err
	}
	for p := range d.secrets {
		for _, dd := range r.Data {
			if p == filepath.Clean(dd) || within(p, dd) {
				return fmt.Errorf("host %s: secret %s lies in the data folder %s, which outlives the host", h.name, p, dd)
			}
		}
	}
	// A service may run what the role itself brings: a download or a
	// file (a start script), both written before services start.
	brought := map[string]bool{}
	for _, d := range r.Downloads {
		brought[d.Path] = true
	}
	for _, f := range r.Files {
		brought[f.Path] = true
	}
	for _, s := range r.Services {
		if brought[s.Exec] {
			continue
		}
		if st, err := os.Stat(s.Exec); err != nil || st.IsDir() {
			return fmt.Errorf("%s not found: install it with apt-get install -y %s", s.Exec, packageFor(r, s))
		}
	}
	return nil
}

// checkPaths refuses a desired state naming any path the provider would
// write or delete outside the host folder.
func (h host) checkPaths(d desired) error {
	for _, p := range managedPaths(d) {
		if err := h.inside(p); err != nil {
			return err
		}
	}
	for _, p := range d.role.Data {
		if err := h.inside(p); err != nil {
			return err
		}
	}
	return nil
}

// inside refuses paths outside the host folder: the program renders the
// role with Layout.Root set to it, so anything else is a bug that would
// write into the real machine's /etc.
func (h host) inside(p string) error {
	if !within(p, h.dir) {
		return fmt.Errorf("host %s: %s is outside the host folder %s (render the role with the platform's Layout)", h.name, p, h.dir)
	}
	return nil
}

// within reports whether path p lies below folder dir (lexically).
func within(p, dir string) bool {
	return strings.HasPrefix(filepath.Clean(p), filepath.Clean(dir)+"/")
}

// packageFor names the Debian package that provides a service's binary.
func packageFor(r role.Role, s role.Service) string {
	base := filepath.Base(s.Exec)
	if slices.Contains(r.Packages, base) || len(r.Packages) != 1 {
		return base
	}
	return r.Packages[0]
}

// writeFiles writes files, secrets and downloads whose bytes differ from
// the disk and removes those old had and new does not. It returns the
// paths it touched.
func (h host) writeFiles(ctx context.Context, old *desired, new desired) (map[string]bool, error) {
	changed := map[string]bool{}
	for _, f := range new.role.Files {
		mode, err := parseMode(f.Mode, 0o644)
		if err != nil {
			return nil, fmt.Errorf("file %s: %w", f.Path, err)
		}
		if same(f.Path, []byte(f.Content), mode) {
			continue
		}
		if err := writeAtomic(f.Path, bytes.NewReader([]byte(f.Content)), mode, ""); err != nil {
			return nil, err
		}
		changed[f.Path] = true
	}
	for _, p := range slices.Sorted(maps.Keys(new.secrets)) {
		if same(p, []byte(new.secrets[p]), secretMode) {
			continue
		}
		// The error names the path only: the content is a secret.
		if err := writeAtomic(p, strings.NewReader(new.secrets[p]), secretMode, ""); err != nil {
			return nil, fmt.Errorf("secret file: %w", err)
		}
		changed[p] = true
	}
	for _, d := range new.role.Downloads {
		mode, err := parseMode(d.Mode, 0o755)
		if err != nil {
			return nil, fmt.Errorf("download %s: %w", d.Name, err)
		}
		if sum, err := artifact.FileSHA256(d.Path); err == nil && sum == d.SHA256 {
			if st, err := os.Stat(d.Path); err == nil && st.Mode().Perm() == mode {
				continue
			}
		}
		if err := fetch(ctx, d, mode); err != nil {
			return nil, err
		}
		changed[d.Path] = true
	}
	if old != nil {
		keep := map[string]bool{}
		for _, p := range managedPaths(new) {
			keep[p] = true
		}
		for _, p := range managedPaths(*old) {
			if keep[p] {
				continue
			}
			// checkPaths has vetted old's paths; check again right where
			// the deletion happens, so no later edit can skip it.
			if err := h.inside(p); err != nil {
				return nil, err
			}
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("remove %s: %w", p, err)
			}
			changed[p] = true
		}
	}
	return changed, nil
}

// managedPaths are the paths the provider writes for d, and so deletes
// once a later d no longer names them.
func managedPaths(d desired) []string {
	var ps []string
	for _, f := range d.role.Files {
		ps = append(ps, f.Path)
	}
	for _, dl := range d.role.Downloads {
		ps = append(ps, dl.Path)
	}
	for p := range d.secrets {
		ps = append(ps, p)
	}
	return ps
}

// same reports whether path already holds content with mode.
func same(path string, content []byte, mode os.FileMode) bool {
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != mode {
		return false
	}
	b, err := os.ReadFile(path)
	return err == nil && bytes.Equal(b, content)
}

// fetch copies a download from a local path, a file:// URL or http(s) and
// checks its SHA-256 before putting it in place.
func fetch(ctx context.Context, d role.Download, mode os.FileMode) error {
	var src io.ReadCloser
	switch {
	case strings.HasPrefix(d.URL, "http://"), strings.HasPrefix(d.URL, "https://"):
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.URL, nil)
		if err != nil {
			return fmt.Errorf("download %s: %w", d.Name, err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("download %s: %w", d.Name, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return fmt.Errorf("download %s: GET %s: status %d", d.Name, d.URL, resp.StatusCode)
		}
		src = resp.Body
	default:
		f, err := os.Open(strings.TrimPrefix(d.URL, "file://"))
		if err != nil {
			return fmt.Errorf("download %s: %w", d.Name, err)
		}
		src = f
	}
	defer src.Close()
	if err := writeAtomic(d.Path, src, mode, d.SHA256); err != nil {
		return fmt.Errorf("download %s: %w", d.Name, err)
	}
	return nil
}

// writeAtomic writes r to a temporary file beside path, checks its hash
// when wantSHA is set, and renames it over path: a running binary is
// replaced, never rewritten in place.
func writeAtomic(path string, r io.Reader, mode os.FileMode, wantSHA string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return system.WriteAtomic(path, mode, func(w io.Writer) error {
		h := sha256.New()
		if _, err := io.Copy(io.MultiWriter(w, h), r); err != nil {
			return err
		}
		if got := hex.EncodeToString(h.Sum(nil)); wantSHA != "" && !strings.EqualFold(got, wantSHA) {
			return fmt.Errorf("SHA-256 %s, want %s", got, wantSHA)
		}
		return nil
	})
}

func parseMode(s string, def os.FileMode) (os.FileMode, error) {
	if s == "" {
		return def, nil
	}
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil {
		return 0, fmt.Errorf("mode %q is not octal", s)
	}
	return os.FileMode(m).Perm(), nil
}

// stopAll stops every service that has a pid file in the host folder,
// including ones a lost state no longer names.
func (h host) stopAll() error {
	pids, _ := filepath.Glob(supervise.PidFile(h.dir, "*"))
	var errs []error
	for _, pf := range pids {
		h.logf("stop %s", strings.TrimSuffix(filepath.Base(pf), ".pid"))
		errs = append(errs, supervise.Stop(pf, stopGrace))
	}
	return errors.Join(errs...)
}

// remove stops everything, drops the parked markers and deletes the
// folder, if it is a host folder.
func (h host) remove() error {
	if err := h.stopAll(); err != nil {
		return fmt.Errorf("host %s: %w", h.name, err)
	}
	if err := h.leave(); err != nil {
		return fmt.Errorf("host %s: %w", h.name, err)
	}
	parked, _ := filepath.Glob(supervise.ParkedFile(h.dir, "*"))
	for _, m := range parked {
		if err := os.Remove(m); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("host %s: %w", h.name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(h.dir, markerFile)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // never made, or already gone: nothing of ours to remove
		}
		return fmt.Errorf("host %s: %w", h.name, err)
	}
	if err := os.RemoveAll(h.dir); err != nil {
		return fmt.Errorf("host %s: remove folder: %w", h.name, err)
	}
	return nil
}

// exists reports whether the host folder is there.
func (h host) exists() bool {
	_, err := os.Stat(filepath.Join(h.dir, markerFile))
	return err == nil
}
