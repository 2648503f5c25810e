package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/blang/semver"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/integration"
	presource "github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/cloudlabs/cloudlabs/internal/machine/role"
)

// rig drives the provider's resources through its RPC surface, as the
// engine would, for tests that need no real memcached or nginx.
type rig struct {
	t   *testing.T
	srv integration.Server
}

func newRig(t *testing.T) *rig {
	t.Helper()
	prov, err := New()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := integration.NewServer(t.Context(), "cloudlabs", semver.MustParse(Version), integration.WithProvider(prov))
	if err != nil {
		t.Fatal(err)
	}
	return &rig{t: t, srv: srv}
}

// res is one resource the rig created.
type res struct {
	r             *rig
	urn           presource.URN
	id            string
	state, inputs property.Map
}

func (r *rig) check(urn presource.URN, old, in property.Map) property.Map {
	r.t.Helper()
	resp, err := r.srv.Check(p.CheckRequest{Urn: urn, State: old, Inputs: in})
	if err != nil || len(resp.Failures) > 0 {
		r.t.Fatalf("Check %s: %v %v", urn.Name(), err, resp.Failures)
	}
	return resp.Inputs
}

func (r *rig) create(typ, name string, in property.Map) (*res, error) {
	r.t.Helper()
	urn := presource.NewURN("test", "cloudlabs", "", tokens.Type(typ), name)
	in = r.check(urn, property.Map{}, in)
	resp, err := r.srv.Create(p.CreateRequest{Urn: urn, Properties: in})
	if err != nil {
		return nil, err
	}
	return &res{r: r, urn: urn, id: resp.ID, state: resp.Properties, inputs: in}, nil
}

func (x *res) diff(in property.Map) p.DiffResponse {
	x.r.t.Helper()
	in = x.r.check(x.urn, x.inputs, in)
	resp, err := x.r.srv.Diff(p.DiffRequest{ID: x.id, Urn: x.urn, State: x.state, OldInputs: x.inputs, Inputs: in})
	if err != nil {
		x.r.t.Fatalf("Diff: %v", err)
	}
	return resp
}

func (x *res) update(in property.Map) error {
	x.r.t.Helper()
	in = x.r.check(x.urn, x.inputs, in)
	resp, err := x.r.srv.Update(p.UpdateRequest{ID: x.id, Urn: x.urn, State: x.state, OldInputs: x.inputs, Inputs: in})
	if err != nil {
		return err
	}
	x.state, x.inputs = resp.Properties, in
	return nil
}

func (x *res) delete() error {
	return x.r.srv.Delete(p.DeleteRequest{ID: x.id, Urn: x.urn, Properties: x.state})
}

var bindSeq atomic.Int32

// testBind is a loopback address of this test process alone.
func testBind() string {
	n := int(bindSeq.Add(1))
	return fmt.Sprintf("127.98.%d.%d", os.Getpid()&255, n%254+1)
}

// hostArgs are a Host's inputs; secrets and dataDir are optional.
func hostArgs(t *testing.T, dir, bind string, r role.Role, secrets map[string]string, dataDir string) property.Map {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]property.Value{
		"name":     property.New(r.Name),
		"stateDir": property.New(dir),
		"bind":     property.New(bind),
		"role":     property.New(string(b)),
	}
	if secrets != nil {
		sm := map[string]property.Value{}
		for k, v := range secrets {
			sm[k] = property.New(v)
		}
		m["secrets"] = property.New(property.NewMap(sm))
	}
	if dataDir != "" {
		m["dataDir"] = property.New(dataDir)
	}
	return property.NewMap(m)
}

// removeHost stops and removes whatever a test left in dir.
func removeHost(t *testing.T, dir string) {
	t.Cleanup(func() { _ = host{name: "cleanup", dir: dir, logf: t.Logf, warnf: t.Logf}.remove() })
}

// logs records what the provider logs through the default slog logger,
// which is where pulumi-go-provider sends it when no engine is attached.
type logs struct {
	mu   sync.Mutex
	msgs []string
}

func captureLogs(t *testing.T) *logs {
	l := &logs{}
	prev := slog.Default()
	slog.SetDefault(slog.New(l))
	t.Cleanup(func() { slog.SetDefault(prev) })
	return l
}

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }
func (l *logs) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Level.String()+" "+r.Message)
	return nil
}
func (l *logs) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logs) WithGroup(string) slog.Handler      { return l }

// matching returns the messages containing every one of words.
func (l *logs) matching(words ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
next:
	for _, m := range l.msgs {
		for _, w := range words {
			if !strings.Contains(m, w) {
				continue next
			}
		}
		out = append(out, m)
	}
	return out
}

func (l *logs) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.msgs...)
}
