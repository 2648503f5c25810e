package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

// Riak cannot run here: its output is canned, in the format Riak KV prints
// (`riak-admin member-status`, `riak admin member-status` from Riak 3).
const (
	memberStatusHeader = `================================= Membership ==================================
Status     Ring    Pending    Node
-------------------------------------------------------------------------------
`
	memberStatusRule = "-------------------------------------------------------------------------------\n"

	// Three valid members.
	riakThreeValid = memberStatusHeader +
		"valid      34.4%      --      'riak@10.0.1.101'\n" +
		"valid      32.8%      --      'riak@10.0.1.102'\n" +
		"valid      32.8%      --      'riak@10.0.1.103'\n" +
		memberStatusRule +
		"Valid:3 / Leaving:0 / Exiting:0 / Joining:0 / Down:0\n"

	// The third node still joining, behind a notice riak prints first.
	riakOneJoining = "Attempting to restart script through sudo -u riak\n" + memberStatusHeader +
		"valid      56.3%     50.0%    'riak@10.0.1.101'\n" +
		"valid      43.8%     50.0%    'riak@10.0.1.102'\n" +
		"joining     0.0%      0.0%    'riak@10.0.1.103'\n" +
		memberStatusRule +
		"Valid:2 / Leaving:0 / Exiting:0 / Joining:1 / Down:0\n"

	// A node the stack does not know, valid in the ring.
	riakStranger = memberStatusHeader +
		"valid      25.0%      --      'riak@10.0.1.101'\n" +
		"valid      25.0%      --      'riak@10.0.1.102'\n" +
		"valid      25.0%      --      'riak@10.0.1.103'\n" +
		"valid      25.0%      --      'riak@10.0.9.9'\n" +
		memberStatusRule +
		"Valid:4 / Leaving:0 / Exiting:0 / Joining:0 / Down:0\n"
)

var riakNames = []string{"riak@10.0.1.101", "riak@10.0.1.102", "riak@10.0.1.103"}

// fakeTransport answers Run with canned output and records the commands.
type fakeTransport struct {
	kind string
	out  string
	exit int
	err  error
	mu   sync.Mutex
	ran  []string
}

func (f *fakeTransport) Kind() string { return f.kind }
func (f *fakeTransport) Run(_ context.Context, cmd string) (string, int, error) {
	f.mu.Lock()
	f.ran = append(f.ran, cmd)
	f.mu.Unlock()
	return f.out, f.exit, f.err
}
func (f *fakeTransport) ReadFile(context.Context, string) ([]byte, error) {
	return nil, errors.New("fake")
}
func (f *fakeTransport) Hash(context.Context, string) (string, error) { return "", errors.New("fake") }
func (f *fakeTransport) Dial(context.Context, int) (net.Conn, error) {
	return nil, errors.New("fake")
}
func (f *fakeTransport) Service(context.Context, role.Service) (ServiceState, error) {
	return ServiceState{}, errors.New("fake")
}

func TestParseMemberStatus(t *testing.T) {
	ms, err := ParseMemberStatus(riakOneJoining)
	if err != nil {
		t.Fatal(err)
	}
	want := []RiakMember{{"valid", "riak@10.0.1.101"}, {"valid", "riak@10.0.1.102"}, {"joining", "riak@10.0.1.103"}}
	if len(ms) != len(want) {
		t.Fatalf("parsed %d members %v, want %d", len(ms), ms, len(want))
	}
	for i := range want {
		if ms[i] != want[i] {
			t.Errorf("member %d: %+v, want %+v", i, ms[i], want[i])
		}
	}
	if _, err := ParseMemberStatus("Node is not running!\n"); err == nil {
		t.Error("output without the membership table parsed")
	}
}

// TestRiakMembers: the ring's valid members against riak:nodes and the
// machines' node names, through the transport seam.
func TestRiakMembers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		out    string
		exit   int
		err    error
		want   int
		nodes  []string
		status Status
		says   []string
	}{
		{"all valid", riakThreeValid, 0, nil, 3, riakNames, OK, []string{"3 valid members: riak@10.0.1.101 riak@10.0.1.102 riak@10.0.1.103"}},
		{"all valid, names unknown", riakThreeValid, 0, nil, 3, nil, OK, []string{"3 valid members"}},
		{"one joining", riakOneJoining, 0, nil, 3, riakNames, Critical, []string{"2 valid members", "missing: riak@10.0.1.103 (joining)"}},
		{"one joining, names unknown", riakOneJoining, 0, nil, 3, nil, Critical, []string{"2 valid members", "not valid: riak@10.0.1.103 (joining)"}},
		{"a stranger", riakStranger, 0, nil, 3, riakNames, Critical, []string{"4 valid members", "not expected: riak@10.0.9.9"}},
		{"fewer wanted", riakThreeValid, 0, nil, 2, nil, Critical, []string{"3 valid members"}},
		{"riak down", "Node 'riak@10.0.1.101' not responding to pings.\n", 1, nil, 3, riakNames, Critical, []string{"exit 1", "not responding to pings"}},
		{"no connection", "", -1, errors.New("ssh 203.0.113.7:22: connection refused"), 3, riakNames, Unknown, []string{"connection refused"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ft := &fakeTransport{kind: "ssh", out: tc.out, exit: tc.exit, err: tc.err}
			c := RiakMembers(ft, tc.want, tc.nodes)
			if c.ID() != "riak/members" || !c.Eventually {
				t.Errorf("check %s eventually=%v, want riak/members retried", c.ID(), c.Eventually)
			}
			o := c.Probe(t.Context())
			if o.Status != tc.status {
				t.Errorf("status %s, want %s: expected %s, found %s", o.Status, tc.status, o.Expected, o.Found)
			}
			for _, s := range tc.says {
				if !strings.Contains(o.Found, s) {
					t.Errorf("found %q does not say %q", o.Found, s)
				}
			}
			if !strings.Contains(o.Expected, fmt.Sprintf("%d valid members", tc.want)) {
				t.Errorf("expected %q does not name %d members", o.Expected, tc.want)
			}
			if len(ft.ran) != 1 || ft.ran[0] != "sudo -n riak admin member-status" {
				t.Errorf("ran %q, want one `sudo -n riak admin member-status`", ft.ran)
			}
		})
	}
}

// countingTransport records what goes through a real transport.
type countingTransport struct {
	Transport
	mu    sync.Mutex
	ran   []string
	dials []int
}

func (c *countingTransport) Run(ctx context.Context, cmd string) (string, int, error) {
	c.mu.Lock()
	c.ran = append(c.ran, cmd)
	c.mu.Unlock()
	return c.Transport.Run(ctx, cmd)
}

func (c *countingTransport) Dial(ctx context.Context, port int) (net.Conn, error) {
	c.mu.Lock()
	c.dials = append(c.dials, port)
	c.mu.Unlock()
	return c.Transport.Dial(ctx, port)
}

// cacheNode is a real cachenode on loopback.
type cacheNode struct {
	proc     *testkit.Process
	endpoint string
	admin    string
}

func startCacheNodes(t *testing.T, n int) ([]*cacheNode, string) {
	t.Helper()
	bin := testkit.BuildApp(t, "apps/cachenode")
	token := "verify-test-token"
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var ns []*cacheNode
	for range n {
		ep := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
		ad := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
		p := testkit.Start(t, ep, bin, "--listen", ep, "--admin-listen", ad, "--admin-token-file", tokenFile,
			"--capacity", "64MB", "--policy", "lru")
		testkit.WaitTCP(t, ad, 10*time.Second)
		ns = append(ns, &cacheNode{proc: p, endpoint: ep, admin: "http://" + ad})
	}
	return ns, token
}

func poolOf(ns []*cacheNode, via Transport) []PoolNode {
	var out []PoolNode
	for i, n := range ns {
		out = append(out, PoolNode{Name: fmt.Sprintf("cachepool-node-%d", i+1), Endpoint: n.endpoint, Admin: n.admin, Via: via})
	}
	return out
}

// TestCachePoolAgree runs the check against three real cache nodes, from
// this computer (the twin) and through each node's transport with curl
// (a cloud's SSH; here the local transport on loopback): agreeing nodes
// pass, a policy changed through one node's admin API names that node and
// both values, a stopped node is named.
func TestCachePoolAgree(t *testing.T) {
	ns, token := startCacheNodes(t, 3)
	ways := []struct {
		name string
		via  Transport
	}{
		{"direct", nil},
		{"through the node's transport", &countingTransport{Transport: Local{Dir: t.TempDir(), Bind: "127.0.0.1"}}},
	}
	probe := func(t *testing.T, via Transport) Outcome {
		t.Helper()
		c := CachePoolAgree(poolOf(ns, via), nil)
		if c.ID() != "cachepool/agree" {
			t.Errorf("check %s, want cachepool/agree", c.ID())
		}
		return c.Probe(t.Context())
	}

	for _, w := range ways {
		o := probe(t, w.via)
		if o.Status != OK || !strings.Contains(o.Found, "3 nodes answer VERSION") || !strings.Contains(o.Found, "capacity_bytes 67108864, policy lru") {
			t.Errorf("%s, agreeing pool: %s: %s", w.name, o.Status, o.Found)
		}
	}
	// Through a transport, each node was dialed and curled from there.
	ct := ways[1].via.(*countingTransport)
	if len(ct.dials) != 3 || len(ct.ran) != 3 {
		t.Fatalf("through the transport: %d dials, %d commands; want 3 each", len(ct.dials), len(ct.ran))
	}
	for i, n := range ns {
		if !strings.Contains(strings.Join(ct.ran, "\n"), "curl -fsS --max-time 10 '"+n.admin+"/stats'") {
			t.Errorf("node %d: no curl of %s/stats in %q", i+1, n.admin, ct.ran)
		}
		_, port, _ := net.SplitHostPort(n.endpoint)
		if !strings.Contains(fmt.Sprint(ct.dials), port) {
			t.Errorf("node %d: port %s not dialed through the transport (dialed %v)", i+1, port, ct.dials)
		}
	}

	// Change node 2's policy through its admin API, as an operator would.
	req, err := http.NewRequest(http.MethodPut, ns[1].admin+"/config", strings.NewReader(`{"policy": "random"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT /config: status %d", resp.StatusCode)
	}
	for _, w := range ways {
		o := probe(t, w.via)
		if o.Status != Critical {
			t.Errorf("%s, node 2 on another policy: %s: %s", w.name, o.Status, o.Found)
		}
		for _, s := range []string{"cachepool-node-2 has capacity_bytes 67108864, policy random", "cachepool-node-1, cachepool-node-3 have capacity_bytes 67108864, policy lru"} {
			if !strings.Contains(o.Found, s) {
				t.Errorf("%s: found %q does not say %q", w.name, o.Found, s)
			}
		}
		if strings.Contains(o.Found, "cachepool-node-1 has") || strings.Contains(o.Found, "cachepool-node-3 has") {
			t.Errorf("%s: found %q blames an agreeing node", w.name, o.Found)
		}
	}

	ns[2].proc.Stop()
	for _, w := range ways {
		o := probe(t, w.via)
		if o.Status != Critical || !strings.Contains(o.Found, "not answering: cachepool-node-3: version on "+ns[2].endpoint) {
			t.Errorf("%s, node 3 stopped: %s: %s", w.name, o.Status, o.Found)
		}
		if strings.Contains(o.Found, "cachepool-node-1:") || strings.Contains(o.Found, "cachepool-node-2:") {
			t.Errorf("%s: found %q names a node that answers as not answering", w.name, o.Found)
		}
	}
}

// poolAPI stands for the manager's GET /api/pool (the manager needs
// PostgreSQL; its own tests cover the endpoint): it answers the members
// set last and records the Authorization it was sent.
type poolAPI struct {
	*httptest.Server
	members, sentAuth atomic.Value
}

func startPoolAPI(t *testing.T, members ...string) *poolAPI {
	t.Helper()
	p := &poolAPI{}
	p.set(members...)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.sentAuth.Store(r.Header.Get("Authorization"))
		if r.URL.Path != "/api/pool" {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"epoch": 3, "nodes": p.members.Load()})
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *poolAPI) set(members ...string) { p.members.Store(members) }

func (p *poolAPI) auth() string { s, _ := p.sentAuth.Load().(string); return s }

// TestCachePoolAgreeAsksOnlyMembers: with the pool's membership from its
// manager, a parked slot (stopped) is not asked; a member that is no slot
// of the stack fails; the membership is read with the manager's token.
func TestCachePoolAgreeAsksOnlyMembers(t *testing.T) {
	ns, _ := startCacheNodes(t, 3)
	ns[2].proc.Stop() // parked
	mgr := startPoolAPI(t, ns[0].endpoint, ns[1].endpoint)

	o := CachePoolAgree(poolOf(ns, nil), ManagerMembers(mgr.URL, "tok", "")).Probe(t.Context())
	if o.Status != OK || !strings.Contains(o.Found, "2 nodes answer") {
		t.Errorf("members 1 and 2, slot 3 parked: %s: %s", o.Status, o.Found)
	}
	if got := mgr.auth(); got != "Bearer tok" {
		t.Errorf("membership read with Authorization %q, want the manager's token", got)
	}
	mgr.set(ns[0].endpoint, ns[1].endpoint, "127.0.0.1:1")
	o = CachePoolAgree(poolOf(ns, nil), ManagerMembers(mgr.URL, "tok", "")).Probe(t.Context())
	if o.Status != Critical || !strings.Contains(o.Found, "no slot of the stack: 127.0.0.1:1") {
		t.Errorf("a member that is no slot: %s: %s", o.Status, o.Found)
	}
	mgr.set(ns[0].endpoint, ns[2].endpoint)
	o = CachePoolAgree(poolOf(ns, nil), ManagerMembers(mgr.URL, "tok", "")).Probe(t.Context())
	if o.Status != Critical || !strings.Contains(o.Found, "cachepool-node-3") {
		t.Errorf("a member that is down: %s: %s", o.Status, o.Found)
	}
}

// TestClusterChecksDerived: which of the checks that reach into machines
// a stack gets, from its platform, outputs and the machines verify reaches.
func TestClusterChecksDerived(t *testing.T) {
	pool := Outputs{
		"cachepoolEndpoints": []any{"10.0.2.1:11211", "10.0.2.2:11211"},
		"cachepoolAdmin":     []any{"http://10.0.2.1:11300", "http://10.0.2.2:11300"},
		"riakNodes":          []any{"10.0.1.101", "10.0.1.102", "10.0.1.103"},
	}
	ids := func(cs []Check) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.ID())
		}
		return out
	}

	// The twin: the pool from here, no Riak even if riak:nodes is set.
	cs, notes := pool.ClusterChecks("local", 2, nil)
	if got := ids(cs); len(got) != 1 || got[0] != "cachepool/agree" || len(notes) != 0 {
		t.Errorf("twin: checks %v, notes %v; want cachepool/agree only", got, notes)
	}

	// A cloud with SSH closed: neither runs, both are noted.
	cs, notes = pool.ClusterChecks("aws", 3, nil)
	if len(cs) != 0 || len(notes) != 2 || !strings.Contains(notes[0], "cachepool-node-1, cachepool-node-2 are not reached over SSH") || !strings.Contains(notes[1], "riak/members is skipped") {
		t.Errorf("cloud without SSH: checks %v, notes %q", ids(cs), notes)
	}

	// A cloud with SSH: Riak on the first Riak machine's transport.
	riak2 := &fakeTransport{kind: "ssh", out: riakThreeValid}
	riak1 := &fakeTransport{kind: "ssh", out: riakThreeValid}
	ms := []Machine{
		{Name: "phonebook-riak-node-2", Role: role.Role{Name: "riak"}, Transport: riak2},
		{Name: "phonebook-riak-node-1", Role: role.Role{Name: "riak"}, Transport: riak1},
		{Name: "cachepool-node-1", Role: role.Role{Name: "cachenode"}, Transport: &fakeTransport{kind: "ssh"}},
		{Name: "cachepool-node-2", Role: role.Role{Name: "cachenode"}, Transport: &fakeTransport{kind: "ssh"}},
	}
	cs, notes = pool.ClusterChecks("aws", 3, ms)
	got := ids(cs)
	if len(got) != 2 || got[0] != "cachepool/agree" || got[1] != "riak/members" || len(notes) != 0 {
		t.Fatalf("cloud with SSH: checks %v, notes %v; want cachepool/agree and riak/members", got, notes)
	}
	if o := cs[1].Probe(t.Context()); o.Status != OK || !strings.Contains(o.Expected, strings.Join(riakNames, " ")) {
		t.Errorf("riak/members from the outputs: %s, expected %s, found %s", o.Status, o.Expected, o.Found)
	}
	if len(riak1.ran) != 1 || len(riak2.ran) != 0 {
		t.Errorf("riak/members ran %d commands on node 1 and %d on node 2, want 1 on node 1", len(riak1.ran), len(riak2.ran))
	}

	// One pool node not reached over SSH: the pool is noted, not checked.
	cs, notes = pool.ClusterChecks("gcp", 3, ms[:3])
	if got := ids(cs); len(got) != 1 || got[0] != "riak/members" || len(notes) != 1 || !strings.Contains(notes[0], "cachepool-node-2 is not reached") {
		t.Errorf("cloud, node 2 without SSH: checks %v, notes %q", got, notes)
	}

	// No phone book (riak:nodes 0 then) and no pool: nothing.
	if cs, notes := (Outputs{}).ClusterChecks("aws", 0, ms); len(cs)+len(notes) != 0 {
		t.Errorf("no pool, no Riak: checks %v, notes %v", ids(cs), notes)
	}
}

// TestCloudPoolMembershipAskedOnTheManagersMachine: on a cloud the
// manager's API is private, so cachepool/agree asks its membership over
// SSH on the manager's machine (a real sshd here; the manager's API an
// in-test server behind it) and the nodes over SSH on theirs (curl on the
// machine): a pool grown since up is checked as it is now, not as up
// left it, and a member verify did not reach fails, named.
func TestCloudPoolMembershipAskedOnTheManagersMachine(t *testing.T) {
	ns, _ := startCacheNodes(t, 3)
	ns[2].proc.Stop() // parked: its instance stopped, not reached over SSH
	mgr := startPoolAPI(t, ns[0].endpoint, ns[1].endpoint)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(mgr.URL, "http://"))

	s := startSSHD(t)
	via := dialSSH(t, s.config())
	o := Outputs{
		"cachepoolSlots":     []any{ns[0].endpoint, ns[1].endpoint, ns[2].endpoint},
		"cachepoolEndpoints": []any{ns[0].endpoint}, // as up left it, before a grow
		"cachepoolAdmin":     []any{ns[0].admin, ns[1].admin, ns[2].admin},
		// The manager's private address: only its own machine reaches it.
		"managerUrl":   "http://192.0.2.10:" + port,
		"managerToken": "tok",
	}
	ms := []Machine{
		{Name: "cachepool-node-1", Role: role.Role{Name: "cachenode"}, Transport: via},
		{Name: "cachepool-node-2", Role: role.Role{Name: "cachenode"}, Transport: via},
		{Name: ManagerMachine, Role: role.Role{Name: "manager"}, Transport: via},
	}
	cs, notes := o.ClusterChecks("aws", 0, ms)
	if len(cs) != 1 || cs[0].ID() != "cachepool/agree" || len(notes) != 0 {
		t.Fatalf("checks %d, notes %q; want cachepool/agree and no note", len(cs), notes)
	}
	if out := cs[0].Probe(t.Context()); out.Status != OK || !strings.Contains(out.Found, "2 nodes answer") {
		t.Errorf("grown to nodes 1 and 2 since up: %s: %s", out.Status, out.Found)
	}
	if got := mgr.auth(); got != "Bearer tok" {
		t.Errorf("membership asked with Authorization %q, want the manager's token", got)
	}

	mgr.set(ns[0].endpoint, ns[1].endpoint, ns[2].endpoint)
	if out := cs[0].Probe(t.Context()); out.Status != Critical || !strings.Contains(out.Found, "cachepool-node-3 is not reached over SSH") {
		t.Errorf("node 3 a member but not reached: %s: %s", out.Status, out.Found)
	}

	// Without the manager's machine: the members up left, said in a note.
	cs, notes = o.ClusterChecks("aws", 0, ms[:2])
	if len(cs) != 1 || len(notes) != 1 || !strings.Contains(notes[0], "members up left") {
		t.Fatalf("without the manager: checks %d, notes %q", len(cs), notes)
	}
	if out := cs[0].Probe(t.Context()); out.Status != OK || !strings.Contains(out.Found, "1 nodes answer") {
		t.Errorf("the members up left (node 1): %s: %s", out.Status, out.Found)
	}
}
