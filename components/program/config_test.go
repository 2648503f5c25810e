package program

import (
	"errors"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/cloudlabs/cloudlabs/components/offline"
	"github.com/cloudlabs/cloudlabs/internal/config/stackfile"
)

// runAs runs the program under mocks as a deployment (dryRun false) or a
// preview (dryRun true) with cfg.
func runAs(t *testing.T, dryRun bool, cfg map[string]string) (*offline.Mocks, error) {
	t.Helper()
	m := &offline.Mocks{}
	err := pulumi.RunErr(RunWith(fakeBuild("v1")), pulumi.WithMocks("cloudlabs", "test", m), func(info *pulumi.RunInfo) {
		info.DryRun = dryRun
		info.Config = map[string]string{}
		for k, v := range cfg {
			info.Config[k] = v
		}
	})
	return m, err
}

// TestRiakChecksumOnlyForARealUp: a cloud phone book without
// riak:packageSha256 is refused by a real up, before anything is created,
// with how to compute it; a preview and an offline plan (render, cost) go
// on, and their Riak nodes get a placeholder hash, never a real-looking one.
func TestRiakChecksumOnlyForARealUp(t *testing.T) {
	for _, cloud := range []string{"aws", "gcp"} {
		cfg := map[string]string{"cloudlabs:platform": cloud, "cloudlabs:environments": "phonebook", "gcp:project": "cloudlabs-test"}
		t.Run(cloud+"/up refuses", func(t *testing.T) {
			m, err := runAs(t, false, cfg)
			if err == nil || !strings.Contains(err.Error(), "riak:packageSha256: required for the phone book on "+cloud) || !strings.Contains(err.Error(), "| sha256sum`") {
				t.Fatalf("got %v, want the missing checksum named, with how to compute it", err)
			}
			if n := len(m.Resources()); n != 0 {
				t.Errorf("%d resources were created before the error", n)
			}
		})
		t.Run(cloud+"/preview goes on", func(t *testing.T) {
			m, err := runAs(t, true, cfg)
			if err != nil {
				t.Fatal(err)
			}
			checkPlaceholderRiak(t, m)
		})
		t.Run(cloud+"/offline plan goes on", func(t *testing.T) {
			file := map[string]stackfile.Value{}
			for k, v := range cfg {
				file[k] = stackfile.Value{Value: v}
			}
			m, err := Offline("test", file, fakeBuild("v1"))
			if err != nil {
				t.Fatal(err)
			}
			checkPlaceholderRiak(t, m)
		})
	}
	t.Run("the local twin needs none", func(t *testing.T) {
		t.Setenv("CLOUDLABS_STATE_DIR", t.TempDir())
		if _, err := runAs(t, false, map[string]string{"cloudlabs:environments": "phonebook"}); err != nil {
			t.Fatal(err)
		}
	})
}

func checkPlaceholderRiak(t *testing.T, m *offline.Mocks) {
	t.Helper()
	files, err := BootFiles(m)
	if err != nil {
		t.Fatal(err)
	}
	var riak []string
	for name, ud := range files {
		if strings.Contains(name, "riak-node") {
			riak = append(riak, name)
			if !strings.Contains(ud, PlaceholderSHA256) {
				t.Errorf("%s does not check the package against the placeholder hash", name)
			}
		}
	}
	if len(riak) != 2 {
		t.Fatalf("got Riak nodes %q, want 2", riak)
	}
}

// TestOfflineErrorIsPlain: an offline run's error reads as the program's
// errors, without the SDK's "1 error occurred:" wrapping and blank lines.
func TestOfflineErrorIsPlain(t *testing.T) {
	_, err := Offline("test", map[string]stackfile.Value{"cloudlabs:platform": {Value: "aws"}, "cachepool:policy": {Value: "fifo"}}, fakeBuild("v1"))
	if err == nil {
		t.Fatal("got no error for a bad policy")
	}
	const want = "invalid stack configuration:\n  cachepool:policy: \"fifo\" is not allowed; allowed: lru, random, lfu"
	if err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
	joined := errors.Join(errors.New("a\n\n"), errors.New("b"))
	if got := plainError(joined); got != joined {
		t.Errorf("an error that is no multierror changed: %q", got)
	}
}
