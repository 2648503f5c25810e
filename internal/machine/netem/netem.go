// Package netem simulates a slow link with Linux's netem queueing
// discipline: as a boot step on cloud machines, and on the loopback device
// for the local twin's addresses only (127.64.0.0/10), never for the rest of
// the machine's loopback traffic, and only ever for one stack at a time:
// what it installs on lo is marked with the stack's handles, and it never
// replaces or removes a qdisc it did not make for that stack.
package netem

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"os/exec"
	"slices"
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

// A machine has one loopback device and it has one root qdisc, so one stack
// at a time can slow it. What cloudlabs installs is marked as its own, and
// as one stack's, by the qdisc handles: the root prio's major number is
// 0xc000 plus 12 bits of a hash of the stack's name, the netem child's is 16
// more bits of it. Anything else at the root of lo is left alone: a stack
// never replaces a qdisc it did not make, and never removes another's.
const (
	handleBase = 0xc000
	handleMask = 0x0fff
	// zeroPriomap is how tc shows the prio qdisc TwinCommands makes.
	zeroPriomap = "priomap 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0"
)

// Handles are the root and netem qdisc handles of stack's link simulation.
func Handles(stack string) (root, child string) {
	h := fnv.New32a()
	h.Write([]byte(stack)) // never fails
	sum := h.Sum32()
	r := handleBase | sum&handleMask
	c := sum >> 16
	if c == 0 || c == r {
		c ^= 0x8001
	}
	return fmt.Sprintf("%x:", r), fmt.Sprintf("%x:", c)
}

// TwinCommands are the tc invocations that slow traffic to the twin's
// addresses on the loopback device for stack: a prio qdisc whose every
// priority goes to band 1, and a filter sending the twin's range to a
// netem band 3.
func TwinCommands(stack string, l Link) [][]string {
	root, child := Handles(stack)
	netem := []string{"qdisc", "replace", "dev", "lo", "parent", root + "3", "handle", child, "netem"}
	if l.DelayMs > 0 {
		netem = append(netem, "delay", strconv.Itoa(l.DelayMs)+"ms")
	}
	if l.LossPct > 0 {
		netem = append(netem, "loss", strconv.FormatFloat(l.LossPct, 'f', -1, 64)+"%")
	}
	return [][]string{
		{"qdisc", "replace", "dev", "lo", "root", "handle", root, "prio", "bands", "3",
			"priomap", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0"},
		netem,
		{"filter", "replace", "dev", "lo", "parent", root, "protocol", "ip", "prio", "3",
			"u32", "match", "ip", "dst", TwinRange, "flowid", root + "3"},
	}
}

// Owner says whose the root qdisc of lo is, from stack's point of view.
type Owner int

const (
	// Nobody: no root qdisc, or the kernel's default (noqueue).
	Nobody Owner = iota
	// ThisStack: the link simulation stack made.
	ThisStack
	// OtherStack: a link simulation another cloudlabs stack made.
	OtherStack
	// Foreign: a qdisc cloudlabs did not make (the user's own).
	Foreign
)

// RootOf reads `tc qdisc show dev lo` and says whose its root qdisc is,
// with that qdisc's line for messages.
func RootOf(stack, listing string) (Owner, string) {
	root, child := Handles(stack)
	var rootLine string
	var rootHandle string
	children := map[string]string{} // parent -> handle of netem children
	for line := range strings.Lines(listing) {
		f := strings.Fields(line)
		if len(f) < 4 || f[0] != "qdisc" {
			continue
		}
		if f[3] == "root" {
			rootLine, rootHandle = strings.TrimSpace(line), f[2]
			if f[1] == "noqueue" {
				return Nobody, rootLine
			}
			if f[1] != "prio" || !strings.Contains(line, zeroPriomap) || !ours(f[2]) {
				return Foreign, rootLine
			}
			continue
		}
		if f[1] == "netem" && f[3] == "parent" && len(f) > 4 {
			children[strings.SplitN(f[4], ":", 2)[0]+":"] = f[2]
		}
	}
	switch {
	case rootLine == "":
		return Nobody, ""
	case rootHandle != root:
		return OtherStack, rootLine
	case children[root] != "" && children[root] != child:
		return OtherStack, rootLine // same root hash, another stack's netem
	}
	return ThisStack, rootLine
}

// ours reports whether a qdisc handle ("c1a2:") is in cloudlabs' range.
func ours(handle string) bool {
	v, err := strconv.ParseUint(strings.TrimSuffix(handle, ":"), 16, 16)
	return err == nil && v&^handleMask == handleBase
}

// PlanApply returns the tc commands that give stack's twin the link l,
// given lo's current qdiscs (listing), or why it must not: lo carries a
// qdisc cloudlabs did not make, or another stack's link simulation.
func PlanApply(stack string, l Link, listing string) ([][]string, error) {
	if l.Off() {
		return PlanClear(stack, listing), nil
	}
	switch owner, line := RootOf(stack, listing); owner {
	case Foreign:
		return nil, fmt.Errorf("%s on the local twin: the loopback device has a root qdisc cloudlabs did not create (%s); cloudlabs will not replace it: remove it (tc qdisc del dev lo root) or set both to 0", l, line)
	case OtherStack:
		return nil, fmt.Errorf("%s on the local twin: the loopback device already slows another cloudlabs stack's twin (%s), and it has room for one: set that stack's network:delayMs and network:lossPct to 0 (or destroy it) first, or set both to 0 here", l, line)
	}
	return TwinCommands(stack, l), nil
}

// PlanClear returns the tc command that removes stack's link simulation,
// or none when lo carries no link simulation of stack's.
func PlanClear(stack, listing string) [][]string {
	if owner, _ := RootOf(stack, listing); owner != ThisStack {
		return nil
	}
	root, _ := Handles(stack)
	return [][]string{{"qdisc", "del", "dev", "lo", "root", "handle", root, "prio"}}
}

// ErrNotRoot is returned when the twin's link cannot be changed by this user.
var ErrNotRoot = errors.New("needs root")

// ErrNoQdisc is returned when the kernel lacks a queueing discipline the
// link simulation needs.
var ErrNoQdisc = errors.New("the kernel lacks a queueing discipline")

// Runner runs tc with args, returning its combined output. Tests run tc in
// a network namespace of their own with one.
type Runner func(ctx context.Context, args ...string) (string, error)

// ApplyStack slows (or, for an Off link, restores) stack's local twin link.
// It refuses with a clear error where it is not permitted: not root, a
// kernel without the netem and prio queueing disciplines, or a loopback
// device that carries someone else's root qdisc.
func ApplyStack(ctx context.Context, stack string, l Link) error {
	return apply(ctx, tc, os.Geteuid() == 0, stack, l)
}

// ClearStack removes stack's link simulation if it is in place, and
// nothing else.
func ClearStack(ctx context.Context, stack string) error {
	return clearLink(ctx, tc, stack)
}

func apply(ctx context.Context, run Runner, root bool, stack string, l Link) error {
	if l.Off() {
		return clearLink(ctx, run, stack)
	}
	if !root {
		return fmt.Errorf("%s on the local twin: %w (tc on the loopback device); run labctl as root, or set both to 0", l, ErrNotRoot)
	}
	listing, err := run(ctx, "qdisc", "show", "dev", "lo")
	if err != nil {
		return fmt.Errorf("%s on the local twin: tc qdisc show dev lo: %v: %s (install iproute2)", l, err, strings.TrimSpace(listing))
	}
	cmds, err := PlanApply(stack, l, listing)
	if err != nil {
		return err
	}
	for _, args := range cmds {
		out, err := run(ctx, args...)
		if err == nil {
			continue
		}
		rollback := clearLink(ctx, run, stack)
		if strings.Contains(out, "qdisc kind is unknown") {
			kind := "prio"
			if slices.Contains(args, "netem") {
				kind = "netem"
			}
			err = fmt.Errorf("%s on the local twin: %w: %s (modprobe sch_prio sch_netem), or set both to 0", l, ErrNoQdisc, kind)
		} else {
			err = fmt.Errorf("%s on the local twin: tc %s: %v: %s", l, strings.Join(args, " "), err, strings.TrimSpace(out))
		}
		return errors.Join(err, rollback)
	}
	return nil
}

func clearLink(ctx context.Context, run Runner, stack string) error {
	listing, err := run(ctx, "qdisc", "show", "dev", "lo")
	if err != nil {
		return nil // no tc at all: nothing of ours can be there
	}
	for _, args := range PlanClear(stack, listing) {
		if out, err := run(ctx, args...); err != nil {
			return fmt.Errorf("remove the twin's link simulation: %v: %s", err, strings.TrimSpace(out))
		}
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
