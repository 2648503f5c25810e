package main

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

// TestCheckUsageErrorsAreUnknown: a Nagios plugin that cannot even parse
// its arguments has not checked anything: UNKNOWN (exit 3) with one line
// on stdout, never cobra's exit 1.
func TestCheckUsageErrorsAreUnknown(t *testing.T) {
	labctl := testkit.BuildApp(t, "cmd/labctl")
	for _, args := range [][]string{
		{"check", "--no-such-flag"},
		{"check"},
		{"check", "a", "b"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			cmd := exec.Command(labctl, args...)
			var stdout strings.Builder
			cmd.Stdout = &stdout
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 3 {
				t.Fatalf("labctl %s: %v, want exit status 3", strings.Join(args, " "), err)
			}
			lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], " UNKNOWN - ") {
				t.Errorf("stdout %q, want one line with UNKNOWN", stdout.String())
			}
		})
	}
}
