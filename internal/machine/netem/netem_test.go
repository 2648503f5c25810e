package netem

import (
	"context"
	"os"
	"os/exec"
	"strings"
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
	cmds := TwinCommands(Link{DelayMs: 20, LossPct: 0.5})
	joined := make([]string, len(cmds))
	for i, c := range cmds {
		joined[i] = strings.Join(c, " ")
	}
	all := strings.Join(joined, "\n")
	for _, want := range []string{"priomap 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0", "netem delay 20ms loss 0.5%", "match ip dst 127.64.0.0/10 flowid 1:3"} {
		if !strings.Contains(all, want) {
			t.Errorf("commands lack %q:\n%s", want, all)
		}
	}
}

// TestApplyTwin applies a real link simulation where the machine permits it
// and otherwise checks the refusal names the reason and the way out.
func TestApplyTwin(t *testing.T) {
	testkit.Binary(t, "tc", "iproute2")
	ctx := context.Background()
	err := ApplyTwin(ctx, Link{DelayMs: 5})
	t.Cleanup(func() { _ = ClearTwin(ctx) })
	switch {
	case err == nil:
		out, _ := tc(ctx, "qdisc", "show", "dev", "lo")
		if !strings.Contains(out, "netem") || !strings.Contains(out, "delay 5ms") {
			t.Errorf("applied, but lo shows no netem delay:\n%s", out)
		}
		if err := ClearTwin(ctx); err != nil {
			t.Fatal(err)
		}
		if out, _ := tc(ctx, "qdisc", "show", "dev", "lo"); strings.Contains(out, "netem") {
			t.Errorf("cleared, but lo still shows netem:\n%s", out)
		}
	case os.Geteuid() != 0:
		if !strings.Contains(err.Error(), "needs root") || !strings.Contains(err.Error(), "set both to 0") {
			t.Errorf("refusal does not say why and what to do: %v", err)
		}
	default:
		t.Logf("this kernel refuses netem; the refusal: %v", err)
		if !strings.Contains(err.Error(), "modprobe sch_prio sch_netem") || !strings.Contains(err.Error(), "network:delayMs=5") {
			t.Errorf("refusal does not name the setting and the missing modules: %v", err)
		}
		if out, _ := tc(ctx, "qdisc", "show", "dev", "lo"); strings.Contains(out, "prio 1:") {
			t.Errorf("a failed apply left a half-made qdisc:\n%s", out)
		}
	}
	if err := ApplyTwin(ctx, Link{}); err != nil {
		t.Errorf("an off link must clear quietly: %v", err)
	}
}
