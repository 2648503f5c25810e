package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/cloudlabs/cloudlabs/components"
	"github.com/cloudlabs/cloudlabs/components/program"
	"github.com/cloudlabs/cloudlabs/internal/machine/artifact"
	"github.com/cloudlabs/cloudlabs/internal/machine/cloudinit"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/internal/machine/vmboot"
	"github.com/cloudlabs/cloudlabs/internal/system"
	"github.com/cloudlabs/cloudlabs/internal/verify"
)

func init() { root.AddCommand(newBootCmd()) }

// bootFlags are boot's own flags.
type bootFlags struct {
	machine  string
	cacheDir string
	workDir  string
	timeout  time.Duration
	keep     bool
}

func newBootCmd() *cobra.Command {
	var f stackFlags
	var bf bootFlags
	var rf runFlags
	cmd := &cobra.Command{
		Use:   "boot",
		Short: "Boot one cloud machine's user data in a local virtual machine (QEMU) and run verify's checks of its role in it",
		Long: `boot proves a cloud machine's boot without a cloud. It renders the machine's
#cloud-config offline, as render does for an aws or gcp stack, with the
artifact URLs pointed at a server labctl runs on this computer (the guest
reaches it at 10.0.2.2 through QEMU's user-mode network); builds or reuses a
cached Debian bookworm base image (mmdebstrap, keyed by its package list);
boots the guest under qemu-system-x86_64 with a NoCloud seed (2 vCPUs, 1 GB;
KVM when it works here, else TCG emulation); waits for cloud-init; runs the
checks verify runs for the machine's role over SSH with a host key pinned
before the first connection; and powers the guest off.

The seed's vendor-data (a file of its own, not the user data) authorizes the
boot's login key, installs the pinned host key, and sends the guest's
metadata requests (169.254.169.254, metadata.google.internal) to labctl,
which answers as GCE's metadata server and EC2's IMDSv2 would. The guest has
no mirror: the packages the stack's roles need are in the image.

A role's secrets cannot come from the stack's secret store in the guest:
the user data's secret step runs unchanged against labctl's stand-in for SSM
Parameter Store or Secret Manager (the store's name resolves to the metadata
address, TLS under a CA made for this boot and trusted through vendor-data),
which hands out fresh test values; a check compares the installed file with
them.

Bootable: the fibonacci backends, the load balancer (its upstream list names
a fibonacci backend labctl runs on this computer) and the cache nodes. Not
bootable: Riak (its package is a download from the internet) and the phone
book (its store is Riak).

Times on 2 shared cores under TCG: an image build 1-9 minutes, a boot to the
end of cloud-init 2-7 minutes, depending on the machine's load. It runs as
root (mmdebstrap, chroot).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runBoot(ctx, &f, bf, rf, cmd.OutOrStdout())
		},
	}
	f.register(cmd, false)
	rf.register(cmd)
	cmd.Flags().StringVarP(&bf.machine, "machine", "m", "", "the machine to boot, as render names it (fibonacci-node-1, fibonacci-lb, cachepool-node-1)")
	cmd.Flags().StringVar(&bf.cacheDir, "cache-dir", filepath.Join(system.CacheDir(), "vmboot"), "where base images are cached")
	cmd.Flags().StringVar(&bf.workDir, "work-dir", "", "folder for the boot's files (seed, overlay disk, console log); default a new temporary folder, removed after a successful boot")
	cmd.Flags().DurationVar(&bf.timeout, "boot-timeout", 20*time.Minute, "bound of the wait for the guest's SSH and for cloud-init to finish")
	cmd.Flags().BoolVar(&bf.keep, "keep", false, "keep the boot's folder after a successful boot (a failed one is always kept)")
	return cmd
}

// bootableRoles are the roles a guest can boot here; the others, and why
// not.
var (
	bootableRoles = map[string]bool{"fibonacci": true, "lb": true, "cachenode": true}
	notBootable   = map[string]string{
		"riak":      "Riak installs the OpenRiak package from files.tiot.jp, a download from the internet that the guest cannot make (and Debian has no riak package)",
		"phonebook": "the phone book's store is the stack's Riak cluster, which cannot boot here",
	}
)

// checkBootable refuses a role a guest cannot boot, saying why.
func checkBootable(machine string, r role.Role) error {
	if bootableRoles[r.Name] {
		return nil
	}
	why, ok := notBootable[r.Name]
	if !ok {
		why = "boot does not know this role yet"
	}
	return fmt.Errorf("machine %s (role %s) cannot boot here: %s; bootable roles: fibonacci, lb, cachenode", machine, r.Name, why)
}

// builtApps records what the builder compiled, so the artifact server
// serves the very files whose hashes the user data pins.
type builtApps struct {
	mu    sync.Mutex
	apps  map[string]artifact.Built
	arch  string
	build program.Builder
}

func (b *builtApps) Build(ctx context.Context, root, outDir, goarch string, apps []string) (map[string]artifact.Built, error) {
	out, err := b.build(ctx, root, outDir, goarch, apps)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.apps == nil {
		b.apps = map[string]artifact.Built{}
	}
	for k, v := range out {
		b.apps[k] = v
	}
	b.arch = goarch
	return out, err
}

// bySHA is the built app with that hash.
func (b *builtApps) bySHA(sum string) (artifact.Built, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, a := range b.apps {
		if strings.EqualFold(a.SHA256, sum) {
			return a, true
		}
	}
	return artifact.Built{}, false
}

// bootPlan is what the stack says about the machine to boot.
type bootPlan struct {
	platform string
	// userData is the machine's user data as render writes it.
	userData string
	role     role.Role
	// extraPackages are every bootable role's packages in the stack: one
	// image serves all its machines.
	extraPackages []string
	apps          *builtApps
}

// planBoot renders the stack offline and picks the machine.
func planBoot(f *stackFlags, machine string) (bootPlan, error) {
	var p bootPlan
	if machine == "" {
		return p, fmt.Errorf("--machine is required: one of the stack's machines, as labctl render names them")
	}
	root, file, values, _, err := stackValues(f)
	if err != nil {
		return p, err
	}
	cfg, err := stackConfig(file, values, false, io.Discard)
	if err != nil {
		return p, err
	}
	if cfg.Platform != "aws" && cfg.Platform != "gcp" {
		return p, fmt.Errorf("stack %s runs on %s: boot needs a cloud stack (cloudlabs:platform aws or gcp), whose machines boot from user data", f.stack, cfg.Platform)
	}
	p.platform = cfg.Platform
	// The boot logs in with a key of its own (vendor-data): the machine is
	// rendered with SSH closed, as the shipped stacks are.
	for _, k := range []string{"ssh:allowCidr", "ssh:publicKey"} {
		if _, ok := values[k]; ok {
			logf("boot: rendering %s without %s: the boot logs in with a key of its own", machine, k)
			delete(values, k)
		}
	}
	os.Setenv("CLOUDLABS_ROOT", root)
	p.apps = &builtApps{build: artifact.Build}
	logf("boot: rendering %s offline (building the apps)", f.stack)
	mocks, err := program.Offline(f.stack, values, p.apps.Build)
	if err != nil {
		return p, fmt.Errorf("render %s: %w", f.stack, err)
	}
	files, err := program.BootFiles(mocks)
	if err != nil {
		return p, fmt.Errorf("render %s: %w", f.stack, err)
	}
	roles, err := program.MachineRoles(f.stack, values, p.apps.Build)
	if err != nil {
		return p, fmt.Errorf("stack %s: the machines' roles: %w", f.stack, err)
	}
	ud, ok := files[machine]
	r, okRole := roles[machine]
	if !ok || !okRole {
		return p, fmt.Errorf("stack %s has no machine %s; its machines: %s", f.stack, machine, strings.Join(sortedKeys(files), ", "))
	}
	if err := checkBootable(machine, r); err != nil {
		return p, err
	}
	if p.apps.arch != "amd64" {
		return p, fmt.Errorf("stack %s's machines are %s: the guest is x86_64 (qemu-system-x86_64); pick an amd64 instance type with -c", f.stack, p.apps.arch)
	}
	p.userData, p.role = ud, r
	for _, other := range roles {
		if bootableRoles[other.Name] {
			p.extraPackages = append(p.extraPackages, other.Packages...)
		}
	}
	return p, nil
}

// guestURL matches the URLs the user data fetches from the artifact
// server once pointed at it.
func guestURLs(userData, base string) []string {
	re := regexp.MustCompile(regexp.QuoteMeta(base) + `/[^\s'"\]]+`)
	seen := map[string]bool{}
	var out []string
	for _, u := range re.FindAllString(userData, -1) {
		if !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	sort.Strings(out)
	return out
}

// syncURL is the bucket object a sync step follows (cloudinit.AddSync:
// cloudlabs-sync 'URL' 'PATH' 'RELOAD' once).
var syncURL = regexp.MustCompile(`/usr/local/sbin/cloudlabs-sync '([^']+)'`)

// pointArtifacts replaces the origin (scheme and host) of the bucket the
// user data fetches its downloads and dynamic files from with base (the artifact server as
// the guest reaches it), everywhere it occurs: the fetch steps and the
// load balancer's sync of its upstream list. Object paths stay. The user
// data must fetch from one origin, and no occurrence of it may remain.
func pointArtifacts(userData, base string) (string, error) {
	d, err := cloudinit.Parse(userData)
	if err != nil {
		return "", err
	}
	urls := map[string]string{}
	for _, dl := range d.Downloads {
		urls[dl.URL] = "download " + dl.Path
	}
	for _, m := range syncURL.FindAllStringSubmatch(userData, -1) {
		urls[m[1]] = "the sync of a dynamic file"
	}
	origins := map[string]bool{}
	for raw, what := range urls {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return "", fmt.Errorf("%s: URL %q has no host", what, raw)
		}
		origins[u.Scheme+"://"+u.Host] = true
	}
	if len(origins) != 1 {
		return "", fmt.Errorf("the user data fetches from %d origins (%s); boot points exactly one, the artifact bucket's, at its server", len(origins), strings.Join(sortedKeys(toStrings(origins)), ", "))
	}
	var origin string
	for o := range origins {
		origin = o
	}
	out := strings.ReplaceAll(userData, origin+"/", base+"/")
	if strings.Contains(out, origin) {
		return "", fmt.Errorf("the user data names the bucket's origin %s other than as a URL's start", origin)
	}
	return out, nil
}

func toStrings(m map[string]bool) map[string]string {
	out := map[string]string{}
	for k := range m {
		out[k] = k
	}
	return out
}

// serveGuest fills the artifact server with what the user data fetches:
// each download from the built app its hash pins, the load balancer's
// upstream list from upstreams. A URL it cannot serve is an error before
// anything boots.
func serveGuest(c *vmboot.Cloud, userData, base string, apps *builtApps, upstreams string) error {
	d, err := cloudinit.Parse(userData)
	if err != nil {
		return err
	}
	c.Files, c.Objects = map[string]string{}, map[string][]byte{}
	downloads := map[string]bool{}
	for _, dl := range d.Downloads {
		a, ok := apps.bySHA(dl.SHA256)
		if !ok {
			return fmt.Errorf("download %s (%s): no app built here has sha256 %s", dl.Path, dl.URL, dl.SHA256)
		}
		c.Files[strings.TrimPrefix(dl.URL, base)] = a.Path
		downloads[dl.URL] = true
	}
	for _, u := range guestURLs(userData, base) {
		if downloads[u] {
			continue
		}
		path := strings.TrimPrefix(u, base)
		switch {
		case strings.HasSuffix(path, "/upstreams.conf") && upstreams != "":
			c.Objects[path] = []byte(upstreams)
		default:
			return fmt.Errorf("the user data fetches %s, which boot cannot serve", u)
		}
	}
	return nil
}

// standInBackend runs the built fibonacci app on this computer's loopback,
// as the load balancer's one backend (the guest reaches it at 10.0.2.2),
// on port, and waits until it answers its health endpoint. stop ends it.
func standInBackend(ctx context.Context, apps *builtApps, dir string, port int) (stop func(), err error) {
	apps.mu.Lock()
	a, ok := apps.apps["fibonacci"]
	apps.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("the load balancer needs a fibonacci backend, and the stack built no fibonacci app")
	}
	logFile, err := os.Create(filepath.Join(dir, "backend.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(a.Path, "--listen", "127.0.0.1:"+strconv.Itoa(port), "--max-n", "10000")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("stand-in backend: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); logFile.Close(); close(exited) }()
	stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/healthz", port), nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return stop, nil
			}
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("stand-in backend exited: %s", vmboot.Tail(filepath.Join(dir, "backend.log"), 5))
		case <-ctx.Done():
			stop()
			return nil, fmt.Errorf("stand-in backend on 127.0.0.1:%d: not healthy within 30s", port)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// fibonacciAnswers checks that POST /fibonacci through a forwarded port
// answers what the lab's service answers for n=10.
func fibonacciAnswers(machine, baseURL string) verify.Check {
	const want = `{"fibonacci_number": 10, "value": 55}`
	exp := "POST " + baseURL + "/fibonacci {\"fibonacci_number\": 10} answers 200 " + want
	return verify.Check{Machine: machine, Name: "fibonacci:answers", Eventually: true, Probe: func(ctx context.Context) verify.Outcome {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/fibonacci", strings.NewReader(`{"fibonacci_number": 10}`))
		if err != nil {
			return verify.Outcome{Status: verify.Unknown, Expected: exp, Found: err.Error()}
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return verify.Outcome{Status: verify.Critical, Expected: exp, Found: err.Error()}
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		got := strings.TrimSpace(string(b))
		if resp.StatusCode != http.StatusOK || got != want {
			return verify.Outcome{Status: verify.Critical, Expected: exp, Found: fmt.Sprintf("status %d %q", resp.StatusCode, got)}
		}
		return verify.Outcome{Status: verify.OK, Expected: exp, Found: "status 200 " + got}
	}}
}

// memcachedAnswers checks that the cache node answers memcached's version
// command through a forwarded port.
func memcachedAnswers(machine, addr string) verify.Check {
	exp := "memcached `version` on " + addr + " answers VERSION"
	return verify.Check{Machine: machine, Name: "memcached:version", Eventually: true, Probe: func(ctx context.Context) verify.Outcome {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return verify.Outcome{Status: verify.Critical, Expected: exp, Found: err.Error()}
		}
		defer c.Close()
		if dl, ok := ctx.Deadline(); ok {
			c.SetDeadline(dl)
		}
		if _, err := io.WriteString(c, "version\r\n"); err != nil {
			return verify.Outcome{Status: verify.Critical, Expected: exp, Found: err.Error()}
		}
		buf := make([]byte, 128)
		n, err := c.Read(buf)
		line := strings.TrimSpace(string(buf[:n]))
		if err != nil || !strings.HasPrefix(line, "VERSION ") {
			return verify.Outcome{Status: verify.Critical, Expected: exp, Found: fmt.Sprintf("%q %v", line, err)}
		}
		return verify.Outcome{Status: verify.OK, Expected: exp, Found: line}
	}}
}

// runBoot is `labctl boot`. Everything that can be refused is checked
// before the image is built.
func runBoot(ctx context.Context, f *stackFlags, bf bootFlags, rf runFlags, out io.Writer) error {
	if err := vmboot.CheckTools(); err != nil {
		return err
	}
	plan, err := planBoot(f, bf.machine)
	if err != nil {
		return err
	}
	dir := bf.workDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "labctl-boot-"+bf.machine+"-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ok := false
	defer func() {
		if ok && !bf.keep && bf.workDir == "" {
			os.RemoveAll(dir)
			return
		}
		logf("boot: the boot's files (seed, console log, disk) are in %s", dir)
	}()
	if err := os.WriteFile(filepath.Join(dir, "rendered-user-data"), []byte(plan.userData), 0o600); err != nil {
		return err
	}

	// The artifact server listens before the user data is pointed at it:
	// its port is in the URLs.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	cloudPort := ln.Addr().(*net.TCPAddr).Port
	base := fmt.Sprintf("http://%s:%d", vmboot.HostAddr, cloudPort)
	userData, err := pointArtifacts(plan.userData, base)
	if err != nil {
		return fmt.Errorf("%s: %w", bf.machine, err)
	}
	upstreams, backend, backendPort := "", "", 0
	if plan.role.Name == "lb" {
		ports, err := vmboot.FreePorts(1)
		if err != nil {
			return err
		}
		backendPort = ports[0]
		backend = fmt.Sprintf("%s:%d", vmboot.HostAddr, backendPort)
		if upstreams, err = components.UpstreamsFile([]string{backend}); err != nil {
			return err
		}
	}
	cloud := &vmboot.Cloud{Platform: plan.platform}
	if err := serveGuest(cloud, userData, base, plan.apps, upstreams); err != nil {
		return fmt.Errorf("%s: %w", bf.machine, err)
	}
	secrets, err := secretSteps(userData)
	if err != nil {
		return err
	}
	var storeHosts []string
	if len(secrets) > 0 {
		if storeHosts = vmboot.StoreHosts(userData); len(storeHosts) == 0 {
			return fmt.Errorf("%s: the user data reads secrets but names no secret store labctl knows (SSM, Secret Manager)", bf.machine)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "user-data"), []byte(userData), 0o600); err != nil {
		return err
	}

	img, err := vmboot.EnsureImage(ctx, bf.cacheDir, vmboot.Packages(plan.extraPackages), logf)
	if err != nil {
		return err
	}

	if backendPort != 0 {
		stop, err := standInBackend(ctx, plan.apps, dir, backendPort)
		if err != nil {
			return err
		}
		defer stop()
		logf("boot: the load balancer's upstream list names a fibonacci backend on this computer, %s (127.0.0.1:%d here)", backend, backendPort)
	}
	b := &vmboot.Boot{
		Image: img, Dir: dir, Machine: bf.machine, UserData: userData, CloudPort: cloudPort,
		Ports: plan.role.Ports(), Accel: vmboot.Accel(ctx), Timeout: bf.timeout, Logf: logf,
	}
	if len(secrets) > 0 {
		ca, cert, err := vmboot.NewCA(storeHosts)
		if err != nil {
			return err
		}
		values := map[string]string{}
		for _, s := range secrets {
			values[s.ID] = s.Value
		}
		sl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		store := &vmboot.SecretStore{Cloud: cloud, Secrets: values, Cert: cert}
		go store.Serve(sl)
		defer store.Close()
		b.StorePort, b.StoreHosts, b.CAPEM = sl.Addr().(*net.TCPAddr).Port, storeHosts, ca
		logf("boot: %d secret(s) of %s come from labctl's stand-in for %s with test values, not from the stack", len(secrets), bf.machine, strings.Join(storeHosts, ", "))
	}
	go cloud.Serve(ln)
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		cloud.Shutdown(sctx)
	}()

	if b.Accel == "tcg" {
		logf("boot: KVM cannot run a guest here: emulating (TCG); the boot takes a few minutes")
	}
	start := time.Now()
	defer b.PowerOff(ctx)
	if err := b.Start(ctx); err != nil {
		return fmt.Errorf("boot %s: %w\n%s", bf.machine, err, guestRequests(cloud))
	}
	booted := time.Since(start)
	for _, p := range plan.role.Ports() {
		logf("boot: guest port %d is 127.0.0.1:%d here", p, b.Forward[p])
	}

	// The checks verify runs for this role on a cloud machine over SSH,
	// with the files and hashes of the user data that booted.
	m := verify.Machine{Name: bf.machine, Role: plan.role, Transport: b.SSH()}
	roleChecks, notes := deployed{userData: map[string]string{bf.machine: userData}}.checksFor(m)
	for _, n := range notes {
		logf("%s", n)
	}
	checks := append(roleChecks, forwardedChecks(plan.role, b.Forward, bf.machine, backend)...)
	for _, s := range secrets {
		checks = append(checks, secretCheck(bf.machine, s, b.SSH()))
	}
	run := rf.runner()
	run.Progress = func(done, total int, r verify.Result) {
		logf("boot: check %d/%d %-8s %s", done, total, statusWord(r), r.ID())
	}
	rs := run.Run(ctx, checks)
	if err := verify.WriteTable(out, rs); err != nil {
		return err
	}
	logf("boot %s: %s to the end of cloud-init (%s), %d checks", bf.machine, booted.Round(time.Second), b.Accel, len(rs))
	if n := countFailed(rs); n > 0 {
		return fmt.Errorf("boot %s: %d of %d checks failed:\n%s\n%s\n%s", bf.machine, n, len(rs), strings.TrimRight(verify.Failures(rs), "\n"), guestRequests(cloud), b.Diagnostics(ctx))
	}
	ok = true
	return nil
}

// forwardedChecks are made from this computer through the forwarded
// ports: the app's own answer for a backend or a cache node; for the load
// balancer, verify's check that its backend (backend) answers through it,
// and the app's answer through it.
func forwardedChecks(r role.Role, fwd map[int]int, machine, backend string) []verify.Check {
	switch r.Name {
	case "fibonacci":
		return []verify.Check{fibonacciAnswers(machine, fmt.Sprintf("http://127.0.0.1:%d", fwd[components.FibonacciPort]))}
	case "lb":
		lbURL := fmt.Sprintf("http://127.0.0.1:%d", fwd[components.HTTPPort])
		return []verify.Check{verify.LBBackends(machine, lbURL, []string{backend}), fibonacciAnswers(machine, lbURL)}
	case "cachenode":
		return []verify.Check{memcachedAnswers(machine, fmt.Sprintf("127.0.0.1:%d", fwd[components.CachePort]))}
	}
	return nil
}

// bootSecret is one secret step of the user data and the test value the
// boot's secret store gives it.
type bootSecret struct {
	ID, Path, Mode, Owner string
	Value                 string
}

// secretSteps are the user data's secret steps ([cloudlabs-secret, id,
// path, mode, owner] in runcmd), each with a fresh test value.
func secretSteps(userData string) ([]bootSecret, error) {
	var doc struct {
		Runcmd []any `yaml:"runcmd"`
	}
	if err := yaml.Unmarshal([]byte(userData), &doc); err != nil {
		return nil, fmt.Errorf("user data: %w", err)
	}
	var out []bootSecret
	for _, step := range doc.Runcmd {
		words, ok := step.([]any)
		if !ok || len(words) == 0 || words[0] != cloudinit.SecretTool {
			continue
		}
		if len(words) != 5 {
			return nil, fmt.Errorf("secret step %v: want [%s, id, path, mode, owner]", words, cloudinit.SecretTool)
		}
		var w [4]string
		for i := range w {
			w[i] = fmt.Sprint(words[i+1])
		}
		b := make([]byte, 20)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		out = append(out, bootSecret{ID: w[0], Path: w[1], Mode: w[2], Owner: w[3], Value: "vmboot-test-" + hex.EncodeToString(b)})
	}
	return out, nil
}

// secretCheck checks that the secret step installed the store's value at
// its path with its mode and owner.
func secretCheck(machine string, s bootSecret, t verify.Transport) verify.Check {
	sum := sha256.Sum256([]byte(s.Value))
	want := hex.EncodeToString(sum[:])
	mode := strings.TrimPrefix(s.Mode, "0")
	exp := fmt.Sprintf("the test value of %s (sha256 %s…), mode %s, owner %s", s.ID, want[:12], mode, s.Owner)
	return verify.Check{Machine: machine, Name: "secret:" + s.Path, Probe: func(ctx context.Context) verify.Outcome {
		got, err := t.Hash(ctx, s.Path)
		if err != nil {
			return verify.Outcome{Status: verify.Critical, Expected: exp, Found: err.Error()}
		}
		out, code, err := t.Run(ctx, "sudo -n stat -c '%a %U' "+verify.ShellQuote(s.Path))
		if err != nil {
			return verify.Outcome{Status: verify.Unknown, Expected: exp, Found: err.Error()}
		}
		found := fmt.Sprintf("sha256 %s…, %s", got[:min(12, len(got))], strings.TrimSpace(out))
		if got != want || code != 0 || strings.TrimSpace(out) != mode+" "+s.Owner {
			return verify.Outcome{Status: verify.Critical, Expected: exp, Found: found}
		}
		return verify.Outcome{Status: verify.OK, Expected: exp, Found: found}
	}}
}

// guestRequests lists what the guest asked the artifact server, for a
// failed boot's message.
func guestRequests(c *vmboot.Cloud) string {
	rs := c.Requests()
	if len(rs) == 0 {
		return "the guest made no request to labctl's artifact and metadata server"
	}
	var b strings.Builder
	b.WriteString("the guest's requests to labctl's artifact and metadata server:\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "  %s %s -> %d\n", r.Method, r.Path, r.Status)
	}
	return strings.TrimRight(b.String(), "\n")
}
