package local

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/system"
)

// Publish copies the artifact to <stack folder>/artifacts/<name>-<sha>,
// a path that depends only on the content: rebuilding the same binary
// into a new temporary folder is no diff, a changed binary is one. Hosts
// fetch it from there by its file:// URL and check its hash. A preview
// only computes the URL.
func (p *Platform) Publish(ctx *pulumi.Context, a platform.Artifact) (pulumi.StringOutput, error) {
	if len(a.SHA256) < 12 {
		return pulumi.StringOutput{}, fmt.Errorf("publish %s: want a hex SHA-256, got %q", a.Name, a.SHA256)
	}
	dst := filepath.Join(p.dir, "artifacts", a.Name+"-"+a.SHA256[:12])
	// The path depends only on the hash, so a preview knows it without
	// copying: a preview changes nothing on this machine.
	if ctx.DryRun() {
		return pulumi.String("file://" + dst).ToStringOutput(), nil
	}
	if _, err := os.Stat(dst); err != nil {
		if err := copyFile(a.Path, dst); err != nil {
			return pulumi.StringOutput{}, fmt.Errorf("publish %s: %w", a.Name, err)
		}
	}
	return pulumi.String("file://" + dst).ToStringOutput(), nil
}

// copyFile copies through a temporary file so a reader never sees half.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return system.WriteAtomic(dst, 0o755, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}
