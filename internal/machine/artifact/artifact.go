// Package artifact cross-compiles the apps for the machines during the
// program run, reproducibly, so an unchanged source gives an unchanged
// SHA-256 and a changed one shows in `preview`.
package artifact

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// Apps are the project's apps that machines run, by directory under apps/.
var Apps = []string{"fibonacci", "phonebook", "cachenode"}

// Built is one compiled app.
type Built struct {
	Name   string
	Path   string
	SHA256 string
}

// Build compiles the named apps for linux/goarch into outDir, in parallel,
// and hashes them. root is the module root.
func Build(ctx context.Context, root, outDir, goarch string, apps []string) (map[string]Built, error) {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("build apps: %w", err)
	}
	var (
		mu   sync.Mutex
		out  = map[string]Built{}
		errs []error
		wg   sync.WaitGroup
	)
	for _, app := range apps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := build(ctx, root, outDir, goarch, app)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			out[app] = b
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

func build(ctx context.Context, root, outDir, goarch, app string) (Built, error) {
	path := filepath.Join(outDir, fmt.Sprintf("%s-linux-%s", app, goarch))
	// -trimpath and an empty build id make the binary a function of its
	// source and toolchain only.
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", path, "./apps/"+app)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch, "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		return Built{}, fmt.Errorf("build %s for linux/%s: %w\n%s", app, goarch, err, strings.TrimSpace(string(out)))
	}
	sum, err := FileSHA256(path)
	if err != nil {
		return Built{}, err
	}
	return Built{Name: app, Path: path, SHA256: sum}, nil
}

// FileSHA256 is the hex SHA-256 of a file's content.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
