package netem

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

func TestBootStep(t *testing.T) {
	for _, tc := range []struct {
		name string
		link Link
		want string
	}{
		{"delay", Link{DelayMs: 50}, "root netem delay 50ms\n"},
		{"loss", Link{LossPct: 2.5}, "root netem loss 2.5%\n"},
		{"both", Link{DelayMs: 100, LossPct: 1}, "root netem delay 100ms loss 1%\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := BootStep(tc.link)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(got, tc.want) {
				t.Errorf("got %q, want it to end with %q", got, tc.want)
			}
			// The step is shell: it must at least parse.
			if out, err := exec.Command("sh", "-n", "-c", got).CombinedOutput(); err != nil {
				t.Errorf("sh -n rejects the step: %v\n%s", err, out)
			}
		})
	}
}

func TestTwinCommandsOnlyTouchTheTwinsRange(t *testing.T) {
	cmds := TwinCommands("local", Link{DelayMs: 20, LossPct: 0.5})
	if len(cmds) != 3 {
		t.Fatalf("got %d commands, want 3", len(cmds))
	}
	root, child := Handles("local")
	want := []string{
		"qdisc replace dev lo root handle " + root + " prio bands 3 priomap 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0",
		"qdisc replace dev lo parent " + root + "3 handle " + child + " netem delay 20ms loss 0.5%",
		"filter replace dev lo parent " + root + " protocol ip prio 3 u32 match ip dst 127.64.0.0/10 flowid " + root + "3",
	}
	for i, c := range cmds {
		if got := strings.Join(c, " "); got != want[i] {
			t.Errorf("command %d: got %q, want %q", i, got, want[i])
		}
	}
}

func TestHandlesMarkTheStack(t *testing.T) {
	seen := map[string]string{}
	for _, stack := range []string{"local", "dev", "staging", "a", "b"} {
		root, child := Handles(stack)
		if !ours(root) {
			t.Errorf("%s: root handle %s is outside cloudlabs' range c000-cfff", stack, root)
		}
		if child == root || child == "0:" {
			t.Errorf("%s: netem handle %s unusable next to root %s", stack, child, root)
		}
		if other, dup := seen[root+child]; dup {
			t.Errorf("stacks %s and %s share handles %s %s", other, stack, root, child)
		}
		seen[root+child] = stack
		if r2, c2 := Handles(stack); r2 != root || c2 != child {
			t.Errorf("%s: handles not stable: %s %s then %s %s", stack, root, child, r2, c2)
		}
	}
}

// listing is what tc qdisc show dev lo prints once stack's simulation is on.
func listing(stack string) string {
	root, child := Handles(stack)
	return "qdisc prio " + root + " root refcnt 2 bands 3 priomap 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n" +
		"qdisc netem " + child + " parent " + root + "3 limit 1000 delay 5ms\n"
}

func TestPlan(t *testing.T) {
	root, _ := Handles("local")
	link := Link{DelayMs: 5}
	apply := TwinCommands("local", link)
	del := [][]string{{"qdisc", "del", "dev", "lo", "root", "handle", root, "prio"}}
	const tbf = "qdisc tbf 5: root refcnt 2 rate 1Mbit burst 4Kb lat 400ms"
	userPrio := "qdisc prio 1: root refcnt 2 bands 3 priomap 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0"
	foreign := func(line string) string {
		return "network:delayMs=5 network:lossPct=0 on the local twin: the loopback device has a root qdisc cloudlabs did not create (" +
			line + "); cloudlabs will not replace it: remove it (tc qdisc del dev lo root) or set both to 0"
	}
	otherRoot, _ := Handles("staging")
	other := "network:delayMs=5 network:lossPct=0 on the local twin: the loopback device already slows another cloudlabs stack's twin (" +
		"qdisc prio " + otherRoot + " root refcnt 2 bands 3 priomap 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0" +
		"), and it has room for one: set that stack's network:delayMs and network:lossPct to 0 (or destroy it) first, or set both to 0 here"
	tests := []struct {
		name      string
		listing   string
		owner     Owner
		wantApply [][]string
		wantErr   string
		wantClear [][]string
	}{
		{"fresh namespace (lo down, nothing listed)", "", Nobody, apply, "", nil},
		{"kernel default", "qdisc noqueue 0: root refcnt 2 \n", Nobody, apply, "", nil},
		{"ours already", listing("local"), ThisStack, apply, "", del},
		{"another stack's", listing("staging"), OtherStack, nil, other, nil},
		{"the user's tbf", tbf + "\n", Foreign, nil, foreign(tbf), nil},
		{"the user's prio 1: (the old cloudlabs handle, and every tutorial's)", userPrio + "\n", Foreign, nil, foreign(userPrio), nil},
		{"a prio in our range not made by us", "qdisc prio " + root + " root refcnt 2 bands 3 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1\n", Foreign, nil,
			foreign("qdisc prio " + root + " root refcnt 2 bands 3 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if owner, _ := RootOf("local", tc.listing); owner != tc.owner {
				t.Errorf("owner: got %d, want %d", owner, tc.owner)
			}
			cmds, err := PlanApply("local", link, tc.listing)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr || cmds != nil {
					t.Errorf("apply: got %q, %v\nwant the refusal %q and no command", cmds, err, tc.wantErr)
				}
			} else if err != nil || !reflect.DeepEqual(cmds, tc.wantApply) {
				t.Errorf("apply: got %q, %v; want %q", cmds, err, tc.wantApply)
			}
			if got := PlanClear("local", tc.listing); !reflect.DeepEqual(got, tc.wantClear) {
				t.Errorf("clear: got %q, want %q", got, tc.wantClear)
			}
			off, err := PlanApply("local", Link{}, tc.listing)
			if err != nil || !reflect.DeepEqual(off, tc.wantClear) {
				t.Errorf("an off link: got %q, %v; want the clear plan %q", off, err, tc.wantClear)
			}
		})
	}
}

// recorder is a Runner that answers from a script and records what ran.
type recorder struct {
	listing string
	fail    map[string]string // command prefix -> tc's output on failure
	ran     []string
}

func (r *recorder) run(_ context.Context, args ...string) (string, error) {
	cmd := strings.Join(args, " ")
	r.ran = append(r.ran, cmd)
	if cmd == "qdisc show dev lo" {
		return r.listing, nil
	}
	for prefix, out := range r.fail {
		if strings.HasPrefix(cmd, prefix) {
			return out, errors.New("exit status 2")
		}
	}
	return "", nil
}

func TestApplyRefusals(t *testing.T) {
	ctx := context.Background()
	root, _ := Handles("local")
	t.Run("not root", func(t *testing.T) {
		r := &recorder{}
		err := apply(ctx, r.run, false, "local", Link{DelayMs: 5})
		want := "network:delayMs=5 network:lossPct=0 on the local twin: needs root (tc on the loopback device); run labctl as root, or set both to 0"
		if err == nil || err.Error() != want || !errors.Is(err, ErrNotRoot) {
			t.Errorf("got %v, want %q", err, want)
		}
		if len(r.ran) != 0 {
			t.Errorf("ran %q, want nothing", r.ran)
		}
	})
	t.Run("no netem, after prio went in: refused and rolled back", func(t *testing.T) {
		r := &recorder{fail: map[string]string{"qdisc replace dev lo parent": "Error: Specified qdisc kind is unknown.\n"}}
		err := apply(ctx, r.run, true, "local", Link{DelayMs: 5})
		want := "network:delayMs=5 network:lossPct=0 on the local twin: the kernel lacks a queueing discipline: netem (modprobe sch_prio sch_netem), or set both to 0"
		if err == nil || err.Error() != want || !errors.Is(err, ErrNoQdisc) {
			t.Errorf("got %v, want %q", err, want)
		}
		// The rollback looks again and finds lo as it left it here (the
		// recorder's listing never changes): nothing of ours, nothing deleted.
		if len(r.ran) != 4 || strings.Contains(strings.Join(r.ran, "\n"), "qdisc del") {
			t.Errorf("ran %q, want show, prio, netem, show", r.ran)
		}
	})
	t.Run("rollback removes our half-made prio", func(t *testing.T) {
		r := &recorder{listing: "qdisc prio " + root + " root refcnt 2 bands 3 priomap 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
			fail: map[string]string{"filter": "Error: oops.\n"}}
		err := apply(ctx, r.run, true, "local", Link{DelayMs: 5})
		if err == nil || !strings.Contains(err.Error(), "tc filter replace dev lo parent "+root) || !strings.Contains(err.Error(), "Error: oops.") {
			t.Errorf("got %v, want the failing command and tc's words", err)
		}
		if got := r.ran[len(r.ran)-1]; got != "qdisc del dev lo root handle "+root+" prio" {
			t.Errorf("last command %q, want the removal of our root", got)
		}
	})
}

// netns makes a network namespace for this test alone, deleted when it
// ends, and returns a Runner for tc inside it: the host's lo is never
// touched.
func netns(t *testing.T) Runner {
	t.Helper()
	ip := testkit.Binary(t, "ip", "iproute2")
	testkit.Binary(t, "tc", "iproute2")
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root to create a network namespace (ip netns add); scripts/test.sh runs as root")
	}
	name := fmt.Sprintf("cloudlabs-netem-%d-%d", os.Getpid(), nsSeq.Add(1))
	if out, err := exec.Command(ip, "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(ip, "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	return func(ctx context.Context, args ...string) (string, error) {
		var b bytes.Buffer
		cmd := exec.CommandContext(ctx, ip, append([]string{"netns", "exec", name, "tc"}, args...)...)
		cmd.Stdout, cmd.Stderr = &b, &b
		err := cmd.Run()
		return b.String(), err
	}
}

var nsSeq atomic.Int64

// kernelLacks probes, in a namespace of its own, which queueing discipline
// the link simulation needs is missing: "prio", "netem", or "" for none.
func kernelLacks(t *testing.T) string {
	t.Helper()
	run := netns(t)
	ctx := context.Background()
	for _, probe := range []struct {
		kind string
		args []string
	}{
		{"prio", []string{"qdisc", "add", "dev", "lo", "root", "handle", "1:", "prio"}},
		{"netem", []string{"qdisc", "add", "dev", "lo", "parent", "1:3", "handle", "30:", "netem", "delay", "1ms"}},
	} {
		out, err := run(ctx, probe.args...)
		if err != nil {
			if !strings.Contains(out, "qdisc kind is unknown") {
				t.Fatalf("probe tc %s: %v: %s", strings.Join(probe.args, " "), err, out)
			}
			return probe.kind
		}
	}
	return ""
}

// TestApplyInNamespace applies a real link simulation with the real tc, in
// a network namespace the test makes: the outcome is decided up front from
// what the kernel has, and asserted exactly.
func TestApplyInNamespace(t *testing.T) {
	lacks := kernelLacks(t)
	t.Logf("the kernel lacks: %q", lacks)
	ctx := context.Background()
	link := Link{DelayMs: 5}

	t.Run("apply, then clear", func(t *testing.T) {
		run := netns(t)
		err := apply(ctx, run, true, "local", link)
		if lacks != "" {
			want := "network:delayMs=5 network:lossPct=0 on the local twin: the kernel lacks a queueing discipline: " + lacks +
				" (modprobe sch_prio sch_netem), or set both to 0"
			if err == nil || err.Error() != want {
				t.Fatalf("got %v, want exactly %q", err, want)
			}
		} else if err != nil {
			t.Fatalf("apply: %v", err)
		}
		out, err := run(ctx, "qdisc", "show", "dev", "lo")
		if err != nil {
			t.Fatal(err)
		}
		owner, _ := RootOf("local", out)
		switch {
		case lacks != "" && owner != Nobody:
			t.Fatalf("a refused apply left qdiscs behind:\n%s", out)
		case lacks == "" && (owner != ThisStack || !strings.Contains(out, "delay 5ms")):
			t.Fatalf("applied, but lo shows no netem delay of ours:\n%s", out)
		}
		if err := clearLink(ctx, run, "local"); err != nil {
			t.Fatal(err)
		}
		if out, err := run(ctx, "qdisc", "show", "dev", "lo"); err != nil || strings.Contains(out, "prio") || strings.Contains(out, "netem") {
			t.Fatalf("cleared, but lo shows (%v):\n%s", err, out)
		}
	})

	t.Run("the user's own root qdisc is refused and kept", func(t *testing.T) {
		run := netns(t)
		if out, err := run(ctx, "qdisc", "add", "dev", "lo", "root", "handle", "5:", "tbf", "rate", "1mbit", "burst", "32kbit", "latency", "400ms"); err != nil {
			t.Fatalf("add the user's tbf: %v: %s", err, out)
		}
		before, err := run(ctx, "qdisc", "show", "dev", "lo")
		if err != nil {
			t.Fatal(err)
		}
		line := strings.TrimSpace(before)
		want := "network:delayMs=5 network:lossPct=0 on the local twin: the loopback device has a root qdisc cloudlabs did not create (" +
			line + "); cloudlabs will not replace it: remove it (tc qdisc del dev lo root) or set both to 0"
		if err := apply(ctx, run, true, "local", link); err == nil || err.Error() != want {
			t.Fatalf("got %v, want exactly %q", err, want)
		}
		if err := clearLink(ctx, run, "local"); err != nil {
			t.Fatalf("clear: %v", err)
		}
		if err := apply(ctx, run, true, "local", Link{}); err != nil {
			t.Fatalf("an off link: %v", err)
		}
		after, err := run(ctx, "qdisc", "show", "dev", "lo")
		if err != nil || after != before {
			t.Fatalf("the user's qdisc changed (%v):\nbefore %q\nafter  %q", err, before, after)
		}
	})
}
