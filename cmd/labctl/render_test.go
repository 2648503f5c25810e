package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cloudlabs/cloudlabs/internal/config/stackconfig"
	"github.com/cloudlabs/cloudlabs/internal/config/stackfile"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

func runRender(args ...string) (string, error) { return runFresh(newRenderCmd(), args...) }

// slotFiles are the boot files of n pool slots.
func slotFiles(n int) []string {
	var out []string
	for i := 1; i <= n; i++ {
		out = append(out, fmt.Sprintf("cachepool-node-%d.yaml", i))
	}
	return out
}

// TestRender writes one boot file per machine of a stack, named after the
// machine, each a valid #cloud-config; -c applies to the rendering only.
func TestRender(t *testing.T) {
	dir := stacksDir(t, map[string]string{"aws-cachepool": testAWSCachepool})
	stackFile := filepath.Join(dir, "Pulumi.aws-cachepool.yaml")
	before, err := os.ReadFile(stackFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		files []string
	}{
		// One file per slot (cachepool:maxNodes) and the pool's manager.
		{"as written", nil, append([]string{"cachepool-manager.yaml"}, slotFiles(8)...)}, // maxNodes' default
		{"with -c", []string{"-c", "cachepool:maxNodes=3"}, []string{"cachepool-manager.yaml", "cachepool-node-1.yaml", "cachepool-node-2.yaml", "cachepool-node-3.yaml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			if _, err := runRender(append([]string{"--stack", "aws-cachepool", "--stacks-dir", dir, "--out", out}, tc.args...)...); err != nil {
				t.Fatal(err)
			}
			got := readDir(t, out)
			if !slices.Equal(got, tc.files) {
				t.Fatalf("files: got %v, want %v", got, tc.files)
			}
			for _, name := range got {
				b, err := os.ReadFile(filepath.Join(out, name))
				if err != nil {
					t.Fatal(err)
				}
				want := []string{"cachenode", "--capacity"} // a slot
				if name == "cachepool-manager.yaml" {
					want = []string{"manager", "--slots-file", "autoscale"}
				}
				for _, w := range want {
					if !strings.Contains(string(b), w) {
						t.Errorf("%s does not hold %q:\n%s", name, w, b)
					}
				}
				testkit.CloudConfig(t, string(b))
			}
		})
	}
	after, err := os.ReadFile(stackFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
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
		{"typo in a key", []string{"--stack", "aws-cachepool", "--out", t.TempDir(), "-c", "cachepool:polcy=lru"}, "cachepool:polcy: no such config key; did you mean cachepool:policy?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := runRender(append(tc.args, "--stacks-dir", dir)...); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestRenderErrorIsPlain: a failure inside the program reads as one
// message: no "1 error occurred:" wrapping, no blank lines after it.
func TestRenderErrorIsPlain(t *testing.T) {
	// cloudlabs:image is free text to Parse; the program's aws platform
	// refuses it, so the error comes out of the Pulumi run.
	dir := stacksDir(t, map[string]string{"bad": testAWSCachepool + "  cloudlabs:image: not-an-ami\n"})
	_, err := runRender("--stack", "bad", "--stacks-dir", dir, "--out", t.TempDir())
	if err == nil {
		t.Fatal("render of a stack with a bad image succeeded")
	}
	msg := err.Error()
	if strings.Contains(msg, "error occurred") || strings.Contains(msg, "\t*") || msg != strings.TrimSpace(msg) {
		t.Errorf("got %q, want the program's error alone, trimmed", msg)
	}
	if !strings.HasPrefix(msg, "render bad: ") || !strings.Contains(msg, "not-an-ami") {
		t.Errorf("got %q, want it to start with the command and name the value", msg)
	}
}

// TestRenderShippedStacks: every stack shipped in stacks/ renders as
// cloned; a stack not ready for a real deployment (a cloud phone book
// without riak:packageSha256) says so on stderr, with how to fix it. The
// expectation comes from each file itself, so a user's valid edit keeps
// it true.
func TestRenderShippedStacks(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testkit.ModuleRoot(t), "stacks", "Pulumi.*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("found %d shipped stacks (%v), want local, aws-phonebook, gcp-fibonacci and aws-cachepool at least", len(files), files)
	}
	warned := 0
	for _, file := range files {
		stack := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(file), "Pulumi."), ".yaml")
		t.Run(stack, func(t *testing.T) {
			values, err := stackfile.Load(file)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := stackconfig.ParsePlan(func(k string) (string, bool) { v, ok := values[k]; return v.Value, ok && v.Secure == "" })
			if err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			stdout, stderr, err := runFreshStderr(newRenderCmd(), "--stack", stack, "--out", out)
			if err != nil {
				t.Fatalf("render %s: %v\n%s", stack, err, stderr)
			}
			if n := len(readDir(t, out)); n == 0 || strings.Count(stdout, "\n") != n {
				t.Errorf("%d files written, stdout lists %d lines:\n%s", n, strings.Count(stdout, "\n"), stdout)
			}
			notReady := cfg.NotReady()
			for _, msg := range notReady {
				if !strings.Contains(stderr, "labctl: warning: "+msg) {
					t.Errorf("stderr lacks the warning %q:\n%s", msg, stderr)
				}
			}
			if len(notReady) == 0 && strings.Contains(stderr, "warning") {
				t.Errorf("a stack ready to deploy was warned about:\n%s", stderr)
			}
			if len(notReady) > 0 {
				warned++
			}
		})
	}
	t.Logf("%d of %d shipped stacks are not ready for a real up", warned, len(files))
}

func readDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}
