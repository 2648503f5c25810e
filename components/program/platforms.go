package program

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/cloudlabs/cloudlabs/components/aws"
	"github.com/cloudlabs/cloudlabs/components/gcp"
	"github.com/cloudlabs/cloudlabs/components/local"
	"github.com/cloudlabs/cloudlabs/components/platform"
	"github.com/cloudlabs/cloudlabs/internal/config/stackconfig"
)

// newPlatform makes the platform the stack names.
func newPlatform(ctx *pulumi.Context, cfg stackconfig.Config) (platform.Platform, error) {
	bySize := map[string]string{}
	if cfg.RiakSize != "" {
		bySize["medium"] = cfg.RiakSize
	}
	switch cfg.Platform {
	case "local":
		s := local.Settings{StateDir: LocalStateDir(), Network: cfg.LocalNetwork, NetworkRange: cfg.LocalNetworkRange,
			LinkRateKbit: cfg.LocalLinkRateKbit}
		if cfg.LocalNetwork == stackconfig.LocalNetns {
			// In namespace mode each host shapes its own link and runs
			// its own sshd; on loopback, labctl shapes lo and there is no
			// SSH into a host.
			s.DelayMs, s.LossPct = cfg.NetworkDelayMs, cfg.NetworkLossPct
			s.SSHAllowCIDR, s.SSHPublicKey = cfg.SSHAllowCIDR, cfg.SSHPublicKey
		}
		return local.New(ctx, s)
	case "aws":
		return aws.New(ctx, aws.Settings{
			InstanceType: cfg.InstanceType, InstanceTypeBySize: bySize, Image: cfg.Image,
			SSHAllowCIDR: cfg.SSHAllowCIDR, SSHPublicKey: cfg.SSHPublicKey,
		})
	case "gcp":
		// Region and zone are the provider's (gcp:region, gcp:zone).
		return gcp.New(ctx, gcp.Settings{
			InstanceType: cfg.InstanceType, InstanceTypeBySize: bySize, Image: cfg.Image,
			SSHAllowCIDR: cfg.SSHAllowCIDR, SSHPublicKey: cfg.SSHPublicKey,
		})
	}
	return nil, fmt.Errorf("cloudlabs:platform: %q is not one of %v", cfg.Platform, stackconfig.AllPlatforms)
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

// The cloud's location as the providers read it from the stack config
// (aws:region; gcp:project, gcp:zone): what the pool manager passes to
// the cloud's API when it starts and stops slots.
func awsRegion(ctx *pulumi.Context) string  { return config.Get(ctx, "aws:region") }
func gcpProject(ctx *pulumi.Context) string { return config.Get(ctx, "gcp:project") }
func gcpZone(ctx *pulumi.Context) string    { return config.Get(ctx, "gcp:zone") }
