package hostnet

import (
	"github.com/cloudlabs/cloudlabs/internal/system"

	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Swept counts what a sweep removed.
type Swept struct {
	Namespaces, Links, Processes int
}

// Sweep removes everything of stack id from this machine: processes still
// inside its namespaces (SIGKILL: a leftover of a killed run has nobody
// left to stop it gently), the namespaces with their nftables tables, the
// veths and the bridge. It is what destroy does last and what makes a
// killed `up` harmless to the next one.
func Sweep(id string) (Swept, error) {
	var sw Swept
	var errs []error
	// Links first, while each still exists: a namespace's deletion takes
	// its veth with it, on the kernel's own time.
	links, err := Links(id)
	if err != nil {
		return sw, err
	}
	slices.SortFunc(links, func(a, b netlink.Link) int { // the bridge last
		return cmp.Compare(b2i(a.Type() == "bridge"), b2i(b.Type() == "bridge"))
	})
	for _, l := range links {
		err := netlink.LinkDel(l)
		switch {
		case err == nil:
			sw.Links++
		case !notFound(err) && !errors.Is(err, unix.ENODEV):
			errs = append(errs, fmt.Errorf("delete link %s: %w", l.Attrs().Name, err))
		}
	}
	names, err := Namespaces(id)
	if err != nil {
		return sw, errors.Join(append(errs, err)...)
	}
	for _, name := range names {
		path := filepath.Join(nsDir, name)
		for _, pid := range Members(path) {
			if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
				sw.Processes++
			}
		}
		// A killed process leaves its namespace as it exits, which the
		// kernel does on its own time: wait, bounded, before deleting.
		deadline := time.Now().Add(5 * time.Second)
		for len(Members(path)) > 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if err := deleteNamed(name); err != nil {
			errs = append(errs, err)
			continue
		}
		sw.Namespaces++
	}
	return sw, errors.Join(errs...)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Namespaces lists the named namespaces of stack id.
func Namespaces(id string) ([]string, error) {
	ents, err := os.ReadDir(nsDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	var out []string
	for _, e := range ents {
		if ofStack(id, e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// Links lists this machine's links of stack id: its bridge and the veths
// whose alias names the stack (a veth deleted with its namespace is gone
// already).
func Links(id string) ([]netlink.Link, error) {
	all, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	var out []netlink.Link
	for _, l := range all {
		a := l.Attrs()
		if a.Name == BridgeName(id) || a.Alias == aliasPrefix+id || strings.HasPrefix(a.Alias, aliasPrefix+id+":") {
			out = append(out, l)
		}
	}
	return out, nil
}

// Members lists the processes whose network namespace is the one at path.
func Members(path string) []int {
	want, ok := inode(path)
	if !ok {
		return nil
	}
	var pids []int
	for _, pid := range system.Pids() {
		if got, ok := inode(filepath.Join("/proc", strconv.Itoa(pid), "ns/net")); ok && got == want {
			pids = append(pids, pid)
		}
	}
	return pids
}

type nsID struct{ dev, ino uint64 }

func inode(path string) (nsID, bool) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return nsID{}, false
	}
	return nsID{uint64(st.Dev), st.Ino}, true
}
