package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/system"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

// pulumiCLI finds the CLI the way scripts/install-pulumi.sh leaves it,
// failing (not skipping) with the install line when it is absent.
func pulumiCLI(t *testing.T) string {
	t.Helper()
	p, err := system.Tool("pulumi")
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(p)
}

// stack runs programs against a file:// backend with the real CLI and the
// freshly built provider plugin on PATH.
func stack(t *testing.T, program func(n int) pulumi.RunFunc) (up func(n int) auto.UpResult, destroy func()) {
	t.Helper()
	plugin := testkit.BuildApp(t, "cmd/pulumi-resource-cloudlabs")
	t.Setenv("PATH", filepath.Dir(plugin)+":"+pulumiCLI(t)+":"+os.Getenv("PATH"))
	backend := t.TempDir()
	env := map[string]string{
		"PULUMI_CONFIG_PASSPHRASE":                    "cloudlabs-test",
		"PULUMI_HOME":                                 t.TempDir(),
		"PULUMI_SKIP_UPDATE_CHECK":                    "true",
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	var s auto.Stack
	up = func(n int) auto.UpResult {
		t.Helper()
		var err error
		s, err = auto.UpsertStackInlineSource(ctx, "e2e", "cloudlabs-local-e2e", program(n),
			auto.Project(workspace.Project{
				Name:    "cloudlabs-local-e2e",
				Runtime: workspace.NewProjectRuntimeInfo("go", nil),
				Backend: &workspace.ProjectBackend{URL: "file://" + backend},
			}),
			auto.SecretsProvider("passphrase"),
			auto.EnvVars(env))
		if err != nil {
			t.Fatalf("stack: %v", err)
		}
		var out strings.Builder
		res, err := s.Up(ctx, optup.ProgressStreams(&out), optup.ErrorProgressStreams(&out))
		if err != nil {
			t.Fatalf("up: %v\n%s", err, out.String())
		}
		return res
	}
	destroy = func() {
		var out strings.Builder
		if _, err := s.Destroy(ctx, optdestroy.ProgressStreams(&out), optdestroy.ErrorProgressStreams(&out)); err != nil {
			t.Errorf("destroy: %v\n%s", err, out.String())
		}
	}
	return up, destroy
}

func TestAutomationUpChangeDestroy(t *testing.T) {
	memcached := testkit.Binary(t, "memcached", "memcached")
	state := t.TempDir()
	// program(n) declares n memcached hosts; growing n must leave the
	// existing hosts' processes alone.
	program := func(n int) pulumi.RunFunc {
		return func(ctx *pulumi.Context) error {
			p, err := New(ctx, Settings{StateDir: state})
			if err != nil {
				return err
			}
			for i := 1; i <= n; i++ {
				name := "cache-" + strconv.Itoa(i)
				l := p.Layout(name)
				args := []string{"-l", l.Bind, "-p", "11211", "-U", "0", "-m", "16"}
				if os.Geteuid() == 0 {
					args = append(args, "-u", "nobody")
				}
				r := role.Role{
					Name:     "cache",
					Files:    []role.File{{Path: l.Path("/etc/cloudlabs/motd"), Content: name, Mode: "0644"}},
					Services: []role.Service{{Name: "memcached", Exec: memcached, Args: args, Port: 11211, LimitNOFILE: 4096}},
				}
				m, err := p.Machine(ctx, name, platform.MachineArgs{Group: "cache", Role: platform.ConstRole(r)})
				if err != nil {
					return err
				}
				ctx.Export(name+"-address", m.PrivateIP)
				ctx.Export(name+"-services", m.Resource.(*Host).Services)
			}
			return nil
		}
	}
	up, destroy := stack(t, program)
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			destroy()
		}
	})

	res := up(1)
	// Routine steps (start memcached) are debug logs: a normal up shows no
	// diagnostics of the provider's resources. (The engine's own warning
	// about a plugin found on PATH is not the provider's.)
	if d := diagnostics(res.StdOut); strings.Contains(d, "cloudlabs:local:") {
		t.Errorf("up printed provider diagnostics:\n%s", d)
	}
	addr1 := res.Outputs["cache-1-address"].Value.(string)
	pid1 := pidOf(t, res, "cache-1")
	if !testkit.Listening(addr1 + ":11211") {
		t.Fatalf("cache-1 not listening on %s:11211 after up", addr1)
	}

	res = up(2)
	addr2 := res.Outputs["cache-2-address"].Value.(string)
	if addr2 == addr1 {
		t.Fatalf("both hosts on %s", addr1)
	}
	if got := pidOf(t, res, "cache-1"); got != pid1 {
		t.Fatalf("cache-1 memcached pid %d after adding a host, want unchanged %d", got, pid1)
	}
	if !testkit.Listening(addr2 + ":11211") {
		t.Fatalf("cache-2 not listening on %s:11211", addr2)
	}
	pid2 := pidOf(t, res, "cache-2")

	destroy()
	destroyed = true
	for _, c := range []struct {
		addr string
		pid  int
	}{{addr1, pid1}, {addr2, pid2}} {
		// Destroy stopped it; the kernel frees its socket as it exits,
		// which a check right after may race: wait, bounded.
		testkit.Eventually(t, fmt.Sprintf("pid %d gone after destroy", c.pid), 10*time.Second, func() bool { return testkit.ProcessGone(c.pid) })
		testkit.WaitClosed(t, c.addr+":11211", 10*time.Second)
	}
	for _, h := range []string{"cache-1", "cache-2", "disks/cache-1", "disks/cache-2"} {
		if _, err := os.Stat(filepath.Join(state, "e2e", h)); !os.IsNotExist(err) {
			t.Errorf("folder %s left after destroy: %v", h, err)
		}
	}
}

// diagnostics is the Diagnostics section of an update's output.
func diagnostics(out string) string {
	_, d, ok := strings.Cut(out, "Diagnostics:")
	if !ok {
		return ""
	}
	d, _, _ = strings.Cut(d, "Outputs:")
	return d
}

func pidOf(t *testing.T, res auto.UpResult, host string) int {
	t.Helper()
	m, ok := res.Outputs[host+"-services"].Value.(map[string]any)
	if !ok {
		t.Fatalf("%s-services output: %#v", host, res.Outputs[host+"-services"].Value)
	}
	pid, ok := m["memcached"].(float64)
	if !ok || pid == 0 {
		t.Fatalf("%s has no memcached pid: %v", host, m)
	}
	return int(pid)
}
