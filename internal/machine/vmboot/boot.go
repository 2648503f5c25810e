package vmboot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/verify"
)

// LoginUser is the image's default user, whom cloud-init gives the boot's
// login key and passwordless sudo (Ubuntu's images call it ubuntu).
const LoginUser = "debian"

// Boot is one machine's boot: its seed, its guest, the SSH connection to
// it. Start it, check it through SSH, then PowerOff.
type Boot struct {
	Image Image
	// Dir is the boot's folder: seed files, overlay disk, console log.
	Dir     string
	Machine string
	// UserData is the machine's #cloud-config as it is to boot.
	UserData string
	// CloudPort is where the Cloud server listens on this computer's
	// loopback (the guest reaches it at HostAddr).
	CloudPort int
	// StorePort, StoreHosts and CAPEM are the secret store's, when the
	// user data reads secrets (Seed).
	StorePort  int
	StoreHosts []string
	CAPEM      string
	// Ports are the guest's service ports to forward to loopback.
	Ports []int
	// Accel is "kvm" or "tcg" (see Accel).
	Accel string
	// Timeout bounds the wait for SSH and for cloud-init together (default
	// 20 min: about 3 on an idle 2-core machine under TCG, 10 on a loaded one).
	Timeout time.Duration
	// Logf gets progress.
	Logf func(string, ...any)

	// Forward maps each guest port (22 and Ports) to its loopback port,
	// once started.
	Forward map[int]int
	keys    Keys
	guest   *Guest
	ssh     *verify.SSH
}

// Console is the guest's serial console log.
func (b *Boot) Console() string { return filepath.Join(b.Dir, "console.log") }

// HostKey is the guest's pinned host key (authorized_keys form).
func (b *Boot) HostKey() string { return b.keys.HostPublic }

// SSH is the connection to the booted guest, as verify's transport (its
// commands run as the login user; reads through sudo).
func (b *Boot) SSH() *verify.SSH { return b.ssh }

// Start makes the keys and the seed, starts the guest and waits until it
// answers SSH with the pinned host key and cloud-init has finished,
// within Timeout. A failure says what was waited for and carries the
// console's tail (and, once SSH answers, cloud-init's result).
func (b *Boot) Start(ctx context.Context) error {
	if b.Timeout == 0 {
		b.Timeout = 20 * time.Minute
	}
	if b.Logf == nil {
		b.Logf = func(string, ...any) {}
	}
	var err error
	if b.keys, err = NewKeys(b.Machine + "-vmboot"); err != nil {
		return err
	}
	seed := Seed{
		InstanceID: fmt.Sprintf("cloudlabs-vmboot-%s-%d", b.Machine, time.Now().UnixNano()), Hostname: b.Machine,
		UserData: b.UserData, LoginKey: b.keys.LoginAuthorized,
		HostKeyPrivate: b.keys.HostPrivate, HostKeyPublic: b.keys.HostPublic, CloudPort: b.CloudPort,
		StorePort: b.StorePort, StoreHosts: b.StoreHosts, CAPEM: b.CAPEM,
	}
	seedPath := filepath.Join(b.Dir, "seed.iso")
	if err := seed.Write(ctx, seedPath); err != nil {
		return err
	}
	guestPorts := append([]int{22}, b.Ports...)
	free, err := FreePorts(len(guestPorts))
	if err != nil {
		return err
	}
	b.Forward = map[int]int{}
	for i, p := range guestPorts {
		b.Forward[p] = free[i]
	}
	b.guest = &Guest{Image: b.Image, Dir: b.Dir, Seed: seedPath, Forward: b.Forward, Accel: b.Accel}
	if err := b.guest.Start(ctx); err != nil {
		return err
	}
	b.Logf("%s: guest started (%s, 2 vCPUs, 1 GB); console: %s", b.Machine, b.Accel, b.Console())
	ctx, cancel := context.WithTimeout(ctx, b.Timeout)
	defer cancel()
	start := time.Now()
	if err := b.waitSSH(ctx); err != nil {
		return b.failed(fmt.Errorf("%s: no SSH with the pinned host key after %s: %w", b.Machine, time.Since(start).Round(time.Second), err))
	}
	b.Logf("%s: SSH answers with the pinned host key after %s; waiting for cloud-init", b.Machine, time.Since(start).Round(time.Second))
	if err := b.waitCloudInit(ctx); err != nil {
		return b.failed(err)
	}
	b.Logf("%s: cloud-init done after %s", b.Machine, time.Since(start).Round(time.Second))
	return nil
}

// failed adds the console's tail to err.
func (b *Boot) failed(err error) error {
	return fmt.Errorf("%w\n--- last lines of the console (%s) ---\n%s", err, b.Console(), ConsoleTail(b.Console(), 30))
}

// waitSSH dials until the guest's sshd answers with the pinned key: sshd
// starts after cloud-init's first stage has installed the keys.
func (b *Boot) waitSSH(ctx context.Context) error {
	cfg := verify.SSHConfig{
		Addr: "127.0.0.1:" + strconv.Itoa(b.Forward[22]), User: LoginUser, Key: b.keys.Login,
		HostKey: b.keys.HostPublic, Sudo: true, Timeout: 20 * time.Second,
	}
	said := time.Now()
	var last error
	for {
		c, err := verify.DialSSH(ctx, cfg)
		if err == nil {
			b.ssh = c
			return nil
		}
		if errors.Is(err, verify.ErrHostKey) {
			return err
		}
		last = err
		if time.Since(said) >= 30*time.Second {
			b.Logf("%s: waiting for SSH (%s); console: %s", b.Machine, shortErr(last), lastConsoleLine(b.Console()))
			said = time.Now()
		}
		select {
		case <-b.guest.Done():
			return fmt.Errorf("QEMU ended: %s", b.guest.Exit())
		case <-ctx.Done():
			return fmt.Errorf("%w (last attempt: %v)", ctx.Err(), last)
		case <-time.After(3 * time.Second):
		}
	}
}

// waitCloudInit waits for cloud-init's last stage: `cloud-init status
// --wait` returns early on an error in an earlier stage, so the wait goes
// on until result.json (written at the end of the final stage) exists.
func (b *Boot) waitCloudInit(ctx context.Context) error {
	const wait = `sudo -n cloud-init status --wait --long; rc=$?; until [ -e /run/cloud-init/result.json ]; do sleep 2; done; exit $rc`
	type result struct {
		out  string
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		out, code, err := b.ssh.Run(ctx, wait)
		done <- result{out, code, err}
	}()
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	start := time.Now()
	for {
		select {
		case r := <-done:
			if r.err != nil {
				return fmt.Errorf("%s: waiting for cloud-init: %w", b.Machine, r.err)
			}
			if r.code != 0 {
				return fmt.Errorf("%s: cloud-init finished with errors (status exit %d):\n%s\n%s", b.Machine, r.code, strings.TrimSpace(r.out), b.Diagnostics(ctx))
			}
			return nil
		case <-tick.C:
			b.Logf("%s: cloud-init running (%s); console: %s", b.Machine, time.Since(start).Round(time.Second), lastConsoleLine(b.Console()))
		case <-b.guest.Done():
			return fmt.Errorf("%s: QEMU ended during cloud-init: %s", b.Machine, b.guest.Exit())
		}
	}
}

// Diagnostics are cloud-init's result.json and the end of its output log
// in the guest (where a failed step's own message is: runcmd stops at it,
// and cloud-init reports only that the scripts failed), for a failure's
// message.
func (b *Boot) Diagnostics(ctx context.Context) string {
	if b.ssh == nil {
		return "(no SSH connection to the guest: no cloud-init logs)"
	}
	return "--- /run/cloud-init/result.json ---\n" + b.guestFile(ctx, "/run/cloud-init/result.json") +
		"\n--- last lines of /var/log/cloud-init-output.log ---\n" + b.guestFile(ctx, "/var/log/cloud-init-output.log")
}

// guestFile is the last 40 lines of a guest's file, or why not.
func (b *Boot) guestFile(ctx context.Context, path string) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	out, code, err := b.ssh.Run(ctx, "sudo -n tail -n 40 "+verify.ShellQuote(path))
	if err != nil {
		return err.Error()
	}
	if code != 0 {
		return fmt.Sprintf("(tail exit %d) %s", code, out)
	}
	return strings.TrimRight(out, "\n")
}

// PowerOff shuts the guest down (systemctl poweroff, up to a minute) and
// ends QEMU if it is still there. Safe to call after a failed Start.
func (b *Boot) PowerOff(ctx context.Context) {
	if b.guest == nil || b.guest.cmd == nil {
		return
	}
	if b.ssh != nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		// The connection drops as the guest goes down: no answer expected.
		b.ssh.Run(ctx, "sudo -n systemctl poweroff")
		cancel()
		b.ssh.Close()
		b.ssh = nil
		select {
		case <-b.guest.Done():
			b.Logf("%s: guest powered off", b.Machine)
			return
		case <-time.After(time.Minute):
			b.Logf("%s: guest still up a minute after poweroff: ending QEMU", b.Machine)
		}
	}
	b.guest.Stop(10 * time.Second)
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// ConsoleTail is the console log's last n lines without terminal escapes.
func ConsoleTail(path string, n int) string {
	t := ansi.ReplaceAllString(Tail(path, n), "")
	if t == "" {
		if _, err := os.Stat(path); err != nil {
			return "(no console log: " + err.Error() + ")"
		}
	}
	return t
}

func lastConsoleLine(path string) string {
	lines := strings.Split(ConsoleTail(path, 3), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			if len(l) > 140 {
				l = l[:140] + "…"
			}
			return l
		}
	}
	return "(empty)"
}

func shortErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && len(s)-i < 80 {
		return s[i+2:]
	}
	return s
}
