package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestRejectedConfigLeavesTheStack: a bad -c fails before anything is
// written, built or started, and names the key, the value and what is
// allowed.
func TestRejectedConfigLeavesTheStack(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "Pulumi.t.yaml")
	const original = "# my stack\nconfig:\n  cloudlabs:platform: local\n  fibonacci:nodes: \"3\"\n"
	for _, tc := range []struct {
		name   string
		config []string
		want   string
	}{
		{"out of range", []string{"fibonacci:nodes=50"}, `fibonacci:nodes: "50" is not allowed; allowed: a whole number from 1 to 20`},
		{"one bad among good", []string{"cachepool:nodes=2", "cachepool:policy=fifo"}, `cachepool:policy: "fifo"`},
		{"not key=value", []string{"fibonacci:nodes"}, "want key=value"},
		{"unknown key", []string{"nosuchkey=1"}, "-c: cloudlabs:nosuchkey: no such config key; did you mean"},
		{"typo in a key", []string{"fibonacci:node=5"}, "-c: fibonacci:node: no such config key; did you mean fibonacci:nodes?"},
		{"typo in a namespace", []string{"fibonaci:nodes=5"}, "-c: fibonaci:nodes: no such config key; did you mean fibonacci:nodes?"},
		{"admin port open to the internet", []string{"cachepool:allowCidr=0.0.0.0/1"}, `cachepool:allowCidr: "0.0.0.0/1" would open`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(file, []byte(original), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := prepare(context.Background(), &stackFlags{stack: "t", stacksDir: dir, config: tc.config})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != original {
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

// TestUnknownKeyInTheFile: a typo already in a stack file fails every
// command that reads the stack, naming the file, the key and the closest
// declared key; provider keys pass.
func TestUnknownKeyInTheFile(t *testing.T) {
	const typo = "config:\n  aws:region: eu-north-1\n  cloudlabs:platform: aws\n  cloudlabs:environments: [cachepool]\n  cachepool:nodse: \"3\"\n"
	dir := stacksDir(t, map[string]string{"typo": typo})
	const want = "Pulumi.typo.yaml: cachepool:nodse: no such config key; did you mean cachepool:nodes?"
	check := func(t *testing.T, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("got %v, want an error containing %q", err, want)
		}
	}
	t.Run("render", func(t *testing.T) {
		_, err := runRender("--stack", "typo", "--stacks-dir", dir, "--out", t.TempDir())
		check(t, err)
	})
	t.Run("cost", func(t *testing.T) {
		_, err := runCost(t, "--stack", "typo", "--stacks-dir", dir)
		check(t, err)
	})
	// up, preview, destroy, refresh and outputs all start with prepare.
	t.Run("stack commands", func(t *testing.T) {
		_, err := prepare(context.Background(), &stackFlags{stack: "typo", stacksDir: dir})
		check(t, err)
	})
}

// TestConfigFlagHelp: -c says what it does to the stack file: saved by
// the commands that run the engine (as pulumi's -c), not written by the
// offline ones.
func TestConfigFlagHelp(t *testing.T) {
	commands := map[string]*cobra.Command{"render": newRenderCmd(), "cost": newCostCmd()}
	for _, c := range root.Commands() {
		commands[c.Name()] = c
	}
	for name, saves := range map[string]bool{"render": false, "cost": false, "up": true, "preview": true, "destroy": true, "refresh": true, "outputs": true} {
		t.Run(name, func(t *testing.T) {
			c, ok := commands[name]
			if !ok {
				t.Fatalf("no command %s", name)
			}
			flag := c.Flags().Lookup("config")
			if flag == nil {
				t.Fatalf("%s has no -c", name)
			}
			want := configOneRunHelp
			if saves {
				want = configSavedHelp
			}
			if flag.Usage != want {
				t.Errorf("-c help: got %q, want %q", flag.Usage, want)
			}
		})
	}
	if short := commands["preview"].Short; !strings.Contains(short, "-c values are saved into the stack file") {
		t.Errorf("preview says %q, want it to say that -c values are saved", short)
	}
	if !strings.Contains(configSavedHelp, "save it into stacks/Pulumi.<stack>.yaml") || !strings.Contains(configOneRunHelp, "the stack file is not written") {
		t.Errorf("the help texts say %q and %q", configSavedHelp, configOneRunHelp)
	}
}

// TestUpRefusesWhatOnlyAPlanMayLack: up (a deployment) of a cloud phone
// book without riak:packageSha256 fails before its -c is saved, saying how
// to compute the hash; the other commands only warn.
func TestUpRefusesWhatOnlyAPlanMayLack(t *testing.T) {
	const original = "config:\n  cloudlabs:platform: aws\n  cloudlabs:environments: [phonebook]\n"
	dir := stacksDir(t, map[string]string{"pb": original})
	_, err := prepare(context.Background(), &stackFlags{stack: "pb", stacksDir: dir, deploy: true, config: []string{"riak:nodes=3"}})
	if err == nil || !strings.Contains(err.Error(), "riak:packageSha256: required for the phone book on aws") || !strings.Contains(err.Error(), "| sha256sum`") {
		t.Fatalf("got %v, want the missing hash and how to compute it", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "Pulumi.pb.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != original {
		t.Errorf("the stack file changed:\n%s", b)
	}
}
