package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRejectedConfigLeavesTheStack: a bad -c fails before anything is
// written, built or started, and names the key, the value and what is
// allowed.
func TestRejectedConfigLeavesTheStack(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "Pulumi.t.yaml")
	const original = "# my stack\nconfig:\n  cloudlabs:platform: local\n  fibonacci:nodes: \"3\"\n"
	if err := os.WriteFile(file, []byte(original), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		config []string
		want   string
	}{
		{"out of range", []string{"fibonacci:nodes=50"}, `fibonacci:nodes: "50" is not allowed; allowed: a whole number from 1 to 20`},
		{"one bad among good", []string{"cachepool:nodes=2", "cachepool:policy=fifo"}, `cachepool:policy: "fifo"`},
		{"not key=value", []string{"fibonacci:nodes"}, "want key=value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := prepare(context.Background(), &stackFlags{stack: "t", stacksDir: dir, config: tc.config})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if b, _ := os.ReadFile(file); string(b) != original {
				t.Errorf("the stack file changed:\n%s", b)
			}
		})
	}
	t.Run("missing stack", func(t *testing.T) {
		_, err := prepare(context.Background(), &stackFlags{stack: "nope", stacksDir: dir})
		if err == nil || !strings.Contains(err.Error(), "no config file") {
			t.Fatalf("got %v, want the missing file named", err)
		}
	})
}
