package testkit

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// CloudConfig fails the test unless Debian's `cloud-init schema` accepts
// the #cloud-config user data: the check every platform's user data and
// the cloud-init renderer share.
func CloudConfig(t testing.TB, userData string) {
	t.Helper()
	bin := Binary(t, "cloud-init", "cloud-init")
	f := filepath.Join(t.TempDir(), "user-data")
	if err := os.WriteFile(f, []byte(userData), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "schema", "--config-file", f).CombinedOutput(); err != nil {
		t.Fatalf("cloud-init schema rejects the user data: %v\n%s\n---\n%s", err, out, userData)
	}
}
