package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/machine/artifact"
	"github.com/cloudlabs/cloudlabs/internal/machine/cloudinit"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/machine/vmboot"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

const bootUserData = `#cloud-config
write_files:
  - path: /usr/local/sbin/cloudlabs-sync
    content: ""
runcmd:
  - [/usr/local/sbin/cloudlabs-fetch, "https://storage.googleapis.com/bucket-1/artifacts/fibonacci-aaaa", "` + sumA + `", "/opt/cloudlabs/bin/fibonacci", "0755"]
  - [sh, -ec, "/usr/local/sbin/cloudlabs-sync 'https://storage.googleapis.com/bucket-1/dynamic/fibonacci-lb/upstreams.conf' '/etc/x' 'true' once"]
`

const sumA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

// TestPointArtifactsRewritesOnlyTheBucketOrigin: every URL of the bucket
// (downloads and the upstream list's sync) starts at the artifact server,
// paths and hashes unchanged.
func TestPointArtifactsRewritesOnlyTheBucketOrigin(t *testing.T) {
	const base = "http://10.0.2.2:4000"
	got, err := pointArtifacts(bootUserData, base)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, "storage.googleapis.com") {
		t.Errorf("the bucket's origin remains:\n%s", got)
	}
	d, err := cloudinit.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Downloads) != 1 || d.Downloads[0].URL != base+"/bucket-1/artifacts/fibonacci-aaaa" || d.Downloads[0].SHA256 != sumA {
		t.Errorf("downloads %+v, want the fibonacci one at %s/bucket-1/artifacts/fibonacci-aaaa, hash unchanged", d.Downloads, base)
	}
	urls := guestURLs(got, base)
	want := []string{base + "/bucket-1/artifacts/fibonacci-aaaa", base + "/bucket-1/dynamic/fibonacci-lb/upstreams.conf"}
	if strings.Join(urls, " ") != strings.Join(want, " ") {
		t.Errorf("guest URLs %q, want %q", urls, want)
	}
	// The load balancer fetches no download, only its upstream list.
	lbOnly := strings.Replace(bootUserData, "  - [/usr/local/sbin/cloudlabs-fetch, \"https://storage.googleapis.com/bucket-1/artifacts/fibonacci-aaaa\", \""+sumA+"\", \"/opt/cloudlabs/bin/fibonacci\", \"0755\"]\n", "", 1)
	if lbOnly == bootUserData {
		t.Fatal("the test's user data has no fetch step to remove")
	}
	lb, err := pointArtifacts(lbOnly, base)
	if err != nil {
		t.Fatalf("the load balancer's user data: %v", err)
	}
	if got := guestURLs(lb, base); len(got) != 1 || got[0] != base+"/bucket-1/dynamic/fibonacci-lb/upstreams.conf" {
		t.Errorf("the load balancer fetches %q, want its upstream list from the server", got)
	}
	two := strings.Replace(bootUserData, "https://storage.googleapis.com/bucket-1/artifacts", "https://elsewhere.example/artifacts", 1)
	two = strings.Replace(two, "runcmd:\n", "runcmd:\n  - [/usr/local/sbin/cloudlabs-fetch, \"https://storage.googleapis.com/b/x\", \""+sumA+"\", \"/x\", \"0755\"]\n", 1)
	if _, err := pointArtifacts(two, base); err == nil || !strings.Contains(err.Error(), "2 origins") {
		t.Errorf("downloads from two origins: err %v, want it to say 2 origins", err)
	}
}

// TestServeGuestServesWhatTheUserDataFetches: the download comes from the
// built app with its hash, the upstream list from memory; a URL it cannot
// serve fails before anything boots.
func TestServeGuestServesWhatTheUserDataFetches(t *testing.T) {
	const base = "http://10.0.2.2:4000"
	ud, err := pointArtifacts(bootUserData, base)
	if err != nil {
		t.Fatal(err)
	}
	apps := &builtApps{apps: map[string]artifact.Built{"fibonacci": {Name: "fibonacci", Path: "/build/fibonacci", SHA256: sumA}}}
	c := &vmboot.Cloud{}
	if err := serveGuest(c, ud, base, apps, "upstream fibonacci {}\n"); err != nil {
		t.Fatal(err)
	}
	if got := c.Files["/bucket-1/artifacts/fibonacci-aaaa"]; got != "/build/fibonacci" {
		t.Errorf("download served from %q, want /build/fibonacci (files %v)", got, c.Files)
	}
	if got := string(c.Objects["/bucket-1/dynamic/fibonacci-lb/upstreams.conf"]); got != "upstream fibonacci {}\n" {
		t.Errorf("upstream list %q", got)
	}
	if err := serveGuest(&vmboot.Cloud{}, ud, base, apps, ""); err == nil || !strings.Contains(err.Error(), "upstreams.conf, which boot cannot serve") {
		t.Errorf("no upstream list to serve: err %v", err)
	}
	other := &builtApps{apps: map[string]artifact.Built{"fibonacci": {SHA256: strings.Repeat("b", 64)}}}
	if err := serveGuest(&vmboot.Cloud{}, ud, base, other, "x"); err == nil || !strings.Contains(err.Error(), "no app built here has sha256") {
		t.Errorf("a download no built app matches: err %v", err)
	}
}

func TestCheckBootableRefusesRiakSayingWhy(t *testing.T) {
	for _, name := range []string{"fibonacci", "lb", "cachenode"} {
		if err := checkBootable("m", role.Role{Name: name}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	err := checkBootable("phonebook-riak-1", role.Role{Name: "riak"})
	if err == nil || !strings.Contains(err.Error(), "files.tiot.jp") || !strings.Contains(err.Error(), "bootable roles: fibonacci, lb, cachenode") {
		t.Errorf("riak: %v", err)
	}
}

// testBootStack is the boot test's own stack: one backend behind the load
// balancer on GCP, as gcp-fibonacci renders them.
const testBootStack = `config:
  gcp:project: my-gcp-project
  gcp:region: us-central1
  gcp:zone: us-central1-a
  cloudlabs:platform: gcp
  cloudlabs:environments:
    - fibonacci
  fibonacci:nodes: "1"
`

// TestBootFibonacciBackendAndLoadBalancer boots, in real virtual machines,
// the load balancer and a fibonacci backend as a GCP stack renders them,
// and expects verify's checks of their roles to pass in them and the app
// to answer POST /fibonacci through the forwarded ports (directly, and
// through nginx to a backend). On a fresh machine it builds the base image
// first (about a minute); each boot takes 2-4 minutes under emulation.
func TestBootFibonacciBackendAndLoadBalancer(t *testing.T) {
	if err := vmboot.CheckTools(); err != nil {
		t.Fatalf("%v (scripts/test.sh installs them)", err)
	}
	labctl := testkit.BuildApp(t, "cmd/labctl")
	stacks := t.TempDir()
	if err := os.WriteFile(filepath.Join(stacks, "Pulumi.boot-test.yaml"), []byte(testBootStack), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		machine string
		rows    []string
	}{
		{"fibonacci-lb", []string{
			"service:nginx", "port:nginx", "health:nginx", "file:/etc/cloudlabs/nginx/nginx.conf", "package:nginx",
			"lb-backends", `fibonacci:answers`, `status 200 {"fibonacci_number": 10, "value": 55}`,
		}},
		{"fibonacci-node-1", []string{
			"service:fibonacci", "enabled:fibonacci", "port:fibonacci", "health:fibonacci", "download:fibonacci",
			`fibonacci:answers`, `status 200 {"fibonacci_number": 10, "value": 55}`,
		}},
	} {
		t.Run(tc.machine, func(t *testing.T) {
			start := time.Now()
			cmd := exec.CommandContext(t.Context(), labctl, "boot", "--stack", "boot-test", "--stacks-dir", stacks, "--machine", tc.machine)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			t.Logf("labctl boot --machine %s: %s\n%s", tc.machine, time.Since(start).Round(time.Second), stderr.String())
			if err != nil {
				t.Fatalf("labctl boot --machine %s: %v\n%s", tc.machine, err, out)
			}
			table := string(out)
			for _, want := range tc.rows {
				if !strings.Contains(table, want) {
					t.Errorf("the checks' table lacks %q:\n%s", want, table)
				}
			}
			for _, line := range strings.Split(table, "\n") {
				if strings.Contains(line, "CRITICAL") || strings.Contains(line, "UNKNOWN") || strings.Contains(line, "WARNING") {
					t.Errorf("a check did not pass: %s", line)
				}
			}
			if !strings.Contains(stderr.String(), "cloud-init done after") || !strings.Contains(stderr.String(), "guest powered off") {
				t.Errorf("stderr does not say that cloud-init finished and the guest powered off:\n%s", stderr.String())
			}
		})
	}
}
