package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/cloudlabs/cloudlabs/components/program"
	"github.com/cloudlabs/cloudlabs/internal/config/stackfile"
	"github.com/cloudlabs/cloudlabs/internal/machine/artifact"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/verify"
)

func init() { root.AddCommand(newVerifyCmd()) }

// runFlags tune how checks run.
type runFlags struct {
	parallel int
	timeout  time.Duration
	retries  int
}

func (r *runFlags) register(cmd *cobra.Command) {
	cmd.Flags().IntVar(&r.parallel, "parallel", 8, "checks run at once")
	cmd.Flags().DurationVar(&r.timeout, "timeout", 15*time.Second, "bound of one attempt of one check")
	cmd.Flags().IntVar(&r.retries, "retries", settleRetries, "retries, with doubling backoff from 500ms, of the checks of what settles after a change (ports, health, the LB's list)")
}

func (r runFlags) runner() verify.Runner {
	return verify.Runner{Parallel: r.parallel, Timeout: r.timeout, Retries: r.retries, Backoff: 500 * time.Millisecond}
}

func newVerifyCmd() *cobra.Command {
	f := stackFlags{noPlugin: true}
	var rf runFlags
	var asJSON bool
	var junit, sshKey string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check that every machine of the stack runs what its role declares, and that the environments work across machines",
		Long: `verify derives its checks from each machine's role, as the stack's state
records it: each service running (and, over SSH, enabled at boot), listening on
its port, its health endpoint answering 200; every download's and every
rendered file's SHA-256 equal to the pinned one (a hand edit shows as drift,
with both hashes); packages installed (over SSH). Then the environments' checks
across machines: every backend answers through the load balancer, a phone-book
contact is written and read back under a reserved name; and each public URL
answers with its content.

On the local twin the checks read the host folders and pid files and connect
to the hosts' addresses. On a cloud stack the machines' own checks need SSH
with pinned host keys; without them verify says so and runs what it can from
outside. The cache pool's agreement (every node answers memcached version, all
report the same capacity and policy) and, on clouds, Riak's ring membership
against riak:nodes reach into the machines: on clouds they need SSH too. It exits non-zero when any check fails, naming the machine, the
check, what was expected and what was found.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			tg, err := loadTarget(ctx, &f)
			if err != nil {
				return err
			}
			tg.sshKey = sshKey
			defer tg.close()
			checks, notes, err := tg.checks(ctx)
			if err != nil {
				return err
			}
			for _, n := range notes {
				logf("%s", n)
			}
			run := rf.runner()
			run.Progress = func(done, total int, r verify.Result) {
				fmt.Fprintf(cmd.ErrOrStderr(), "labctl: verify %d/%d %-8s %s\n", done, total, statusWord(r), r.ID())
			}
			start := time.Now()
			rs := run.Run(ctx, checks)
			out := cmd.OutOrStdout()
			if asJSON {
				err = verify.WriteJSON(out, f.stack, notes, rs)
			} else {
				err = verify.WriteTable(out, rs)
			}
			if err != nil {
				return err
			}
			if junit != "" {
				if err := writeJUnit(junit, f.stack, rs); err != nil {
					return err
				}
			}
			logf("verify %s: %d checks in %s", f.stack, len(rs), time.Since(start).Round(100*time.Millisecond))
			if n := countFailed(rs); n > 0 {
				return fmt.Errorf("verify %s: %d of %d checks failed:\n%s", f.stack, n, len(rs), strings.TrimRight(verify.Failures(rs), "\n"))
			}
			return nil
		},
	}
	f.register(cmd, false)
	rf.register(cmd)
	cmd.Flags().StringVar(&sshKey, "ssh-key", "", "private key file of the stack's ssh:publicKey, for cloud machines (default: the agent at SSH_AUTH_SOCK)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the results as one JSON object")
	cmd.Flags().StringVar(&junit, "junit", "", "also write the results as JUnit XML to this file, for CI")
	return cmd
}

func statusWord(r verify.Result) string {
	if r.Skipped != "" {
		return "SKIP"
	}
	return r.Status.String()
}

func countFailed(rs []verify.Result) int {
	n := 0
	for _, r := range rs {
		if r.Failed() {
			n++
		}
	}
	return n
}

func writeJUnit(path, stack string, rs []verify.Result) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := verify.WriteJUnit(fh, stack, rs); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

// target is a stack as verify reads it: its platform, outputs and, on the
// twin, its hosts with the roles they were realized with.
type target struct {
	name     string
	platform string
	stack    auto.Stack
	outputs  verify.Outputs
	hosts    []verify.TwinHost
	// stackFile is the stack's config file: a cloud machine's role comes
	// from rerunning the program offline with it.
	stackFile string
	// sshKey is the operator's private key file (--ssh-key); "" uses the
	// agent at SSH_AUTH_SOCK.
	sshKey string
	// sshPublicKey is the stack's ssh:publicKey: the agent key to offer.
	sshPublicKey string
	// riakNodes is the stack's riak:nodes when its environments include
	// the phone book, else 0 (the twin has no Riak: its outputs decide).
	riakNodes int
	// deployed is, on a cloud, each machine's user data from the stack's
	// state: what its file checks expect.
	deployed deployed
	conns    []*lazySSH
}

// newTarget is the target of stack s with the config of e.
func newTarget(s auto.Stack, name string, e *env) *target {
	tg := &target{name: name, platform: e.cfg.Platform, stack: s, stackFile: e.stackFile, sshPublicKey: e.cfg.SSHPublicKey}
	if e.cfg.Enabled("phonebook") {
		tg.riakNodes = e.cfg.RiakNodes
	}
	return tg
}

// loadTarget opens the stack (no plugin built: it reads state only) and
// reads its outputs and state.
func loadTarget(ctx context.Context, f *stackFlags) (*target, error) {
	f.noPlugin = true
	e, err := prepare(ctx, f)
	if err != nil {
		return nil, err
	}
	s, err := openStack(ctx, e, f.stack)
	if err != nil {
		return nil, err
	}
	tg := newTarget(s, f.stack, e)
	return tg, tg.refresh(ctx)
}

// refresh rereads the outputs and, on the twin, the hosts from the stack's
// state (`labctl up` may have changed them); on a cloud with SSH open, the
// user data each machine was deployed with.
func (tg *target) refresh(ctx context.Context) error {
	outs, err := tg.stack.Outputs(ctx)
	if err != nil {
		return err
	}
	tg.outputs = verify.Outputs{}
	for k, v := range outs {
		// Secrets stay out of the checks, but for the manager's token:
		// the pool's live membership is its GET /api/pool.
		if !v.Secret || k == "managerToken" {
			tg.outputs[k] = v.Value
		}
	}
	if len(tg.outputs) == 0 {
		return fmt.Errorf("stack %s has no outputs: nothing is up to verify (labctl up creates it)", tg.name)
	}
	if p, ok := tg.outputs["platform"].(string); ok && p != "" {
		tg.platform = p
	}
	tg.hosts, tg.deployed = nil, deployed{}
	if tg.platform != "local" && len(tg.outputs.SSHCommands()) == 0 {
		return nil // SSH closed: no machine's own checks
	}
	dep, err := tg.stack.Export(ctx)
	if tg.platform != "local" {
		// The cloud machines' user data as deployed: the offline rerun
		// that gives their roles cannot know other resources' outputs.
		// Without it the file checks are UNKNOWN, the rest still runs.
		if err != nil {
			tg.deployed = deployed{err: fmt.Errorf("export the stack's state: %w", err)}
		} else {
			tg.deployed = readDeployed(dep.Deployment)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("stack %s: export its state: %w", tg.name, err)
	}
	tg.hosts, err = verify.TwinHosts(dep.Deployment)
	if err != nil {
		return fmt.Errorf("stack %s: %w", tg.name, err)
	}
	if len(tg.hosts) == 0 {
		return fmt.Errorf("stack %s: its state holds no twin hosts", tg.name)
	}
	return nil
}

// checks are every check of the stack, and notes on what could not be
// checked and why.
func (tg *target) checks(ctx context.Context) ([]verify.Check, []string, error) {
	var cs []verify.Check
	var notes []string
	var ms []verify.Machine
	if tg.platform == "local" {
		for _, h := range tg.hosts {
			ms = append(ms, h.Machine())
		}
	} else {
		var more []string
		var err error
		ms, more, err = tg.sshMachines(ctx)
		if err != nil {
			return nil, notes, err
		}
		notes = append(notes, more...)
	}
	mcs, more := tg.machineChecks(ms)
	cs = append(cs, mcs...)
	notes = append(notes, more...)
	cs = append(cs, tg.outputChecks()...)
	if tg.platform != "local" {
		// The checks that reach into machines (the pool's admin APIs,
		// Riak's ring): on a cloud only over SSH.
		cluster, more := tg.outputs.ClusterChecks(tg.platform, tg.riakNodes, ms)
		cs = append(cs, cluster...)
		notes = append(notes, more...)
	}
	if len(cs) == 0 {
		return nil, notes, fmt.Errorf("stack %s: nothing to check", tg.name)
	}
	return cs, notes, nil
}

// machineChecks are the machines' own checks: on the twin from the roles
// its state records; on a cloud from the offline rerun's roles with the
// files (and download hashes) their deployed user data holds.
func (tg *target) machineChecks(ms []verify.Machine) ([]verify.Check, []string) {
	var cs []verify.Check
	var notes []string
	for _, m := range ms {
		if tg.platform == "local" {
			cs = append(cs, verify.ChecksFor(m)...)
			continue
		}
		mcs, more := tg.deployed.checksFor(m)
		cs = append(cs, mcs...)
		notes = append(notes, more...)
	}
	return cs, notes
}

// outputChecks are made from this computer through the public URLs: the
// environments' cross-machine checks and the endpoints' HTTP checks; on
// the twin, whose addresses are all reachable from here, also the cache
// pool's agreement.
func (tg *target) outputChecks() []verify.Check {
	cs := tg.outputs.CrossChecks()
	if tg.platform == "local" {
		var ms []verify.Machine
		for _, h := range tg.hosts {
			ms = append(ms, h.Machine())
		}
		cluster, _ := tg.outputs.ClusterChecks(tg.platform, 0, ms)
		cs = append(cs, cluster...)
	}
	for _, e := range tg.outputs.Endpoints() {
		cs = append(cs, verify.HTTPCheck(e))
	}
	return cs
}

// settleRetries covers what settles after a change for up to ~15 s
// (0.5+1+2+4+8 s of backoff): above all nginx, which rests a backend that
// failed for fail_timeout (10 s, templates/nginx-upstreams.conf.tmpl)
// before it sends it traffic again.
const settleRetries = 5

// verifyStack runs every check of an open stack with the default runner
// and prints the table to w: what `labctl up` runs at its end. It fails
// naming each failed check.
func verifyStack(ctx context.Context, s auto.Stack, e *env, w io.Writer) error {
	tg := newTarget(s, s.Name(), e)
	if err := tg.refresh(ctx); err != nil {
		return err
	}
	defer tg.close()
	checks, notes, err := tg.checks(ctx)
	if err != nil {
		return err
	}
	for _, n := range notes {
		logf("%s", n)
	}
	var rf runFlags
	rf.parallel, rf.timeout, rf.retries = 8, 15*time.Second, settleRetries
	rs := rf.runner().Run(ctx, checks)
	if err := verify.WriteTable(w, rs); err != nil {
		return err
	}
	if n := countFailed(rs); n > 0 {
		return fmt.Errorf("up is done, but verify found %d of %d checks failing (labctl verify reruns them):\n%s", n, len(rs), strings.TrimRight(verify.Failures(rs), "\n"))
	}
	return nil
}

// sshMachines are the cloud machines verify reaches over SSH, with notes
// on those it cannot: SSH closed, no pinned host key, no role.
func (tg *target) sshMachines(ctx context.Context) ([]verify.Machine, []string, error) {
	cmds := tg.outputs.SSHCommands()
	if len(cmds) == 0 {
		return nil, []string{fmt.Sprintf("stack %s keeps SSH closed (the default): the machines' own checks (services, files, packages) need it; running what can be checked from outside", tg.name)}, nil
	}
	knownHosts, _ := tg.outputs["knownHosts"].(string)
	if knownHosts == "" {
		return nil, []string{fmt.Sprintf("stack %s opens SSH (%s) but exports no knownHosts to pin: verify never trusts a host key on first use, so it skips the machines' own checks and runs what it can from outside (labctl up makes the host keys)", tg.name, strings.Join(sortedKeys(cmds), ", "))}, nil
	}
	values, err := stackfile.Load(tg.stackFile)
	if err != nil {
		return nil, nil, err
	}
	logf("verify %s: rerunning the program offline for the machines' roles", tg.name)
	roles, err := program.MachineRoles(tg.name, values, artifact.Build)
	if err != nil {
		return nil, nil, fmt.Errorf("stack %s: the machines' roles: %w", tg.name, err)
	}
	targets, notes, err := pairSSH(cmds, knownHosts, roles)
	if err != nil {
		return nil, notes, fmt.Errorf("stack %s: %w", tg.name, err)
	}
	if len(targets) == 0 {
		return nil, notes, nil
	}
	signer, err := operatorKey(tg.sshKey, tg.sshPublicKey)
	if err != nil {
		return nil, notes, err
	}
	ms, notes := tg.skipParked(ctx, tg.dialers(targets, signer), notes)
	return ms, notes, nil
}

// skipParked leaves out the pool's slots that are not its members: the
// manager stops a parked slot's instance, so there is no SSH to check it
// by, and that is not a failure. The members are the manager's own (GET
// /api/pool asked on its machine over SSH, so a pool resized since up is
// seen as it is); the ones up left (cachepoolEndpoints) when that fails.
func (tg *target) skipParked(ctx context.Context, ms []verify.Machine, notes []string) ([]verify.Machine, []string) {
	members := tg.outputs.UpMembers()
	if members == nil { // no slots beyond the members
		return ms, notes
	}
	source := "the members up left (cachepoolEndpoints)"
	for _, m := range ms {
		if m.Name != verify.ManagerMachine {
			continue
		}
		ask := tg.outputs.MembersVia(m.Transport)
		if ask == nil {
			break
		}
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		live, err := ask(actx)
		cancel()
		if err != nil {
			notes = append(notes, fmt.Sprintf("the pool's members from the manager over SSH: %v; taking %s", err, source))
			break
		}
		members, source = live, "the manager's members (GET /api/pool on its machine)"
	}
	in := map[string]bool{}
	for _, m := range members {
		in[m] = true
	}
	parked := map[string]bool{}
	for _, n := range tg.outputs.CachePoolNodes() {
		if !in[n.Endpoint] {
			parked[n.Name] = true
		}
	}
	var kept []verify.Machine
	var skipped []string
	for _, m := range ms {
		if parked[m.Name] {
			skipped = append(skipped, m.Name)
			continue
		}
		kept = append(kept, m)
	}
	if len(skipped) > 0 {
		notes = append(notes, fmt.Sprintf("%s: pool slots not among %s, parked with their instances stopped: not reached over SSH", strings.Join(skipped, ", "), source))
	}
	return kept, notes
}

// dialers are the machines of targets behind transports that connect on
// first use (one connection per machine, closed by close).
func (tg *target) dialers(targets []sshTarget, signer ssh.Signer) []verify.Machine {
	ms := make([]verify.Machine, 0, len(targets))
	for _, t := range targets {
		l := &lazySSH{cfg: verify.SSHConfig{Addr: t.Host, User: t.User, Key: signer, HostKey: t.HostKey, Sudo: true}}
		tg.conns = append(tg.conns, l)
		ms = append(ms, verify.Machine{Name: t.Machine, Role: t.Role, Transport: l})
	}
	return ms
}

// close closes the SSH connections the checks opened.
func (tg *target) close() {
	for _, c := range tg.conns {
		c.Close()
	}
	tg.conns = nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// sshTarget is one cloud machine as verify reaches it.
type sshTarget struct {
	Machine, User, Host string
	// HostKey is the machine's known_hosts line from the stack's outputs.
	HostKey string
	Role    role.Role
}

// pairSSH pairs each machine of sshCommands ("ssh user@host") with the
// knownHosts line of its host and its role, sorted by machine. A machine
// without a pinned key or a role is left out with a note; a known_hosts
// line that does not parse is an error.
func pairSSH(cmds map[string]string, knownHosts string, roles map[string]role.Role) ([]sshTarget, []string, error) {
	pins, err := knownHostsByHost(knownHosts)
	if err != nil {
		return nil, nil, err
	}
	var out []sshTarget
	var notes []string
	for _, machine := range sortedKeys(cmds) {
		user, host, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(cmds[machine]), "ssh ")), "@")
		if !ok || user == "" || host == "" {
			return nil, notes, fmt.Errorf("sshCommands: %s: %q is not `ssh user@host`", machine, cmds[machine])
		}
		pin, ok := pins[host]
		if !ok {
			notes = append(notes, fmt.Sprintf("%s: knownHosts pins no key for %s: its own checks are skipped (never trusted on first use)", machine, host))
			continue
		}
		r, ok := roles[machine]
		if !ok {
			notes = append(notes, fmt.Sprintf("%s: the program, rerun offline with the stack's config, declares no such machine (config changed since up?): its own checks are skipped", machine))
			continue
		}
		out = append(out, sshTarget{Machine: machine, User: user, Host: host, HostKey: pin, Role: r})
	}
	return out, notes, nil
}

// knownHostsByHost indexes known_hosts lines by each host they name.
func knownHostsByHost(text string) (map[string]string, error) {
	out := map[string]string{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		_, hosts, _, _, _, err := ssh.ParseKnownHosts([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("knownHosts line %d %q: %w", i+1, line, err)
		}
		for _, h := range hosts {
			if _, dup := out[h]; dup {
				return nil, fmt.Errorf("knownHosts pins %s twice", h)
			}
			out[h] = line
		}
	}
	return out, nil
}

// operatorKey is the key verify logs in with: the --ssh-key file, or the
// agent's key equal to the stack's ssh:publicKey (the one the machines
// authorize), else the agent's first.
func operatorKey(file, authorized string) (ssh.Signer, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--ssh-key: %w", err)
		}
		s, err := ssh.ParsePrivateKey(b)
		if err != nil {
			return nil, fmt.Errorf("--ssh-key %s: %w (a passphrase-protected key goes through ssh-agent instead)", file, err)
		}
		return s, nil
	}
	sock := os.Getenv("SSH_AUTH_SOCK")
	if sock == "" {
		return nil, fmt.Errorf("no key to log in to the machines with: pass --ssh-key FILE (the private half of ssh:publicKey) or run ssh-agent")
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("ssh-agent at %s: %w", sock, err)
	}
	signers, err := agent.NewClient(conn).Signers()
	if err != nil {
		return nil, fmt.Errorf("ssh-agent at %s: %w", sock, err)
	}
	return pickSigner(signers, authorized)
}

// pickSigner is the signer whose public key is authorized, else the first.
func pickSigner(signers []ssh.Signer, authorized string) (ssh.Signer, error) {
	if len(signers) == 0 {
		return nil, fmt.Errorf("ssh-agent holds no key: ssh-add the private half of ssh:publicKey, or pass --ssh-key FILE")
	}
	if want, _, _, _, err := ssh.ParseAuthorizedKey([]byte(authorized)); err == nil {
		for _, s := range signers {
			if bytes.Equal(s.PublicKey().Marshal(), want.Marshal()) {
				return s, nil
			}
		}
	}
	return signers[0], nil
}

// lazySSH connects on first use and keeps the connection for every check
// of its machine; safe for concurrent use by the runner's checks. A failed
// dial is tried again by the next call (the runner retries).
type lazySSH struct {
	cfg  verify.SSHConfig
	mu   sync.Mutex
	conn *verify.SSH
}

func (l *lazySSH) get(ctx context.Context) (*verify.SSH, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn != nil {
		return l.conn, nil
	}
	c, err := verify.DialSSH(ctx, l.cfg)
	if err != nil {
		return nil, err
	}
	l.conn = c
	return c, nil
}

// Close closes the connection, if one was made.
func (l *lazySSH) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn != nil {
		l.conn.Close()
		l.conn = nil
	}
}

func (l *lazySSH) Kind() string { return "ssh" }

func (l *lazySSH) Run(ctx context.Context, cmd string) (string, int, error) {
	c, err := l.get(ctx)
	if err != nil {
		return "", -1, err
	}
	return c.Run(ctx, cmd)
}

func (l *lazySSH) ReadFile(ctx context.Context, path string) ([]byte, error) {
	c, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return c.ReadFile(ctx, path)
}

func (l *lazySSH) Hash(ctx context.Context, path string) (string, error) {
	c, err := l.get(ctx)
	if err != nil {
		return "", err
	}
	return c.Hash(ctx, path)
}

func (l *lazySSH) Dial(ctx context.Context, port int) (net.Conn, error) {
	c, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return c.Dial(ctx, port)
}

func (l *lazySSH) Service(ctx context.Context, s role.Service) (verify.ServiceState, error) {
	c, err := l.get(ctx)
	if err != nil {
		return verify.ServiceState{}, err
	}
	return c.Service(ctx, s)
}
