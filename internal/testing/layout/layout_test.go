// Package layout checks the import rules the design promises: apps never
// link Pulumi or the components, the cloud SDKs stay in the packages that
// declare cloud resources, production code never imports a test helper,
// and the README's map names every room of internal/.
package layout

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

const module = "github.com/cloudlabs/cloudlabs"

// deps maps every package of the module to its transitive imports
// (production code only: go list -deps without tests).
func deps(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "./...")
	cmd.Dir = testkit.ModuleRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	m := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		m[f[0]] = f[1:]
	}
	if len(m) < 20 {
		t.Fatalf("go list found %d packages; want the whole module", len(m))
	}
	return m
}

func rel(pkg string) string { return strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/") }

// testHelper tells the packages only tests import: internal/testing/...
// and the apps' own helpers named <something>test (gallerytest).
func testHelper(pkg string) bool {
	p := rel(pkg)
	return strings.HasPrefix(p, "internal/testing/") || (strings.HasSuffix(p, "test") && strings.HasPrefix(pkg, module+"/"))
}

func TestImportRules(t *testing.T) {
	all := deps(t)
	cloudSDK := regexp.MustCompile(`^github\.com/pulumi/pulumi-(aws|gcp)/`)
	// Where the AWS/GCP Pulumi SDKs may be linked: the two platforms, the
	// composition root that picks one, and what runs the root.
	cloudOK := []string{"components/aws", "components/gcp", "components/program", "cmd/labctl", ""}
	apps := 0
	for pkg, ds := range all {
		p := rel(pkg)
		isApp := strings.HasPrefix(p, "apps/")
		if isApp {
			apps++
		}
		for _, d := range ds {
			switch {
			case isApp && (strings.HasPrefix(d, "github.com/pulumi/") || strings.HasPrefix(d, module+"/components")):
				t.Errorf("app package %s links %s: apps never import Pulumi or the components", p, d)
			case cloudSDK.MatchString(d) && !slices.Contains(cloudOK, p):
				t.Errorf("%s links the cloud SDK %s: keep it in components/aws, components/gcp and the program", p, d)
			case testHelper(d) && !testHelper(pkg):
				t.Errorf("production package %s imports the test helper %s", p, rel(d))
			}
		}
	}
	if apps < 3 {
		t.Fatalf("found %d app packages; want at least the three apps", apps)
	}
}

// TestREADMEMapMatchesFolders keeps the README's map of internal/ true:
// every group folder there is named in the map, and the map names no
// folder that is gone.
func TestREADMEMapMatchesFolders(t *testing.T) {
	root := testkit.ModuleRoot(t)
	ents, err := os.ReadDir(filepath.Join(root, "internal"))
	if err != nil {
		t.Fatal(err)
	}
	var folders []string
	for _, e := range ents {
		if e.IsDir() {
			folders = append(folders, "internal/"+e.Name()+"/")
		}
	}
	if len(folders) < 5 {
		t.Fatalf("internal/ has %d folders; want the subsystem groups", len(folders))
	}
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	named := regexp.MustCompile(`(?m)^\s+(internal/[a-z]+/)`).FindAllStringSubmatch(string(b), -1)
	var inMap []string
	for _, m := range named {
		inMap = append(inMap, m[1])
	}
	if len(inMap) == 0 {
		t.Fatal("the README has no map of internal/ (indented lines starting with internal/<group>/)")
	}
	for _, f := range folders {
		if !slices.Contains(inMap, f) {
			t.Errorf("README's map lacks %s", f)
		}
	}
	for _, m := range inMap {
		if !slices.Contains(folders, m) {
			t.Errorf("README's map names %s, which does not exist", m)
		}
	}
}
