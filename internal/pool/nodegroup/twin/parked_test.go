package twin

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/blang/semver"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/integration"
	presource "github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/pool/nodegroup"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
	"github.com/cloudlabs/cloudlabs/internal/twin/provider"
)

// slotHost drives the twin provider's Host of one slot as the engine
// would for `labctl up` and `labctl refresh`.
type slotHost struct {
	t      *testing.T
	srv    integration.Server
	urn    presource.URN
	slot   Slot
	id     string
	state  property.Map
	inputs property.Map
}

func newSlotHost(t *testing.T, s Slot) *slotHost {
	t.Helper()
	prov, err := provider.New()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := integration.NewServer(t.Context(), provider.Name, semver.MustParse(provider.Version), integration.WithProvider(prov))
	if err != nil {
		t.Fatal(err)
	}
	return &slotHost{t: t, srv: srv, slot: s, urn: presource.NewURN("test", "cloudlabs", "", "cloudlabs:local:Host", s.Name)}
}

// args are the host's inputs: the slot's cachenode, and a file whose
// content stands for any role change.
func (h *slotHost) args(note string) property.Map {
	r := role.Role{Name: h.slot.Name, Services: []role.Service{h.slot.Service},
		Files: []role.File{{Path: h.slot.Dir + "/etc/note", Content: note, Mode: "0644"}}}
	b, err := json.Marshal(r)
	if err != nil {
		h.t.Fatal(err)
	}
	in := property.NewMap(map[string]property.Value{
		"name": property.New(h.slot.Name), "stateDir": property.New(h.slot.Dir),
		"bind": property.New(h.slot.Bind), "role": property.New(string(b)),
	})
	resp, err := h.srv.Check(p.CheckRequest{Urn: h.urn, State: h.inputs, Inputs: in})
	if err != nil || len(resp.Failures) > 0 {
		h.t.Fatalf("Check: %v %v", err, resp.Failures)
	}
	return resp.Inputs
}

func (h *slotHost) create(note string) {
	h.t.Helper()
	in := h.args(note)
	resp, err := h.srv.Create(p.CreateRequest{Urn: h.urn, Properties: in})
	if err != nil {
		h.t.Fatalf("Create: %v", err)
	}
	h.id, h.state, h.inputs = resp.ID, resp.Properties, in
}

// refresh is `labctl refresh`: Read, whose state becomes the recorded one.
func (h *slotHost) refresh() {
	h.t.Helper()
	resp, err := h.srv.Read(p.ReadRequest{ID: h.id, Urn: h.urn, Properties: h.state, Inputs: h.inputs})
	if err != nil {
		h.t.Fatalf("Read: %v", err)
	}
	h.state = resp.Properties
}

// up is `labctl up`: Diff, and Update when it finds a change.
func (h *slotHost) up(note string) bool {
	h.t.Helper()
	in := h.args(note)
	d, err := h.srv.Diff(p.DiffRequest{ID: h.id, Urn: h.urn, State: h.state, OldInputs: h.inputs, Inputs: in})
	if err != nil {
		h.t.Fatalf("Diff: %v", err)
	}
	if !d.HasChanges {
		return false
	}
	resp, err := h.srv.Update(p.UpdateRequest{ID: h.id, Urn: h.urn, State: h.state, OldInputs: h.inputs, Inputs: in})
	if err != nil {
		h.t.Fatalf("Update: %v", err)
	}
	h.state, h.inputs = resp.Properties, in
	return true
}

func (h *slotHost) delete() error {
	return h.srv.Delete(p.DeleteRequest{ID: h.id, Urn: h.urn, Properties: h.state})
}

func (h *slotHost) healthy() bool { return h.state.Get("healthy").AsBool() }

func (h *slotHost) parked() []string {
	var out []string
	if v, ok := h.state.GetOk("parked"); ok && v.IsArray() {
		for _, e := range v.AsArray().All {
			out = append(out, e.AsString())
		}
	}
	return out
}

// TestParkedSlotSurvivesRefreshAndUp parks a slot through the node group
// the manager uses and checks that the provider's refresh and up (plain,
// and with a changed role) leave it parked with its port closed, and that
// a slot the group starts again is a running, healthy host with no diff.
func TestParkedSlotSurvivesRefreshAndUp(t *testing.T) {
	bin := testkit.BuildApp(t, "apps/cachenode")
	s := cachenodeSlot(t, bin, "pool-1")
	g, err := New([]Slot{s})
	if err != nil {
		t.Fatal(err)
	}
	h := newSlotHost(t, s)
	ctx := context.Background()
	h.create("v1")
	t.Cleanup(func() { _ = h.delete() })
	pid := s.Running()
	if pid == 0 || !h.healthy() {
		t.Fatalf("after create: pid %d healthy %v, want a running, healthy slot", pid, h.healthy())
	}

	if err := g.Stop(ctx, s.Slot); err != nil {
		t.Fatal(err)
	}
	if !s.Parked() {
		t.Fatal("Stop left no parked marker")
	}
	testkit.WaitClosed(t, s.Addr, 10*time.Second)

	h.refresh()
	if got := h.parked(); !slices.Equal(got, []string{"cachenode"}) || !h.healthy() {
		t.Fatalf("refresh of a parked slot: parked %v healthy %v, want [cachenode] and true", got, h.healthy())
	}
	if h.up("v1") {
		t.Fatal("plain up after refresh found a diff for a parked slot")
	}
	if !h.up("v2") {
		t.Fatal("up with a changed role found no diff")
	}
	if s.Running() != 0 || testkit.Listening(s.Addr) {
		t.Fatalf("after refresh and two ups the parked slot runs (pid %d) or listens on %s", s.Running(), s.Addr)
	}
	if got := h.parked(); !slices.Equal(got, []string{"cachenode"}) {
		t.Fatalf("parked after update %v, want [cachenode]", got)
	}

	if err := g.Start(ctx, s.Slot); err != nil {
		t.Fatal(err)
	}
	if s.Parked() || s.Running() == 0 {
		t.Fatalf("after Start: parked %v pid %d, want unparked and running", s.Parked(), s.Running())
	}
	if err := nodegroup.WaitReady(ctx, g, s.Slot, 10*time.Second, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	h.refresh()
	if len(h.parked()) != 0 || !h.healthy() {
		t.Fatalf("refresh of an unparked slot: parked %v healthy %v, want none and true", h.parked(), h.healthy())
	}
	before := s.Running()
	if h.up("v2") {
		t.Fatal("up of a running, unparked slot found a diff")
	}
	if s.Running() != before {
		t.Fatalf("up replaced the slot's process: pid %d, was %d", s.Running(), before)
	}
}
