package testkit

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cloudlabs/cloudlabs/internal/system"
)

// S3 is a running S3 gateway (versitygw's posix backend).
type S3 struct {
	Endpoint             string
	AccessKey, SecretKey string
	Root                 string // the posix backend's folder: one folder per bucket
	Proc                 *Process
}

// Versitygw starts versitygw's posix backend over a temporary folder on a
// free loopback port; it stops when the test ends. versitygw is found where
// scripts/install-go-tools.sh puts it (or on PATH), else the test fails
// with the install line.
func Versitygw(t testing.TB) *S3 {
	t.Helper()
	bin, err := system.Tool("versitygw")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	s := &S3{Endpoint: "http://" + addr, AccessKey: "gallerytest", SecretKey: "gallerytest-secret-key", Root: root}
	s.Proc = Start(t, addr, bin, "--access", s.AccessKey, "--secret", s.SecretKey, "--port", addr, "--quiet", "posix", root)
	return s
}

// Objects lists the files under the bucket's folder (object names),
// straight from the disk, independent of the S3 API.
func (s *S3) Objects(t testing.TB, bucket, prefix string) []string {
	t.Helper()
	var names []string
	base := filepath.Join(s.Root, bucket)
	err := filepath.WalkDir(base, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".sgwtmp") {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(base, p)
		if strings.HasPrefix(rel, prefix) {
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("list %s: %v", base, err)
	}
	sort.Strings(names)
	return names
}
