// Package netem simulates a slow link with Linux's netem queueing
// discipline: as a boot step on cloud machines, and on the loopback device
// for the local twin's addresses only (127.64.0.0/10), never for the rest of
// the machine's loopback traffic.
package netem

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/cloudlabs/cloudlabs/templates"
)

// Link is a simulated link: one-way delay and packet loss.
type Link struct {
	DelayMs int
	LossPct float64
}

// Off reports whether the link is a plain one.
func (l Link) Off() bool { return l.DelayMs == 0 && l.LossPct == 0 }

func (l Link) String() string {
	return fmt.Sprintf("network:delayMs=%d network:lossPct=%g", l.DelayMs, l.LossPct)
}

// BootStep is the shell a cloud machine runs to slow its own link.
func BootStep(l Link) (string, error) {
	return templates.Render("netem.sh.tmpl", l)
}

// TwinRange is the loopback block the local twin's hosts live in.
const TwinRange = "127.64.0.0/10"

// handle marks the qdisc as the twin's, so Clear removes only its own.
const handle = "1:"

// TwinCommands are the tc invocations that slow traffic to the twin's
// addresses on the loopback device: a prio qdisc whose every priority goes
// to band 1, and a filter sending the twin's range to a netem band 3.
func TwinCommands(l Link) [][]string {
	netem := []string{"qdisc", "replace", "dev", "lo", "parent", "1:3", "handle", "30:", "netem"}
	if l.DelayMs > 0 {
		netem = append(netem, "delay", strconv.Itoa(l.DelayMs)+"ms")
	}
	if l.LossPct > 0 {
		netem = append(netem, "loss", strconv.FormatFloat(l.LossPct, 'f', -1, 64)+"%")
	}
	return [][]string{
		{"qdisc", "replace", "dev", "lo", "root", "handle", handle, "prio", "bands", "3",
			"priomap", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0"},
		netem,
		{"filter", "replace", "dev", "lo", "parent", handle, "protocol", "ip", "prio", "3",
			"u32", "match", "ip", "dst", TwinRange, "flowid", "1:3"},
	}
}

// ErrNotRoot is returned when the twin's link cannot be changed by this user.
var ErrNotRoot = errors.New("needs root")

// ApplyTwin slows (or, for an Off link, restores) the local twin's link.
// It refuses with a clear error where it is not permitted: not root, or a
// kernel without the netem and prio queueing disciplines.
func ApplyTwin(ctx context.Context, l Link) error {
	if l.Off() {
		return ClearTwin(ctx)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("%s on the local twin: %w (tc on the loopback device); run labctl as root, or set both to 0", l, ErrNotRoot)
	}
	for _, args := range TwinCommands(l) {
		if out, err := tc(ctx, args...); err != nil {
			_ = ClearTwin(ctx)
			return fmt.Errorf("%s on the local twin: tc %s: %v: %s (the kernel needs the sch_prio and sch_netem modules: modprobe sch_prio sch_netem)",
				l, strings.Join(args, " "), err, strings.TrimSpace(out))
		}
	}
	return nil
}

// ClearTwin removes the twin's link simulation if it is in place.
func ClearTwin(ctx context.Context) error {
	out, err := tc(ctx, "qdisc", "show", "dev", "lo")
	if err != nil || !strings.Contains(out, "prio "+handle) {
		return nil // nothing of ours to remove (or no tc at all)
	}
	if out, err := tc(ctx, "qdisc", "del", "dev", "lo", "root", "handle", handle, "prio"); err != nil {
		return fmt.Errorf("remove the twin's link simulation: %v: %s", err, strings.TrimSpace(out))
	}
	return nil
}

func tc(ctx context.Context, args ...string) (string, error) {
	bin, err := exec.LookPath("tc")
	if err != nil {
		bin = "/usr/sbin/tc"
	}
	var b bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &b, &b
	err = cmd.Run()
	return b.String(), err
}
