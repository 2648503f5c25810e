package provider

import (
	"os"
	"slices"
	"testing"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
	"github.com/cloudlabs/cloudlabs/internal/twin/supervise"
)

// parkedOf reads a Host state's parked output.
func parkedOf(m property.Map) []string {
	var out []string
	v, ok := m.GetOk("parked")
	if !ok || !v.IsArray() {
		return nil
	}
	for _, e := range v.AsArray().All {
		out = append(out, e.AsString())
	}
	return out
}

// read is what `labctl refresh` asks of the provider.
func (f *fixture) read() property.Map {
	f.t.Helper()
	resp, err := f.srv.Read(p.ReadRequest{ID: f.id, Urn: f.urn, Properties: f.state, Inputs: f.inputs})
	if err != nil {
		f.t.Fatalf("Read: %v", err)
	}
	return resp.Properties
}

// TestParkedServiceStaysParked parks memcached the way the pool's twin
// node group does (marker, then stop) and checks that refresh, a plain up
// and an up with a changed role leave it parked with its port closed, and
// that once unparked a plain up brings it back.
func TestParkedServiceStaysParked(t *testing.T) {
	f := newFixture(t)
	t.Cleanup(func() { _ = host{name: "lb", dir: f.dir, bind: f.bind, logf: t.Logf}.remove() })
	if err := f.create(f.role(32, "v1")); err != nil {
		t.Fatalf("Create: %v", err)
	}
	first := f.pids()
	if len(first) != 2 {
		t.Fatalf("services after create %v, want memcached and nginx", first)
	}
	mcAddr := f.bind + ":11211"

	if err := supervise.Park(f.dir, "memcached"); err != nil {
		t.Fatal(err)
	}
	if err := supervise.Stop(supervise.PidFile(f.dir, "memcached"), stopGrace); err != nil {
		t.Fatal(err)
	}
	testkit.WaitClosed(t, mcAddr, 10*time.Second)

	t.Run("refresh reports it parked, not dead", func(t *testing.T) {
		st := f.read()
		if got := parkedOf(st); !slices.Equal(got, []string{"memcached"}) {
			t.Fatalf("parked %v, want [memcached]", got)
		}
		if _, ok := st.Get("services").AsMap().GetOk("memcached"); ok {
			t.Fatalf("services %v list the parked memcached as running", st.Get("services"))
		}
		if !st.Get("healthy").AsBool() {
			t.Fatal("healthy = false for a host whose only stopped service is parked")
		}
		f.state = st
	})
	t.Run("plain up sees no diff", func(t *testing.T) {
		if d := f.up(f.role(32, "v1")); d.HasChanges {
			t.Fatalf("diff %+v for a parked service, want none", d.DetailedDiff)
		}
		if testkit.Listening(mcAddr) {
			t.Fatal("memcached listens after a plain up of a parked slot")
		}
	})
	t.Run("update with a changed role writes files but starts nothing parked", func(t *testing.T) {
		// 64 MB changes memcached's flags (a restart were it running) and
		// v2 the reloadable file nginx serves.
		if d := f.up(f.role(64, "v2")); !d.HasChanges {
			t.Fatal("no diff for a changed role")
		}
		if testkit.Listening(mcAddr) {
			t.Fatal("memcached listens after an update of a parked slot")
		}
		if pid := supervise.Alive(supervise.PidFile(f.dir, "memcached")); pid != 0 {
			t.Fatalf("memcached runs as pid %d after an update of a parked slot", pid)
		}
		if got := parkedOf(f.state); !slices.Equal(got, []string{"memcached"}) {
			t.Fatalf("parked after update %v, want [memcached]", got)
		}
		if got := f.pids()["nginx"]; got != first["nginx"] {
			t.Fatalf("nginx pid %d, want unchanged %d", got, first["nginx"])
		}
		testkit.Eventually(t, "nginx serving v2", 15*time.Second, func() bool { return f.get(8081) == "v2" })
		if f.read().Get("healthy").AsBool() != true {
			t.Fatal("refresh after the update: healthy = false")
		}
	})
	t.Run("unparked comes back with the next up", func(t *testing.T) {
		if err := supervise.Unpark(f.dir, "memcached"); err != nil {
			t.Fatal(err)
		}
		f.state = f.read()
		if f.state.Get("healthy").AsBool() || len(parkedOf(f.state)) != 0 {
			t.Fatalf("refresh of an unparked, stopped memcached: healthy %v parked %v, want false and none",
				f.state.Get("healthy").AsBool(), parkedOf(f.state))
		}
		if d := f.up(f.role(64, "v2")); !d.HasChanges {
			t.Fatal("no diff for an unparked, stopped service")
		}
		if f.pids()["memcached"] == 0 || !testkit.Listening(mcAddr) {
			t.Fatalf("memcached not back after up: services %v", f.pids())
		}
	})
	t.Run("delete stops a parked host and removes its markers", func(t *testing.T) {
		if err := supervise.Park(f.dir, "memcached"); err != nil {
			t.Fatal(err)
		}
		last := f.pids()
		if len(last) != 2 {
			t.Fatalf("services before delete %v, want both (memcached parked but still running)", last)
		}
		if err := f.srv.Delete(p.DeleteRequest{ID: f.id, Urn: f.urn, Properties: f.state}); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		for name, pid := range last {
			if !testkit.ProcessGone(pid) {
				t.Errorf("%s (pid %d) still running after delete", name, pid)
			}
		}
		if _, err := os.Stat(supervise.ParkedFile(f.dir, "memcached")); !os.IsNotExist(err) {
			t.Errorf("parked marker left after delete: %v", err)
		}
		if _, err := os.Stat(f.dir); !os.IsNotExist(err) {
			t.Errorf("host folder left: %v", err)
		}
	})
}
