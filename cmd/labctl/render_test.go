package main

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

func runRender(args ...string) (string, error) { return runFresh(newRenderCmd(), args...) }

// TestRender writes one boot file per machine of a shipped stack, named
// after the machine, each a valid #cloud-config; -c applies to the
// rendering only.
func TestRender(t *testing.T) {
	stackFile := filepath.Join(testkit.ModuleRoot(t), "stacks", "Pulumi.aws-cachepool.yaml")
	before, err := os.ReadFile(stackFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		files []string
	}{
		{"as shipped", nil, []string{"cachepool-node-1.yaml", "cachepool-node-2.yaml"}},
		{"with -c", []string{"-c", "cachepool:nodes=3"}, []string{"cachepool-node-1.yaml", "cachepool-node-2.yaml", "cachepool-node-3.yaml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			if _, err := runRender(append([]string{"--stack", "aws-cachepool", "--out", out}, tc.args...)...); err != nil {
				t.Fatal(err)
			}
			entries, err := os.ReadDir(out)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range entries {
				got = append(got, e.Name())
			}
			sort.Strings(got)
			if strings.Join(got, " ") != strings.Join(tc.files, " ") {
				t.Fatalf("files: got %v, want %v", got, tc.files)
			}
			for _, name := range got {
				b, _ := os.ReadFile(filepath.Join(out, name))
				if !strings.Contains(string(b), "cachenode") || !strings.Contains(string(b), "--capacity") {
					t.Errorf("%s does not run the cache node:\n%s", name, b)
				}
				testkit.CloudConfig(t, string(b))
			}
		})
	}
	if after, _ := os.ReadFile(stackFile); !bytes.Equal(before, after) {
		t.Error("render wrote the stack file")
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no out", []string{"--stack", "aws-cachepool"}, "--out is required"},
		{"no such stack", []string{"--stack", "nope", "--out", t.TempDir()}, "no config file"},
		{"bad value", []string{"--stack", "aws-cachepool", "--out", t.TempDir(), "-c", "cachepool:policy=fifo"}, `cachepool:policy: "fifo"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := runRender(tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
