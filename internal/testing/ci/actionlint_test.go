package ci

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudlabs/cloudlabs/internal/system"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

// installLine is how to get the pinned actionlint (scripts/test.sh runs it).
const installLine = `PATH="$(scripts/install-go-tools.sh | tail -n 1):$PATH"`

// actionlint finds the linter on PATH, else where
// scripts/install-go-tools.sh puts it, and fails with the install line.
func actionlint(t *testing.T) string {
	t.Helper()
	p, err := system.Tool("actionlint")
	if err != nil {
		t.Fatalf("%v; from the repository root: %s", err, installLine)
	}
	return p
}

// lint runs actionlint on files from the repository root; shellcheck must
// be on PATH, or actionlint would quietly skip the run: blocks.
func lint(t *testing.T, files ...string) (string, error) {
	t.Helper()
	bin := actionlint(t)
	shellcheck := testkit.Binary(t, "shellcheck", "shellcheck")
	args := append([]string{"-shellcheck", shellcheck, "-no-color"}, files...)
	cmd := exec.Command(bin, args...)
	cmd.Dir = testkit.ModuleRoot(t)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestWorkflows(t *testing.T) {
	root := testkit.ModuleRoot(t)
	var files []string
	for _, pattern := range []string{"*.yml", "*.yaml"} {
		m, err := filepath.Glob(filepath.Join(root, ".github", "workflows", pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no workflows in .github/workflows: the preview workflow is missing")
	}
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		t.Run(rel, func(t *testing.T) {
			if out, err := lint(t, rel); err != nil {
				t.Errorf("actionlint %s: %v\n%s", rel, err, out)
			}
		})
	}
}

// TestLintCatchesMistakes keeps the lint honest: a workflow with known
// mistakes must fail, with both the action check and shellcheck reporting.
func TestLintCatchesMistakes(t *testing.T) {
	out, err := lint(t, filepath.Join("internal", "testing", "ci", "testdata", "broken.yml"))
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("actionlint on a broken workflow: got %v, want exit status 1\n%s", err, out)
	}
	for _, want := range []string{`input "no-such-input" is not defined`, "SC2086"} {
		t.Run(want, func(t *testing.T) {
			if !strings.Contains(out, want) {
				t.Errorf("actionlint output lacks %q:\n%s", want, out)
			}
		})
	}
}
