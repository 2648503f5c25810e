package stackfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `# the local twin
encryptionsalt: abc
config:
  cloudlabs:platform: local # where
  environments:
    - fibonacci
    - cachepool
  fibonacci:nodes: "3"
  riak:cookie:
    secure: AAABAHc=
`

func TestLoad(t *testing.T) {
	p := filepath.Join(t.TempDir(), "Pulumi.x.yaml")
	if err := os.WriteFile(p, []byte(sample), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]Value{
		"cloudlabs:platform":     {Value: "local"},
		"cloudlabs:environments": {Value: `["fibonacci","cachepool"]`},
		"fibonacci:nodes":        {Value: "3"},
		"riak:cookie":            {Secure: "AAABAHc="},
	} {
		if got[k] != want {
			t.Errorf("%s: got %+v, want %+v", k, got[k], want)
		}
	}
}

func TestSetKeepsCommentsAndOtherKeys(t *testing.T) {
	p := filepath.Join(t.TempDir(), "Pulumi.x.yaml")
	if err := os.WriteFile(p, []byte(sample), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Set(p, map[string]string{"fibonacci:nodes": "5", "cachepool:nodes": "1"}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# the local twin", "# where", "encryptionsalt: abc", `fibonacci:nodes: "5"`, `cachepool:nodes: "1"`, "secure: AAABAHc="} {
		if !strings.Contains(string(b), want) {
			t.Errorf("file lacks %q:\n%s", want, b)
		}
	}
	got, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got["fibonacci:nodes"].Value != "5" || got["cloudlabs:environments"].Value == "" {
		t.Errorf("after Set: %+v", got)
	}
}

func TestSetCreates(t *testing.T) {
	p := filepath.Join(t.TempDir(), "stacks", "Pulumi.new.yaml")
	if err := Set(p, map[string]string{"cloudlabs:platform": "local"}); err != nil {
		t.Fatal(err)
	}
	got, err := Load(p)
	if err != nil || got["cloudlabs:platform"].Value != "local" {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("config: [unclosed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "not valid YAML") {
		t.Errorf("bad YAML: got %v", err)
	}
	if _, err := Path(dir, "../etc"); err == nil {
		t.Error("a stack name with a path in it was accepted")
	}
	if m, err := Load(filepath.Join(dir, "missing.yaml")); err != nil || len(m) != 0 {
		t.Errorf("missing file: got %v, %v", m, err)
	}
}
