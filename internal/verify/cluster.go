package verify

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/pool/poolapi"
	"github.com/cloudlabs/cloudlabs/internal/twin/hostnet"
)

// RiakMember is one row of `riak admin member-status`: a node and its
// membership status (valid, joining, leaving, exiting, down).
type RiakMember struct {
	Status string
	Node   string
}

// riakStatuses are the statuses member-status prints in its first column.
var riakStatuses = []string{"valid", "joining", "leaving", "exiting", "down"}

// ParseMemberStatus reads the membership table `riak admin member-status`
// (`riak-admin member-status` before Riak 3) prints:
//
//	================================= Membership ==================================
//	Status     Ring    Pending    Node
//	-------------------------------------------------------------------------------
//	valid      56.3%     50.0%    'riak@10.0.1.101'
//	valid      43.8%     50.0%    'riak@10.0.1.102'
//	joining     0.0%     --       'riak@10.0.1.103'
//	-------------------------------------------------------------------------------
//	Valid:2 / Leaving:0 / Exiting:0 / Joining:1 / Down:0
//
// Lines around the table (a sudo notice) are ignored; output without the
// table's header is an error.
func ParseMemberStatus(out string) ([]RiakMember, error) {
	var ms []RiakMember
	header := false
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[0] == "Status" && f[1] == "Ring" && f[2] == "Pending" && f[3] == "Node" {
			header = true
			continue
		}
		if !header || len(f) < 4 || !slices.Contains(riakStatuses, strings.ToLower(f[0])) {
			continue
		}
		node := strings.Trim(f[len(f)-1], `'"`)
		if !strings.Contains(node, "@") {
			continue
		}
		ms = append(ms, RiakMember{Status: strings.ToLower(f[0]), Node: node})
	}
	if !header {
		first, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
		return nil, fmt.Errorf("no membership table (no Status/Ring/Pending/Node header) in the output: %q", first)
	}
	return ms, nil
}

// RiakMembersCommand is what the Riak check runs on a Riak machine.
const RiakMembersCommand = "riak admin member-status"

// RiakMembers runs `riak admin member-status` through t (a Riak machine's
// transport) and compares the ring's valid members with want, the stack's
// riak:nodes, and, when nodes is not empty, with those node names
// (riak@<private address>): any difference is CRITICAL, naming the
// missing and the extra nodes. Over SSH the command goes through `sudo -n`
// (riak runs as root or riak only).
func RiakMembers(t Transport, want int, nodes []string) Check {
	exp := fmt.Sprintf("%d valid members (riak:nodes)", want)
	if len(nodes) > 0 {
		exp += ": " + strings.Join(sorted(nodes), " ")
	}
	cmd := RiakMembersCommand
	if t.Kind() == "ssh" {
		cmd = "sudo -n " + cmd
	}
	return Check{Machine: "riak", Name: "members", Eventually: true, Probe: func(ctx context.Context) Outcome {
		out, code, err := t.Run(ctx, cmd)
		if err != nil {
			return Outcome{Status: Unknown, Expected: exp, Found: err.Error()}
		}
		if code != 0 {
			return Outcome{Status: Critical, Expected: exp, Found: fmt.Sprintf("%s: exit %d: %s", cmd, code, firstLines(out, 3))}
		}
		ms, err := ParseMemberStatus(out)
		if err != nil {
			return Outcome{Status: Critical, Expected: exp, Found: err.Error()}
		}
		var valid []string
		status := map[string]string{}
		for _, m := range ms {
			status[m.Node] = m.Status
			if m.Status == "valid" {
				valid = append(valid, m.Node)
			}
		}
		sort.Strings(valid)
		found := fmt.Sprintf("%d valid members", len(valid))
		if len(valid) > 0 {
			found += ": " + strings.Join(valid, " ")
		}
		bad := len(valid) != want
		if len(nodes) > 0 {
			var missing, extra []string
			for _, n := range sorted(nodes) {
				if status[n] == "valid" {
					continue
				}
				if s := status[n]; s != "" {
					n += " (" + s + ")"
				}
				missing = append(missing, n)
			}
			for _, n := range valid {
				if !slices.Contains(nodes, n) {
					extra = append(extra, n)
				}
			}
			if len(missing) > 0 {
				found += "; missing: " + strings.Join(missing, " ")
			}
			if len(extra) > 0 {
				found += "; not expected: " + strings.Join(extra, " ")
			}
			bad = bad || len(missing)+len(extra) > 0
		} else {
			var other []string
			for _, m := range ms {
				if m.Status != "valid" {
					other = append(other, m.Node+" ("+m.Status+")")
				}
			}
			if len(other) > 0 {
				found += "; not valid: " + strings.Join(other, " ")
			}
		}
		if bad {
			return Outcome{Status: Critical, Expected: exp, Found: found}
		}
		return Outcome{Status: OK, Expected: exp, Found: found}
	}}
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, " / ")
}

// PoolNode is one cache node as the pool check reaches it.
type PoolNode struct {
	// Name is the node's machine (cachepool-node-N).
	Name string
	// Endpoint is its memcached host:port (cachepoolEndpoints).
	Endpoint string
	// Admin is its admin API's base URL (cachepoolAdmin).
	Admin string
	// Via, when set, is the node's own transport (SSH on a cloud): the
	// memcached port is dialed from the node itself, and GET /stats runs
	// as curl on the node (its admin API listens on its private address
	// only). nil: both from this computer (the twin).
	Via Transport
	// NetNS, with Via nil, is the network namespace to reach the node
	// from: its own twin host's in netns mode, where this computer is the
	// internet; "" is this computer's.
	NetNS string
	// Unreached, when set, says why the node has no transport on a cloud
	// (its machine was not reached over SSH): asking it fails with that.
	Unreached string
}

// httpFrom is a client whose connections start in network namespace ns
// ("" = this computer's).
func httpFrom(ns string) *http.Client {
	if ns == "" {
		return client
	}
	return &http.Client{Timeout: client.Timeout, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return hostnet.DialContext(ctx, ns, network, addr)
		},
	}}
}

// nodeConfig is what one node said.
type nodeConfig struct {
	version  string
	capacity int64
	policy   string
	err      error
}

func (c nodeConfig) values() string {
	return fmt.Sprintf("capacity_bytes %d, policy %s", c.capacity, c.policy)
}

// CachePoolAgree checks that every active node of the pool answers the
// memcached `version` command and that every node's admin GET /stats
// reports the same capacity_bytes and policy. A node that does not answer
// is CRITICAL by name; nodes that disagree are CRITICAL with their values
// and the values of the rest.
//
// members, when set, gives the pool's live membership (the manager's GET
// /api/pool): then only the slots among it are asked, and a member that
// is none of the slots is CRITICAL; nil asks every node given.
func CachePoolAgree(slots []PoolNode, members func(ctx context.Context) ([]string, error)) Check {
	exp := fmt.Sprintf("each of %d nodes answers version and reports the same capacity_bytes and policy in GET /stats", len(slots))
	if members != nil {
		exp = "each active node (the manager's GET /api/pool) answers version and reports the same capacity_bytes and policy in GET /stats"
	}
	return Check{Machine: "cachepool", Name: "agree", Eventually: true, Probe: func(ctx context.Context) Outcome {
		nodes := slots
		if members != nil {
			active, err := members(ctx)
			if err != nil {
				return Outcome{Status: Critical, Expected: exp, Found: "the pool's membership: " + err.Error()}
			}
			var stray []string
			nodes, stray = activeSlots(slots, active)
			if len(stray) > 0 {
				return Outcome{Status: Critical, Expected: exp, Found: "members that are no slot of the stack: " + strings.Join(stray, ", ")}
			}
		}
		if len(nodes) == 0 {
			return Outcome{Status: Critical, Expected: exp, Found: "no nodes in the stack's outputs (cachepoolSlots, cachepoolEndpoints) or the pool's membership"}
		}
		got := make([]nodeConfig, len(nodes))
		var wg sync.WaitGroup
		for i, n := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i] = askNode(ctx, n)
			}()
		}
		wg.Wait()
		var dead []string
		for i, n := range nodes {
			if got[i].err != nil {
				dead = append(dead, n.Name+": "+got[i].err.Error())
			}
		}
		if len(dead) > 0 {
			return Outcome{Status: Critical, Expected: exp, Found: "not answering: " + strings.Join(dead, "; ")}
		}
		// The values most nodes hold (the first node's on a tie) are the
		// pool's; every node holding others is named with its own.
		count := map[string]int{}
		for _, c := range got {
			count[c.values()]++
		}
		major := got[0].values()
		for _, c := range got {
			if count[c.values()] > count[major] {
				major = c.values()
			}
		}
		var odd, agree []string
		for i, n := range nodes {
			if v := got[i].values(); v != major {
				odd = append(odd, n.Name+" has "+v)
			} else {
				agree = append(agree, n.Name)
			}
		}
		if len(odd) > 0 {
			return Outcome{Status: Critical, Expected: exp, Found: fmt.Sprintf("disagree: %s; where %s %s %s",
				strings.Join(odd, "; "), strings.Join(agree, ", "), plural(len(agree), "has", "have"), major)}
		}
		return Outcome{Status: OK, Expected: exp, Found: fmt.Sprintf("%d nodes answer %s; all have %s", len(nodes), got[0].version, major)}
	}}
}

// activeSlots picks the slots whose endpoint is among the members, in slot
// order, and lists the members that are none of the slots.
func activeSlots(slots []PoolNode, members []string) ([]PoolNode, []string) {
	known := map[string]bool{}
	for _, n := range slots {
		known[n.Endpoint] = true
	}
	in := map[string]bool{}
	var stray []string
	for _, m := range members {
		in[m] = true
		if !known[m] {
			stray = append(stray, m)
		}
	}
	var out []PoolNode
	for _, n := range slots {
		if in[n.Endpoint] {
			out = append(out, n)
		}
	}
	return out, stray
}

// ManagerMembers asks the manager's GET /api/pool (with its token) for the
// pool's members, from network namespace netns ("": this computer's own).
func ManagerMembers(managerURL, token, netns string) func(ctx context.Context) ([]string, error) {
	return managerMembers(httpFrom(netns), managerURL, token)
}

// ManagerMembersOver asks the same through a transport to the manager's
// own machine (SSH on a cloud, where the manager's API is private): the
// request goes to the manager's port on that machine.
func ManagerMembersOver(t Transport, managerURL, token string) func(ctx context.Context) ([]string, error) {
	u, err := url.Parse(managerURL)
	var port int
	if err == nil {
		port, err = strconv.Atoi(u.Port())
	}
	if err != nil {
		return func(context.Context) ([]string, error) {
			return nil, fmt.Errorf("managerUrl %q: want http://host:port", managerURL)
		}
	}
	c := &http.Client{Timeout: client.Timeout, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return t.Dial(ctx, port) },
	}}
	return managerMembers(c, managerURL, token)
}

func managerMembers(c *http.Client, managerURL, token string) func(ctx context.Context) ([]string, error) {
	return func(ctx context.Context) ([]string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(managerURL, "/")+"/api/pool", nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: status %d", req.URL, resp.StatusCode)
		}
		var pool poolapi.Pool
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&pool); err != nil {
			return nil, fmt.Errorf("GET %s: %w", req.URL, err)
		}
		return pool.Nodes, nil
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// askNode sends `version` to the node's memcached port and reads its
// admin GET /stats.
func askNode(ctx context.Context, n PoolNode) nodeConfig {
	var c nodeConfig
	if n.Unreached != "" {
		c.err = errors.New(n.Unreached)
		return c
	}
	c.version, c.err = memcachedVersion(ctx, n)
	if c.err != nil {
		c.err = fmt.Errorf("version on %s: %w", n.Endpoint, c.err)
		return c
	}
	if n.Admin == "" {
		c.err = fmt.Errorf("no admin URL in the stack's outputs (cachepoolAdmin)")
		return c
	}
	body, err := adminStats(ctx, n)
	if err != nil {
		c.err = fmt.Errorf("GET %s/stats: %w", strings.TrimRight(n.Admin, "/"), err)
		return c
	}
	var s struct {
		CapacityBytes *int64  `json:"capacity_bytes"`
		Policy        *string `json:"policy"`
	}
	if err := json.Unmarshal(body, &s); err != nil || s.CapacityBytes == nil || s.Policy == nil {
		c.err = fmt.Errorf("GET %s/stats: no capacity_bytes and policy in %q", strings.TrimRight(n.Admin, "/"), firstLines(string(body), 1))
		return c
	}
	c.capacity, c.policy = *s.CapacityBytes, *s.Policy
	return c
}

func memcachedVersion(ctx context.Context, n PoolNode) (string, error) {
	var conn net.Conn
	var err error
	if n.Via != nil {
		_, p, err := net.SplitHostPort(n.Endpoint)
		if err != nil {
			return "", err
		}
		port, err := strconv.Atoi(p)
		if err != nil {
			return "", fmt.Errorf("port %q: %w", p, err)
		}
		conn, err = n.Via.Dial(ctx, port)
		if err != nil {
			return "", err
		}
	} else if conn, err = hostnet.DialContext(ctx, n.NetNS, "tcp", n.Endpoint); err != nil {
		return "", err
	}
	defer conn.Close()
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(10 * time.Second)
	}
	_ = conn.SetDeadline(dl)
	if _, err := io.WriteString(conn, "version\r\n"); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("no answer: %w", err)
	}
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "VERSION ") {
		return "", fmt.Errorf("answered %q, not VERSION", line)
	}
	return line, nil
}

func adminStats(ctx context.Context, n PoolNode) ([]byte, error) {
	u := strings.TrimRight(n.Admin, "/") + "/stats"
	if n.Via != nil {
		out, code, err := n.Via.Run(ctx, "curl -fsS --max-time 10 "+ShellQuote(u))
		if err != nil {
			return nil, err
		}
		if code != 0 {
			return nil, fmt.Errorf("curl on the node: exit %d: %s", code, firstLines(out, 2))
		}
		return []byte(out), nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := httpFrom(n.NetNS).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	return b, nil
}
