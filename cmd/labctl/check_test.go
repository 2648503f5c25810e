package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestCheckUnreadableStackIsUnknown: a plugin that cannot read its stack
// says UNKNOWN on one line and exits 3, never 1 (WARNING to Nagios).
func TestCheckUnreadableStackIsUnknown(t *testing.T) {
	code := -1
	prev := exit
	exit = func(c int) { code = c }
	t.Cleanup(func() { exit = prev })
	cmd := newCheckCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"fibonacci/lb-backends", "--stack", "nosuch", "--stacks-dir", t.TempDir()})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if code != 3 || len(lines) != 1 || !strings.HasPrefix(lines[0], "fibonacci/lb-backends UNKNOWN - ") || !strings.Contains(lines[0], "nosuch") {
		t.Errorf("exit %d, output %q; want exit 3 and one UNKNOWN line naming the stack", code, out.String())
	}
}
