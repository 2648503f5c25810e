package vmboot

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// BasePackages are in every image: what a cloud image of Debian or Ubuntu
// brings (kernel, systemd, cloud-init, sshd, sudo for the default user)
// plus what the rendered user data calls (curl, python3 in the fetch and
// secret steps; nftables for the boot's metadata redirect; locales, or
// cloud-init's locale module fails; e2fsprogs, or its resizefs module
// fails; ifupdown and a DHCP client, which cloud-init's network renderer
// for Debian drives).
var BasePackages = []string{
	"ca-certificates", "cloud-init", "curl", "dbus", "e2fsprogs", "ifupdown", "iproute2",
	"isc-dhcp-client", "linux-image-cloud-amd64", "locales", "nftables",
	"openssh-server", "python3", "sudo", "systemd-sysv", "udev",
}

// Suite and Mirror are what the image is built from.
const (
	Suite  = "bookworm"
	Mirror = "http://deb.debian.org/debian"
)

// recipe changes when the way an image is made changes (this file's
// customizations): it is part of the cache key, so an old image is not
// reused under a new recipe.
const recipe = "vmboot-image-4"

// ImageSize is the root file system's size; the file is sparse.
const ImageSize = "3G"

// Image is a built base image in the cache.
type Image struct {
	// Dir holds the image's files; its name is the key.
	Dir string
	// Rootfs is the ext4 root file system (raw); guests boot from a
	// copy-on-write overlay of it, never write it.
	Rootfs string
	// Kernel and Initrd are passed to QEMU directly.
	Kernel, Initrd string
	// Packages are what it was built with, sorted.
	Packages []string
}

// Packages is the image's package list for roles needing extra: the base
// packages and extra, sorted, without duplicates.
func Packages(extra []string) []string {
	out := append(slices.Clone(BasePackages), extra...)
	slices.Sort(out)
	return slices.Compact(out)
}

// Key names the image of a package list (sorted, as Packages returns it):
// the cache holds one image per key.
func Key(pkgs []string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n%s\n", recipe, Suite, Mirror, strings.Join(pkgs, "\n"))
	return "bookworm-" + hex.EncodeToString(h.Sum(nil))[:16]
}

// doneFile marks a complete image: a build that died leaves none.
const doneFile = "packages.txt"

// EnsureImage returns the cached image of pkgs under cacheDir, building it
// first when it is missing (mmdebstrap from the Debian mirror, about 5
// minutes). One build per key runs at a time; others wait for it. logf
// gets progress.
func EnsureImage(ctx context.Context, cacheDir string, pkgs []string, logf func(string, ...any)) (Image, error) {
	key := Key(pkgs)
	img := Image{
		Dir: filepath.Join(cacheDir, key), Packages: pkgs,
	}
	img.Rootfs = filepath.Join(img.Dir, "rootfs.ext4")
	img.Kernel = filepath.Join(img.Dir, "vmlinuz")
	img.Initrd = filepath.Join(img.Dir, "initrd.img")
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return img, err
	}
	unlock, err := lock(ctx, filepath.Join(cacheDir, key+".lock"), logf)
	if err != nil {
		return img, err
	}
	defer unlock()
	if _, err := os.Stat(filepath.Join(img.Dir, doneFile)); err == nil {
		logf("base image %s: cached (%s)", key, img.Dir)
		return img, nil
	}
	logf("base image %s: building with mmdebstrap (%d packages, about 5 minutes): %s", key, len(pkgs), strings.Join(pkgs, " "))
	start := time.Now()
	if err := build(ctx, cacheDir, img, logf); err != nil {
		return img, fmt.Errorf("build base image %s: %w", key, err)
	}
	logf("base image %s: built in %s", key, time.Since(start).Round(time.Second))
	return img, nil
}

// lock takes an exclusive lock on path, waiting (with a word every
// minute) while another build holds it.
func lock(ctx context.Context, path string, logf func(string, ...any)) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	said := time.Time{}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if time.Since(said) > time.Minute {
			logf("waiting for another build of this image (lock %s)", path)
			said = time.Now()
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// build makes the image in a folder of its own and renames it into place
// when complete.
func build(ctx context.Context, cacheDir string, img Image, logf func(string, ...any)) error {
	work, err := os.MkdirTemp(cacheDir, filepath.Base(img.Dir)+".build-")
	if err != nil {
		return err
	}
	defer func() {
		// A tree with a file system still mounted in it (mmdebstrap
		// killed before its cleanup) is left alone: removing it would
		// reach into what is mounted there.
		if m := mountsUnder(work); len(m) > 0 {
			logf("base image: %s still has mounts (%s): not removed; umount them, then remove it", work, strings.Join(m, ", "))
			return
		}
		os.RemoveAll(work)
	}()
	root := filepath.Join(work, "root")
	logPath := filepath.Join(work, "mmdebstrap.log")
	args := []string{
		"--mode=root", "--variant=apt", "--components=main",
		// No fsync per file: a half-built tree is thrown away anyway, and
		// on a busy shared disk the syncs take most of the build.
		"--dpkgopt=force-unsafe-io",
		// Documentation and translations are never read in the guest.
		"--dpkgopt=path-exclude=/usr/share/doc/*", "--dpkgopt=path-exclude=/usr/share/man/*",
		"--dpkgopt=path-exclude=/usr/share/locale/*", "--dpkgopt=path-exclude=/usr/share/info/*",
		"--include=" + strings.Join(img.Packages, ","),
		Suite, root, Mirror,
	}
	if err := runLogged(ctx, "mmdebstrap", args, logPath, "base image: mmdebstrap", logf); err != nil {
		return err
	}
	if err := customize(root); err != nil {
		return err
	}
	// The locale cloud-init sets (en_US.UTF-8), generated once here as a
	// cloud image ships it, instead of at every boot: under emulation
	// locale-gen takes minutes.
	if out, err := exec.CommandContext(ctx, "chroot", root, "locale-gen").CombinedOutput(); err != nil {
		return fmt.Errorf("locale-gen in the image: %w: %s", err, strings.TrimSpace(string(out)))
	}
	for _, k := range []struct{ glob, dest string }{
		{"boot/vmlinuz-*", "vmlinuz"}, {"boot/initrd.img-*", "initrd.img"},
	} {
		m, _ := filepath.Glob(filepath.Join(root, k.glob))
		if len(m) != 1 {
			return fmt.Errorf("the image has %d files %s, want one (is linux-image-cloud-amd64 in the package list?)", len(m), k.glob)
		}
		if err := copyFile(m[0], filepath.Join(work, k.dest)); err != nil {
			return err
		}
	}
	logf("base image: writing the ext4 file system (%s, sparse)", ImageSize)
	fs := filepath.Join(work, "rootfs.ext4")
	if err := runLogged(ctx, "mkfs.ext4", []string{"-q", "-F", "-L", "cloudlabs-root", "-d", root, fs, ImageSize}, filepath.Join(work, "mkfs.log"), "base image: mkfs.ext4", logf); err != nil {
		return err
	}
	if err := os.RemoveAll(root); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(work, doneFile), []byte(strings.Join(img.Packages, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	os.Remove(logPath)
	if err := os.RemoveAll(img.Dir); err != nil {
		return err
	}
	return os.Rename(work, img.Dir)
}

// customize makes the tree a cloud image for a NoCloud seed: cloud-init
// reads only NoCloud, the root file system is the first virtio disk, no
// SSH host key is baked in (cloud-init installs the boot's), and apt has
// no sources: the guest has no mirror, every package a role needs is in
// the image, and the user data's package_update and packages steps run
// against what is installed.
func customize(root string) error {
	files := map[string]string{
		"etc/cloud/cloud.cfg.d/90-cloudlabs-vmboot.cfg": "# cloudlabs vmboot image: the seed is a NoCloud volume; there is no mirror.\n" +
			"datasource_list: [NoCloud, None]\n" +
			"apt:\n  preserve_sources_list: true\n",
		"etc/fstab":            "LABEL=cloudlabs-root / ext4 defaults 0 1\n",
		"etc/apt/sources.list": "# cloudlabs vmboot image: no mirror reachable; packages are preinstalled\n",
		"etc/locale.gen":       "en_US.UTF-8 UTF-8\n",
		"etc/default/locale":   "LANG=en_US.UTF-8\n",
		// mmdebstrap writes none; cloud images name localhost.
		"etc/hosts": "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n",
	}
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			return err
		}
	}
	for _, glob := range []string{"etc/apt/sources.list.d/*", "etc/ssh/ssh_host_*"} {
		m, _ := filepath.Glob(filepath.Join(root, glob))
		for _, f := range m {
			if err := os.Remove(f); err != nil {
				return err
			}
		}
	}
	// An empty machine-id makes systemd create one at first boot.
	return os.WriteFile(filepath.Join(root, "etc/machine-id"), nil, 0o444)
}

// runLogged runs a long command with its output in logPath, saying every
// 30 s what it is doing; a failure carries the log's last lines.
func runLogged(ctx context.Context, name string, args []string, logPath, what string, logf func(string, ...any)) error {
	out, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = out, out
	// SIGTERM, not SIGKILL, on cancel and when labctl dies: mmdebstrap
	// then unmounts what it mounted in the tree and ends its children.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	start := time.Now()
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("%s %s: %w; last lines of %s:\n%s", name, strings.Join(args, " "), err, logPath, Tail(logPath, 20))
			}
			return nil
		case <-tick.C:
			logf("%s: %s so far; %s", what, time.Since(start).Round(time.Second), lastLine(logPath))
		}
	}
}

// Tail is the last n lines of a file, for error messages; "" when it
// cannot be read.
func Tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	// The last 256 KB hold the lines asked for.
	if st, err := f.Stat(); err == nil && st.Size() > 256<<10 {
		f.Seek(st.Size()-256<<10, io.SeekStart)
	}
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, strings.TrimRight(sc.Text(), "\r"))
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

func lastLine(path string) string {
	t := Tail(path, 1)
	if len(t) > 160 {
		t = t[:160] + "…"
	}
	return t
}

// mountsUnder are the mount points at or below dir (/proc/self/mountinfo).
func mountsUnder(dir string) []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return []string{"unknown: " + err.Error()}
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			out = append(out, f[4])
		}
	}
	return out
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
