package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/cloudlabs/cloudlabs/internal/machine/cloudinit"
	"github.com/cloudlabs/cloudlabs/internal/machine/role"
)

// SSHConfig is how to reach a machine over SSH.
type SSHConfig struct {
	// Addr is host:port (port 22 when absent).
	Addr string
	User string
	// Key is the user's private key.
	Key ssh.Signer
	// HostKey pins the machine's host key: a known_hosts line
	// ("host ssh-ed25519 AAAA...") or a public key in authorized_keys form
	// ("ssh-ed25519 AAAA..."). It is required: a key is never trusted on
	// first use.
	HostKey string
	// Sudo runs file reads and package queries through `sudo -n` (a cloud
	// machine's login user is not root; some rendered files are private).
	Sudo bool
	// Timeout bounds the TCP connect and the handshake (default 10s).
	Timeout time.Duration
	// TwinDir, when set, is the host folder of a twin host in namespace
	// mode: it has no systemd, so services are checked through their pid
	// files there (as Local does, but read over SSH).
	TwinDir string
	// Sessions bounds the commands run at once over the connection
	// (default 4). OpenSSH refuses sessions beyond its MaxSessions
	// (default 10), and counts a closed one until it has processed the
	// close, so the bound stays well below it.
	Sessions int
}

// SSH reaches a machine over one SSH connection.
type SSH struct {
	cfg      SSHConfig
	client   *ssh.Client
	sessions chan struct{}
}

// ErrHostKey is returned when the machine's host key is not the pinned one.
var ErrHostKey = errors.New("host key mismatch")

// PinnedHostKey parses a known_hosts line or an authorized_keys-form public
// key. For a known_hosts line, addr must be among its hosts.
func PinnedHostKey(pin, addr string) (ssh.PublicKey, error) {
	pin = strings.TrimSpace(pin)
	if pin == "" {
		return nil, fmt.Errorf("no host key pinned for %s: refusing to trust a key on first use", addr)
	}
	// A public key starts with its type; a known_hosts line with hosts
	// (ParseAuthorizedKey would take the hosts for key options).
	if first, _, _ := strings.Cut(pin, " "); isKeyType(first) {
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(pin))
		if err != nil {
			return nil, fmt.Errorf("host key for %s: %w", addr, err)
		}
		return k, nil
	}
	marker, hosts, k, _, _, err := ssh.ParseKnownHosts([]byte(pin))
	if err != nil {
		return nil, fmt.Errorf("host key for %s: neither a known_hosts line nor a public key: %w", addr, err)
	}
	if marker == "revoked" {
		return nil, fmt.Errorf("host key for %s is marked @revoked", addr)
	}
	host, _, _ := net.SplitHostPort(withPort(addr))
	want := map[string]bool{knownhosts.Normalize(withPort(addr)): true, host: true}
	for _, h := range hosts {
		if want[h] || want[knownhosts.Normalize(h)] {
			return k, nil
		}
	}
	return nil, fmt.Errorf("the known_hosts line names %s, not %s", strings.Join(hosts, ","), addr)
}

func isKeyType(s string) bool {
	for _, p := range []string{"ssh-", "ecdsa-", "sk-", "rsa-"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func withPort(addr string) string {
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr
	}
	return net.JoinHostPort(addr, "22")
}

// DialSSH connects and authenticates, refusing any host key but the pinned
// one.
func DialSSH(ctx context.Context, cfg SSHConfig) (*SSH, error) {
	addr := withPort(cfg.Addr)
	pinned, err := PinnedHostKey(cfg.HostKey, addr)
	if err != nil {
		return nil, err
	}
	if cfg.Key == nil {
		return nil, fmt.Errorf("ssh %s: no user key", addr)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	cc := &ssh.ClientConfig{
		User: cfg.User,
		Auth: []ssh.AuthMethod{ssh.PublicKeys(cfg.Key)},
		HostKeyCallback: func(_ string, _ net.Addr, k ssh.PublicKey) error {
			if bytes.Equal(k.Marshal(), pinned.Marshal()) {
				return nil
			}
			return fmt.Errorf("%w: %s offers %s %s, the stack pins %s %s", ErrHostKey, addr,
				k.Type(), ssh.FingerprintSHA256(k), pinned.Type(), ssh.FingerprintSHA256(pinned))
		},
		// Ask for the pinned key's algorithm, so a server with several
		// host keys shows the one that was pinned.
		HostKeyAlgorithms: hostKeyAlgorithms(pinned),
		Timeout:           cfg.Timeout,
	}
	d := net.Dialer{Timeout: cfg.Timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	} else {
		_ = conn.SetDeadline(time.Now().Add(cfg.Timeout))
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cc)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("ssh %s@%s: %w", cfg.User, addr, err)
	}
	_ = conn.SetDeadline(time.Time{})
	if cfg.Sessions <= 0 {
		cfg.Sessions = 4
	}
	return &SSH{cfg: cfg, client: ssh.NewClient(c, chans, reqs), sessions: make(chan struct{}, cfg.Sessions)}, nil
}

func hostKeyAlgorithms(k ssh.PublicKey) []string {
	if k.Type() == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{k.Type()}
}

// Close closes the connection.
func (s *SSH) Close() error { return s.client.Close() }

// Kind is "ssh".
func (s *SSH) Kind() string { return "ssh" }

// Run runs cmd in a session; a cancelled ctx closes the session.
func (s *SSH) Run(ctx context.Context, cmd string) (string, int, error) {
	select {
	case s.sessions <- struct{}{}:
		defer func() { <-s.sessions }()
	case <-ctx.Done():
		return "", -1, fmt.Errorf("ssh %s: %q: waiting for a session: %w", s.cfg.Addr, cmd, ctx.Err())
	}
	sess, err := s.newSession(ctx)
	if err != nil {
		return "", -1, fmt.Errorf("ssh %s: session: %w", s.cfg.Addr, err)
	}
	defer sess.Close()
	var out, errb bytes.Buffer
	sess.Stdout, sess.Stderr = &out, &errb
	done := make(chan error, 1)
	go func() { done <- sess.Run(cmd) }()
	select {
	case <-ctx.Done():
		sess.Close()
		return out.String(), -1, fmt.Errorf("ssh %s: %q: %w", s.cfg.Addr, cmd, ctx.Err())
	case err = <-done:
	}
	var ee *ssh.ExitError
	if errors.As(err, &ee) {
		return out.String() + errb.String(), ee.ExitStatus(), nil
	}
	if err != nil {
		return out.String(), -1, fmt.Errorf("ssh %s: %q: %w", s.cfg.Addr, cmd, err)
	}
	return out.String(), 0, nil
}

// newSession opens a session, trying again while the server refuses it
// for being over its session limit (a server with a lower MaxSessions, or
// one still closing sessions this connection ended). OpenSSH answers that
// with "connect failed", the reason of any session it cannot open, so a
// lasting refusal is tried a bounded number of times (about 8 s) and
// then reported.
func (s *SSH) newSession(ctx context.Context) (*ssh.Session, error) {
	const attempts = 12
	wait := 50 * time.Millisecond
	for i := 1; ; i++ {
		sess, err := s.client.NewSession()
		var oce *ssh.OpenChannelError
		if err == nil || !errors.As(err, &oce) || oce.Reason != ssh.ConnectionFailed || i == attempts {
			return sess, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w (refused %d times, then %w)", err, i, ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, time.Second)
	}
}

func (s *SSH) sudo(cmd string) string {
	if s.cfg.Sudo {
		return "sudo -n " + cmd
	}
	return cmd
}

// ReadFile cats the file.
func (s *SSH) ReadFile(ctx context.Context, path string) ([]byte, error) {
	out, code, err := s.Run(ctx, s.sudo("cat -- "+ShellQuote(path)))
	if err != nil {
		return nil, err
	}
	if code != 0 {
		return nil, fmt.Errorf("read %s: exit %d: %s", path, code, strings.TrimSpace(out))
	}
	return []byte(out), nil
}

// Hash runs sha256sum on the machine.
func (s *SSH) Hash(ctx context.Context, path string) (string, error) {
	out, code, err := s.Run(ctx, s.sudo("sha256sum -- "+ShellQuote(path)))
	if err != nil {
		return "", err
	}
	f := strings.Fields(out)
	if code != 0 || len(f) == 0 || len(f[0]) != 64 {
		return "", fmt.Errorf("sha256sum %s: exit %d: %s", path, code, strings.TrimSpace(out))
	}
	return f[0], nil
}

// Dial connects to the port from the machine itself, through the SSH
// connection: services behind a firewall are checked where they listen.
func (s *SSH) Dial(ctx context.Context, port int) (net.Conn, error) {
	return s.client.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
}

// Unit is the systemd unit a role service runs as on a cloud machine.
func Unit(sv role.Service) string {
	if sv.SystemdUnit != "" {
		return sv.SystemdUnit
	}
	return cloudinit.UnitName(sv)
}

// Service asks systemd whether the unit is active and enabled; on a
// twin host (TwinDir), whether the pid file's process runs.
func (s *SSH) Service(ctx context.Context, sv role.Service) (ServiceState, error) {
	if s.cfg.TwinDir != "" {
		return s.twinService(ctx, sv)
	}
	unit := ShellQuote(Unit(sv))
	active, code, err := s.Run(ctx, "systemctl is-active "+unit)
	if err != nil {
		return ServiceState{}, err
	}
	enabled, _, err := s.Run(ctx, "systemctl is-enabled "+unit)
	if err != nil {
		return ServiceState{}, err
	}
	return ServiceState{Running: code == 0, Active: strings.TrimSpace(active), Enabled: strings.TrimSpace(enabled)}, nil
}

// ShellQuote quotes s for a POSIX shell.
func ShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
