package ci

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

// workflow is the part of a workflow file the policy reads.
type workflow struct {
	Env  map[string]string `yaml:"env"`
	Jobs map[string]struct {
		Env   map[string]string `yaml:"env"`
		Steps []struct {
			Name string            `yaml:"name"`
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			Env  map[string]string `yaml:"env"`
			With map[string]string `yaml:"with"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

var pinned = regexp.MustCompile(`^[^@\s]+@[0-9a-f]{40}$`)

// TestWorkflowPolicy checks what actionlint does not: every action is
// pinned by commit, no secret is given to a whole workflow or job, and no
// step that runs the pull request's shell code sees a secret.
func TestWorkflowPolicy(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testkit.ModuleRoot(t), ".github", "workflows", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no workflows in .github/workflows")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var w workflow
			if err := yaml.Unmarshal(b, &w); err != nil {
				t.Fatal(err)
			}
			checkNoSecret(t, "the workflow's env", w.Env)
			if len(w.Jobs) == 0 {
				t.Fatal("no jobs")
			}
			for name, j := range w.Jobs {
				checkNoSecret(t, "job "+name+"'s env", j.Env)
				if len(j.Steps) == 0 {
					t.Fatalf("job %s has no steps", name)
				}
				for i, s := range j.Steps {
					where := name + " step " + s.Name
					if s.Name == "" {
						where = name + " step " + s.Uses
					}
					if s.Uses != "" && !pinned.MatchString(strings.TrimSpace(s.Uses)) {
						t.Errorf("%s (#%d): uses %q: pin actions by a 40-hex commit, with the tag in a comment", where, i, s.Uses)
					}
					if s.Run != "" {
						checkNoSecret(t, where+"'s env", s.Env)
						if strings.Contains(s.Run, "secrets.") {
							t.Errorf("%s runs shell code with a secret in it", where)
						}
					}
				}
			}
		})
	}
}

func checkNoSecret(t *testing.T, where string, env map[string]string) {
	t.Helper()
	for k, v := range env {
		if strings.Contains(v, "secrets.") {
			t.Errorf("%s gives secret %s: give secrets only to the steps that need them", where, k)
		}
	}
}
