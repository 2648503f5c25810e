package provider

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/cloudlabs/cloudlabs/internal/machine/role"
)

// linkData gives each Data folder of r its place on the machine's disk:
// the folder in the host folder is a symlink to dataDir/<same relative
// path>, so removing the host folder (a replace) removes only the link. A
// real folder already there (a host made before it had a disk) moves onto
// the disk when the disk has nothing for it yet. Without a disk, Data
// folders are plain folders of the host, deleted with it.
func (h host) linkData(r role.Role) error {
	if len(r.Data) > 0 && h.dataDir == "" {
		h.warnf("host %s: no disk (dataDir), so %v are deleted with the host", h.name, r.Data)
	}
	for _, d := range r.Data {
		d = filepath.Clean(d)
		if err := h.inside(d); err != nil {
			return err
		}
		if h.dataDir == "" {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return fmt.Errorf("host %s: data folder: %w", h.name, err)
			}
			continue
		}
		rel, err := filepath.Rel(h.dir, d)
		if err != nil {
			return fmt.Errorf("host %s: data folder %s: %w", h.name, d, err)
		}
		target := filepath.Join(h.dataDir, rel)
		if err := h.link(d, target); err != nil {
			return fmt.Errorf("host %s: data folder %s: %w", h.name, d, err)
		}
	}
	return nil
}

// link makes path a symlink to the folder target.
func (h host) link(path, target string) error {
	st, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	case st.Mode()&fs.ModeSymlink != 0:
		if dst, _ := os.Readlink(path); dst == target {
			return os.MkdirAll(target, 0o755)
		}
		// The disk moved (a new state folder): point at its new place.
		if err := os.Remove(path); err != nil {
			return err
		}
	case st.IsDir():
		if !emptyDir(target) {
			return fmt.Errorf("holds data and so does its disk folder %s: move one away", target)
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		_ = os.Remove(target) // empty, checked above
		h.warnf("host %s: moving the data in %s onto the machine's disk %s", h.name, path, target)
		if err := os.Rename(path, target); err != nil {
			return err
		}
	default:
		return fmt.Errorf("is a file, want a folder")
	}
	if err := os.MkdirAll(target, 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.Symlink(target, path)
}

// emptyDir reports whether dir is missing or holds nothing.
func emptyDir(dir string) bool {
	ents, err := os.ReadDir(dir)
	return errors.Is(err, fs.ErrNotExist) || (err == nil && len(ents) == 0)
}

// dataFolders lists, relative to dir, the folders below it that hold
// files: what deleting dir loses, named for the operator.
func dataFolders(dir string) (folders []string, files int) {
	_ = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || e.Name() == diskMarker {
			return nil
		}
		files++
		rel, err := filepath.Rel(dir, filepath.Dir(p))
		if err == nil && !slices.Contains(folders, rel) {
			folders = append(folders, rel)
		}
		return nil
	})
	slices.Sort(folders)
	return folders, files
}
