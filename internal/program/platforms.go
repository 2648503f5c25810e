package program

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/local"
	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/stackconfig"
)

// newPlatform makes the platform the stack names.
func newPlatform(ctx *pulumi.Context, cfg stackconfig.Config) (platform.Platform, error) {
	switch cfg.Platform {
	case "local":
		return local.New(ctx, local.Settings{StateDir: LocalStateDir()})
	}
	return nil, fmt.Errorf("cloudlabs:platform: %q is not available", cfg.Platform)
}

// LocalStateDir is where the local twin keeps its hosts:
// $CLOUDLABS_STATE_DIR, else $XDG_STATE_HOME/cloudlabs/twin, else
// ~/.local/state/cloudlabs/twin.
func LocalStateDir() string {
	if d := os.Getenv("CLOUDLABS_STATE_DIR"); d != "" {
		return d
	}
	base := os.Getenv("XDG_STATE_HOME")
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(base, "cloudlabs", "twin")
}
