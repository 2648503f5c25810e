package vmboot

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/system"
)

// Guest is one virtual machine: 2 vCPUs, 1 GB, the image's kernel and
// initrd passed directly, a copy-on-write overlay of the image and the
// seed as virtio disks, QEMU's user-mode network with the guest's ports
// forwarded to this computer's loopback, the serial console in a file.
type Guest struct {
	Image Image
	// Dir is the boot's own folder: overlay disk, seed, console log.
	Dir string
	// Seed is the NoCloud volume (Seed.Write).
	Seed string
	// Forward maps guest TCP ports to loopback ports of this computer;
	// the guest's SSH port (22) is among them.
	Forward map[int]int
	// Accel is "kvm" or "tcg" (Accel picks).
	Accel string
	CPUs  int
	MemMB int

	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Console is the guest's serial console log.
func (g *Guest) Console() string { return filepath.Join(g.Dir, "console.log") }

// Disk is the guest's overlay disk.
func (g *Guest) Disk() string { return filepath.Join(g.Dir, "disk.qcow2") }

// Args are QEMU's arguments.
func (g *Guest) Args() []string {
	cpus, mem := g.CPUs, g.MemMB
	if cpus == 0 {
		cpus = 2
	}
	if mem == 0 {
		mem = 1024
	}
	cpu := "max"
	if g.Accel == "kvm" {
		cpu = "host"
	}
	netdev := "user,id=net0"
	for _, guest := range sortedPorts(g.Forward) {
		netdev += fmt.Sprintf(",hostfwd=tcp:127.0.0.1:%d-:%d", g.Forward[guest], guest)
	}
	return []string{
		"-name", "cloudlabs-vmboot",
		"-accel", g.Accel, "-cpu", cpu, "-smp", strconv.Itoa(cpus), "-m", strconv.Itoa(mem),
		"-nodefaults", "-display", "none", "-no-reboot",
		"-kernel", g.Image.Kernel, "-initrd", g.Image.Initrd,
		"-append", "root=/dev/vda rw console=ttyS0,115200 panic=-1",
		"-drive", "file=" + g.Disk() + ",if=virtio,format=qcow2",
		"-drive", "file=" + g.Seed + ",if=virtio,format=raw,readonly=on",
		"-netdev", netdev, "-device", "virtio-net-pci,netdev=net0",
		"-serial", "file:" + g.Console(),
	}
}

func sortedPorts(m map[int]int) []int {
	ps := make([]int, 0, len(m))
	for p := range m {
		ps = append(ps, p)
	}
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j] < ps[j-1]; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
	return ps
}

// Start makes the overlay disk and starts QEMU. The process dies with
// this one (Pdeathsig) and with ctx.
func (g *Guest) Start(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, "qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", g.Image.Rootfs, g.Disk()).CombinedOutput()
	if err != nil {
		return fmt.Errorf("qemu-img create overlay: %w: %s", err, strings.TrimSpace(string(out)))
	}
	stderr, err := os.Create(filepath.Join(g.Dir, "qemu.log"))
	if err != nil {
		return err
	}
	g.cmd = exec.CommandContext(ctx, "qemu-system-x86_64", g.Args()...)
	g.cmd.Stdout, g.cmd.Stderr = stderr, stderr
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	g.cmd.Cancel = func() error { return g.cmd.Process.Signal(syscall.SIGTERM) }
	g.cmd.WaitDelay = 10 * time.Second
	if err := g.cmd.Start(); err != nil {
		stderr.Close()
		return fmt.Errorf("qemu-system-x86_64: %w", err)
	}
	g.done = make(chan struct{})
	go func() {
		g.err = g.cmd.Wait()
		stderr.Close()
		close(g.done)
	}()
	return nil
}

// Done is closed when QEMU has exited.
func (g *Guest) Done() <-chan struct{} { return g.done }

// Exit says how QEMU ended, with its own messages; call after Done.
func (g *Guest) Exit() string {
	msg := "exited"
	if g.err != nil {
		msg = g.err.Error()
	}
	if t := Tail(filepath.Join(g.Dir, "qemu.log"), 5); t != "" {
		msg += ": " + t
	}
	return msg
}

// Stop ends QEMU (SIGTERM, which QEMU takes as a power cut after
// syncing its disks) and waits up to wait for it, then kills it.
func (g *Guest) Stop(wait time.Duration) {
	if g.cmd == nil || g.cmd.Process == nil {
		return
	}
	select {
	case <-g.done:
		return
	default:
	}
	g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
	case <-time.After(wait):
		g.cmd.Process.Kill()
		<-g.done
	}
}

// Accel is "kvm" when QEMU can run a KVM guest here, else "tcg". It asks
// QEMU itself: /dev/kvm may exist on a machine without nested
// virtualization, where QEMU starts and then aborts as it sets up the
// vCPU's registers. So the probe starts a paused guest, resumes it over
// the monitor (QMP) and takes KVM only when both commands are answered.
func Accel(ctx context.Context) string {
	if _, err := os.Stat("/dev/kvm"); err != nil {
		return "tcg"
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", "-accel", "kvm", "-cpu", "host", "-nodefaults", "-display", "none", "-S", "-m", "64", "-qmp", "stdio")
	in, err := cmd.StdinPipe()
	if err != nil {
		return "tcg"
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "tcg"
	}
	if err := cmd.Start(); err != nil {
		return "tcg"
	}
	defer cmd.Wait()
	defer in.Close()
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(out)
	// answered sends a command and reads until its answer (events may
	// come first); false when QEMU ends first.
	answered := func(command string) bool {
		fmt.Fprintln(in, command)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), `{"return"`) {
				return true
			}
			if strings.HasPrefix(sc.Text(), `{"error"`) {
				return false
			}
		}
		return false
	}
	if !sc.Scan() || !strings.Contains(sc.Text(), `"QMP"`) {
		return "tcg"
	}
	if !answered(`{"execute":"qmp_capabilities"}`) || !answered(`{"execute":"cont"}`) {
		return "tcg"
	}
	fmt.Fprintln(in, `{"execute":"quit"}`)
	return "kvm"
}

// FreePorts returns n free loopback ports for QEMU's forwarding
// (system.FreeLoopbackPorts: outside the kernel's ephemeral range, so
// that no outgoing connection takes one first). Another process may
// still take one before QEMU binds it; QEMU then fails to start, saying
// so.
func FreePorts(n int) ([]int, error) {
	return system.FreeLoopbackPorts(n)
}
