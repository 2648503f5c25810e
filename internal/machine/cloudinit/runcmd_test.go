package cloudinit

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

// runcmdScript is the shell script cloud-init itself makes of the user
// data's runcmd (cc_runcmd: util.shellify), made by Debian's cloud-init.
func runcmdScript(t *testing.T, userData string) string {
	t.Helper()
	bin := testkit.Binary(t, "cloud-init", "cloud-init")
	f, err := os.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := bufio.NewReader(f).ReadString('\n')
	f.Close()
	python, ok := strings.CutPrefix(strings.TrimSpace(first), "#!")
	if !ok {
		t.Fatalf("%s is not a script (%q): cannot find cloud-init's Python", bin, first)
	}
	cmd := exec.Command(strings.Fields(python)[0], "-c",
		`import sys, yaml; from cloudinit import util; sys.stdout.write(util.shellify(yaml.safe_load(sys.stdin)["runcmd"]))`)
	cmd.Stdin = strings.NewReader(userData)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("cloud-init's shellify: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	return string(out)
}

// bootSteps runs the runcmd script of r's user data as cloud-init would,
// with systemctl replaced by a stub that logs its arguments. It returns
// the systemctl calls, whether the marker file that r's steps may touch
// exists, and the script's error.
func bootSteps(t *testing.T, r role.Role, marker string) (calls []string, reached bool, runErr error) {
	t.Helper()
	ud, err := Render(r, Options{Platform: "aws"})
	if err != nil {
		t.Fatal(err)
	}
	script := runcmdScript(t, ud)
	dir := t.TempDir()
	stubs := filepath.Join(dir, "bin")
	logFile := filepath.Join(dir, "systemctl.log")
	if err := os.Mkdir(stubs, 0o755); err != nil {
		t.Fatal(err)
	}
	stub := "#!/bin/sh\necho \"$*\" >> " + logFile + "\n"
	if err := os.WriteFile(filepath.Join(stubs, "systemctl"), []byte(stub), 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "runcmd")
	if err := os.WriteFile(path, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", path)
	cmd.Env = append(os.Environ(), "PATH="+stubs+":/usr/sbin:/usr/bin:/sbin:/bin")
	out, runErr := cmd.CombinedOutput()
	t.Logf("runcmd script:\n%s\noutput:\n%s", script, out)
	b, err := os.ReadFile(logFile)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if s := strings.TrimSpace(string(b)); s != "" {
		calls = strings.Split(s, "\n")
	}
	_, statErr := os.Stat(marker)
	return calls, statErr == nil, runErr
}

func stepsRole(marker string, firstStep string) role.Role {
	return role.Role{
		Name:     "steps",
		Setup:    []string{firstStep, "touch " + marker},
		Services: []role.Service{{Name: "app", Exec: "/opt/cloudlabs/bin/app", Port: 8080}},
	}
}

// The harness runs cloud-init's own script: with every step succeeding,
// the later steps and the services' start run.
func TestRuncmdRunsEveryStepWhenAllSucceed(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "reached")
	calls, reached, err := bootSteps(t, stepsRole(marker, "true"), marker)
	if err != nil {
		t.Fatalf("runcmd failed: %v", err)
	}
	if !reached {
		t.Error("the step after a successful one did not run")
	}
	if len(calls) == 0 || !strings.Contains(strings.Join(calls, "\n"), "enable --now cloudlabs-app.service") {
		t.Errorf("systemctl calls %q, want the service enabled and started", calls)
	}
}

// A failed step stops the boot there: no later step runs, no service is
// started, and the script fails, which cloud-init reports as an error.
func TestRuncmdStopsAtTheFirstFailedStep(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "reached")
	calls, reached, err := bootSteps(t, stepsRole(marker, "exit 3"), marker)
	if err == nil {
		t.Error("runcmd succeeded after a failed step, want it to fail (cloud-init then reports the error)")
	}
	if reached {
		t.Error("the step after the failed one ran")
	}
	if len(calls) != 0 {
		t.Errorf("systemctl ran after the failed step: %q", calls)
	}
}
