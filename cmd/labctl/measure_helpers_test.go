package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/spf13/pflag"
)

// measureRun runs labctl with args and returns its stdout. Flags of the
// subcommand are reset to their defaults first: cobra keeps flag values
// between Execute calls of the same root.
func measureRun(t *testing.T, args ...string) (string, error) {
	t.Helper()
	if sub, _, err := root.Find(args); err == nil {
		sub.Flags().VisitAll(func(f *pflag.Flag) {
			// A default that does not parse back is a bug in the command.
			if err := f.Value.Set(f.DefValue); err != nil {
				t.Fatalf("reset --%s of %s to its default %q: %v", f.Name, sub.Name(), f.DefValue, err)
			}
			f.Changed = false
		})
	}
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs(args)
	defer func() { root.SetOut(nil); root.SetArgs(nil) }()
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}
