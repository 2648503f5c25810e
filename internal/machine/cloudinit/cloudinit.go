// Package cloudinit renders a role as the #cloud-config user data a cloud
// machine boots with: packages, a dedicated user, files, verified downloads,
// systemd units, setup and boot steps.
package cloudinit

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cloudlabs/cloudlabs/internal/machine/role"
	"github.com/cloudlabs/cloudlabs/templates"
)

// MaxUserData is EC2's limit on user data; GCE's is larger, so both keep to it.
const MaxUserData = 16 << 10

// Options are the platform's part of the user data.
type Options struct {
	// Platform is "aws" or "gcp": it decides how private artifacts are read.
	Platform string
	// SSHKey, when set, is authorized for the image's default user.
	SSHKey string
	// SecretIDs locate the role's SecretFiles in the platform's secret
	// store, by secret name: SSM parameter names on aws, Secret Manager
	// secret ids on gcp. Only these names reach the user data, never a value.
	SecretIDs map[string]string
	// Region is the AWS region whose Parameter Store holds the secrets.
	Region string
}

// SecretTool is the boot step that reads a secret from the platform's store
// and writes its file (templates/secret.sh.tmpl).
const SecretTool = "/usr/local/sbin/cloudlabs-secret"

// SSHHostKey is where sshd reads the machine's ed25519 host key. A role
// whose SecretFiles install it gets a machine that keeps no key of the
// image's (ssh_deletekeys), lets cloud-init generate only an ed25519 key
// at this path (cloud-init's schema refuses an empty ssh_genkeytypes),
// overwrites it with the stack's and restarts sshd on it right after the
// secret steps, before setup and services: the host key is the stack's,
// pinned in known_hosts before the first connection.
const SSHHostKey = "/etc/ssh/ssh_host_ed25519_key"

// restartSSH makes sshd (Ubuntu's ssh.service, socket-activated on 24.04)
// load the installed host key. A connection tried before the key was there
// may have left the units failed; reset them first.
const restartSSH = "systemctl reset-failed ssh.service ssh.socket || true; systemctl restart ssh.service"

// secretStep is one SecretFile as the boot step installs it.
type secretStep struct{ ID, Path, Mode, Owner string }

type unit struct{ Path, Content string }

// Render returns the user data of a machine running r.
func Render(r role.Role, o Options) (string, error) {
	if err := r.Validate(); err != nil {
		return "", err
	}
	for _, f := range r.Files {
		// User data is YAML text: bytes that are not UTF-8 would arrive
		// replaced, not as written.
		if !utf8.ValidString(f.Content) {
			return "", fmt.Errorf("render %s user data: file %s is not UTF-8 text; role files are text (fetch binary files as downloads)", r.Name, f.Path)
		}
	}
	fetch, err := templates.Render("fetch.sh.tmpl", struct{ Auth string }{o.Platform})
	if err != nil {
		return "", err
	}
	secrets, secretTool, err := secretSteps(r, o)
	if err != nil {
		return "", fmt.Errorf("render %s user data: %w", r.Name, err)
	}
	var units []unit
	var start []string
	for _, s := range r.Services {
		if s.SystemdUnit != "" {
			start = append(start, s.SystemdUnit)
			continue
		}
		u, err := Unit(s)
		if err != nil {
			return "", err
		}
		name := UnitName(s)
		units = append(units, unit{Path: "/etc/systemd/system/" + name, Content: u})
		start = append(start, name)
	}
	out, err := templates.Render("cloud-config.yaml.tmpl", struct {
		Role     role.Role
		Platform string
		User     string
		SSHKey   string
		Fetch    string
		Units    []unit
		Start    []string
		Secrets  []secretStep
		// SecretTool is the script of the secret step; "" without secrets.
		SecretTool string
		// RestartSSH is the step that puts the installed host key to use;
		// "" when the role installs none.
		RestartSSH string
	}{r, o.Platform, role.ServiceUser, o.SSHKey, fetch, units, start, secrets, secretTool, hostKeyStep(r)})
	if err != nil {
		return "", fmt.Errorf("render %s user data: %w", r.Name, err)
	}
	if len(out) > MaxUserData {
		return "", fmt.Errorf("render %s user data: %d bytes, over the %d-byte limit of EC2 user data", r.Name, len(out), MaxUserData)
	}
	return out, nil
}

// UnitName is the systemd unit a service runs as.
func UnitName(s role.Service) string { return "cloudlabs-" + s.Name + ".service" }

// Unit renders the systemd unit of a service.
func Unit(s role.Service) (string, error) {
	user := s.User
	if user == "" {
		user = role.ServiceUser
	}
	envFile := ""
	if s.EnvFile != "" {
		envFile = systemdWord(s.EnvFile)
	}
	words := append([]string{s.Exec}, s.Args...)
	for i, w := range words {
		words[i] = systemdWord(w)
	}
	return templates.Render("systemd.service.tmpl", struct {
		Name        string
		ExecStart   string
		User        string
		LimitNOFILE int
		BindLowPort bool
		EnvFile     string
	}{s.Name, strings.Join(words, " "), user, s.LimitNOFILE, s.Port > 0 && s.Port < 1024 && user != "root", envFile})
}

// systemdWord quotes one ExecStart word: systemd splits on spaces, honours
// C-style double quotes, expands % specifiers and substitutes $VAR and
// ${VAR} (inside quotes too), so a literal % is %% and a literal $ is $$.
func systemdWord(w string) string {
	w = strings.ReplaceAll(w, "%", "%%")
	w = strings.ReplaceAll(w, "$", "$$")
	if w == "" || strings.ContainsAny(w, " \t\"'\\;$") {
		return strconv.Quote(w)
	}
	return w
}

// AddSync makes the machine keep path equal to the object at url after boot,
// running reload on each change: a systemd service polls it every ten
// seconds, and a setup step fetches it once before the services start.
func AddSync(r *role.Role, name, url, path, reload string) error {
	script, err := templates.Render("sync.sh.tmpl", nil)
	if err != nil {
		return err
	}
	const bin = "/usr/local/sbin/cloudlabs-sync"
	if !hasFile(*r, bin) {
		r.Files = append(r.Files, role.File{Path: bin, Content: script, Mode: "0755"})
	}
	r.Setup = append(r.Setup, fmt.Sprintf("%s %s %s %s once", bin, shellWord(url), shellWord(path), shellWord(reload)))
	r.Services = append(r.Services, role.Service{
		Name: "sync-" + name, Exec: bin, Args: []string{url, path, reload}, User: "root",
	})
	return nil
}

func hasFile(r role.Role, path string) bool {
	for _, f := range r.Files {
		if f.Path == path {
			return true
		}
	}
	return false
}

// shellWord single-quotes s for sh.
func shellWord(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// hostKeyStep is the boot step restarting sshd when the role installs the
// host key, else "".
func hostKeyStep(r role.Role) string {
	for _, s := range r.Secrets {
		if s.Path == SSHHostKey {
			return restartSSH
		}
	}
	return ""
}

var (
	secretIDPattern = regexp.MustCompile(`^[A-Za-z0-9/_.-]{1,255}$`)
	modePattern     = regexp.MustCompile(`^0?[0-7]{3}$`)
	userPattern     = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
)

// secretSteps checks the role's SecretFiles against the store ids the
// platform gives and returns the boot steps that install them, with the
// script they run ("" when the role has no secrets).
func secretSteps(r role.Role, o Options) ([]secretStep, string, error) {
	if len(r.Secrets) == 0 {
		return nil, "", nil
	}
	if o.Platform != "aws" && o.Platform != "gcp" {
		return nil, "", fmt.Errorf("secrets: platform %q has no secret store; allowed: aws, gcp", o.Platform)
	}
	if o.Platform == "aws" && o.Region == "" {
		return nil, "", fmt.Errorf("secrets: the AWS region of the parameter store is empty")
	}
	steps := make([]secretStep, 0, len(r.Secrets))
	paths := map[string]bool{}
	for _, s := range r.Secrets {
		id, ok := o.SecretIDs[s.Name]
		switch {
		case !ok:
			return nil, "", fmt.Errorf("secret %q: the platform has no store entry for it (MachineArgs.Secrets lacks it)", s.Name)
		case !secretIDPattern.MatchString(id):
			return nil, "", fmt.Errorf("secret %q: store id %q; allowed: letters, digits, / _ . -", s.Name, id)
		case !path.IsAbs(s.Path) || path.Clean(s.Path) != s.Path:
			return nil, "", fmt.Errorf("secret %q: path %q; allowed: a clean absolute path", s.Name, s.Path)
		case paths[s.Path]:
			return nil, "", fmt.Errorf("secret %q: path %s holds another secret", s.Name, s.Path)
		case !modePattern.MatchString(s.Mode):
			return nil, "", fmt.Errorf("secret %q: mode %q; allowed: octal such as 0600", s.Name, s.Mode)
		case s.Owner != "" && !userPattern.MatchString(s.Owner):
			return nil, "", fmt.Errorf("secret %q: owner %q; allowed: a user name", s.Name, s.Owner)
		}
		paths[s.Path] = true
		owner := s.Owner
		if owner == "" {
			owner = "root"
		}
		steps = append(steps, secretStep{ID: id, Path: s.Path, Mode: s.Mode, Owner: owner})
	}
	tool, err := templates.Render("secret.sh.tmpl", struct{ Auth, Region string }{o.Platform, o.Region})
	if err != nil {
		return nil, "", err
	}
	return steps, tool, nil
}
