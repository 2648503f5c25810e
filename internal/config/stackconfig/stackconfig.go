// Package stackconfig turns a stack's configuration into typed, validated
// settings: every bad value is reported, with its key, the value and what is
// allowed, before any resource is created.
package stackconfig

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cloudlabs/cloudlabs/internal/pool/ring"
)

// Environments and platforms the program knows.
var (
	AllEnvironments = []string{"phonebook", "fibonacci", "cachepool", "gallery"}
	AllPlatforms    = []string{"local", "aws", "gcp"}
	AllPolicies     = []string{"lru", "random", "lfu"}
	// AllRings are the pool's key-to-node schemes (internal/pool/ring).
	AllRings = ring.Schemes()
)

// DefaultRiakPackageURL is the OpenRiak KV release the Riak nodes install.
const DefaultRiakPackageURL = "https://files.tiot.jp/riak/kv/3.4/3.4.0/ubuntu/noble64/riak_3.4.0-OTP26_amd64.deb"

// Config is a stack's validated configuration. Defaults live in Parse only.
type Config struct {
	Platform     string   // cloudlabs:platform
	Environments []string // cloudlabs:environments
	InstanceType string   // cloudlabs:instanceType ("" = the platform's default)
	Image        string   // cloudlabs:image: a pinned AMI or GCE image ("" = latest Ubuntu LTS)

	RiakNodes         int    // riak:nodes
	RiakSize          string // riak:instanceType ("" = the platform's default for Riak)
	RiakPackageURL    string // riak:packageUrl
	RiakPackageSHA256 string // riak:packageSha256 (required where Riak is installed)

	CacheTTL time.Duration // phonebook:cacheTtl

	FibonacciNodes int // fibonacci:nodes
	FibonacciMaxN  int // fibonacci:maxN

	CachePoolNodes      int    // cachepool:nodes
	CachePoolCapacityMB int    // cachepool:capacityMB
	CachePoolPolicy     string // cachepool:policy
	CachePoolAllowCIDR  string // cachepool:allowCidr ("" = only from inside the network)
	CachePoolMaxNodes   int    // cachepool:maxNodes: the slots; the manager owns how many are active
	CachePoolRing       string // cachepool:ring: how the gallery routes keys to nodes
	ManagerAllowCIDR    string // manager:allowCidr ("" = only from inside the network)
	GalleryMaxImageMB   int    // gallery:maxImageMB

	HTTPAllowCIDR string // http:allowCidr

	SSHAllowCIDR string // ssh:allowCidr
	SSHPublicKey string // ssh:publicKey ("" with SSHAllowCIDR "" = SSH closed)

	NetworkDelayMs int     // network:delayMs
	NetworkLossPct float64 // network:lossPct

	LocalNetwork      string // local:network: loopback or netns (the twin's hosts as network namespaces; root only)
	LocalNetworkRange string // local:networkRange: the block the twin's stack /24s come from (netns)
	LocalLinkRateKbit int    // local:linkRateKbit: each twin host's link rate in netns mode (tbf; 0 = unshaped)
}

// Enabled reports whether env is one of the stack's environments.
func (c Config) Enabled(env string) bool { return slices.Contains(c.Environments, env) }

// SSHOpen reports whether the stack opens SSH to its machines.
func (c Config) SSHOpen() bool { return c.SSHAllowCIDR != "" && c.SSHPublicKey != "" }

// Getter returns the raw value of a key ("riak:nodes") and whether it is set.
// Lists may come as a JSON array or as comma-separated words.
type Getter func(key string) (string, bool)

// Parse reads and validates every key for a deployment, reporting all
// problems at once: what only a real `up` on a cloud needs (NotReady) is an
// error here.
func Parse(get Getter) (Config, error) { return parse(get, true) }

// ParsePlan reads and validates every key for what only plans a stack
// (render, preview, cost): what a deployment alone needs is left to
// NotReady, for the caller to warn about.
func ParsePlan(get Getter) (Config, error) { return parse(get, false) }

func parse(get Getter, deploy bool) (Config, error) {
	p := parser{get: get}
	c := Config{
		Platform:     p.oneOf("cloudlabs:platform", "local", AllPlatforms),
		Environments: p.list("cloudlabs:environments", AllEnvironments, AllEnvironments),
		InstanceType: p.str("cloudlabs:instanceType", ""),
		Image:        p.str("cloudlabs:image", ""),

		RiakNodes:         p.intIn("riak:nodes", 2, 1, 7),
		RiakSize:          p.str("riak:instanceType", ""),
		RiakPackageURL:    p.str("riak:packageUrl", DefaultRiakPackageURL),
		RiakPackageSHA256: p.sha256("riak:packageSha256"),

		CacheTTL: p.duration("phonebook:cacheTtl", 10*time.Second, time.Second, 24*time.Hour),

		FibonacciNodes: p.intIn("fibonacci:nodes", 3, 1, 20),
		FibonacciMaxN:  p.intIn("fibonacci:maxN", 10000, 1, 100000),

		CachePoolNodes:      p.intIn("cachepool:nodes", 2, 1, 8),
		CachePoolCapacityMB: p.intIn("cachepool:capacityMB", 64, 1, 65536),
		CachePoolPolicy:     p.oneOf("cachepool:policy", "lru", AllPolicies),
		CachePoolAllowCIDR:  p.privateCIDR("cachepool:allowCidr", "the cache's data and admin ports"),
		CachePoolMaxNodes:   p.intIn("cachepool:maxNodes", 8, 1, 8),
		CachePoolRing:       p.oneOf("cachepool:ring", ring.SchemeLab, AllRings),
		ManagerAllowCIDR:    p.privateCIDR("manager:allowCidr", "the pool manager's dashboard and API"),
		GalleryMaxImageMB:   p.intIn("gallery:maxImageMB", 5, 1, 100),

		HTTPAllowCIDR: p.cidr("http:allowCidr", "0.0.0.0/0"),

		SSHAllowCIDR: p.privateCIDR("ssh:allowCidr", "SSH"),
		SSHPublicKey: p.sshKey("ssh:publicKey"),

		NetworkDelayMs: p.intIn("network:delayMs", 0, 0, 10000),
		NetworkLossPct: p.floatIn("network:lossPct", 0, 0, 100),

		LocalNetwork:      resolveLocalNetwork(p.oneOf("local:network", LocalLoopback, LocalNetworks), os.Geteuid()),
		LocalNetworkRange: p.localRange("local:networkRange", DefaultLocalNetworkRange),
		LocalLinkRateKbit: p.intIn("local:linkRateKbit", 0, 0, 10_000_000),
	}
	if deploy {
		for _, msg := range c.NotReady() {
			p.fail(msg)
		}
	}
	if c.CachePoolNodes > c.CachePoolMaxNodes && c.CachePoolMaxNodes > 0 {
		p.fail(fmt.Sprintf("cachepool:nodes: %d is more than cachepool:maxNodes (%d); allowed: 1 to cachepool:maxNodes", c.CachePoolNodes, c.CachePoolMaxNodes))
	}
	if c.Enabled("gallery") && !c.Enabled("cachepool") {
		p.fail("cloudlabs:environments: gallery reads through the cache pool; allowed: gallery together with cachepool")
	}
	// Set, not valid: a refused value has been reported already.
	if set := func(k string) bool { v, _ := get(k); return strings.TrimSpace(v) != "" }; set("ssh:allowCidr") != set("ssh:publicKey") {
		p.fail("ssh:allowCidr and ssh:publicKey open SSH together: set both, or neither to keep SSH closed")
	}
	if len(p.errs) > 0 {
		msgs := make([]string, len(p.errs))
		for i, e := range p.errs {
			msgs[i] = e.Error()
		}
		return Config{}, errors.New("invalid stack configuration:\n  " + strings.Join(msgs, "\n  "))
	}
	return c, nil
}

// NotReady lists what a real deployment of c still needs, each naming the
// key and how to set it; nothing for the local twin.
func (c Config) NotReady() []string {
	var out []string
	if c.Platform != "local" && c.Enabled("phonebook") && c.RiakPackageSHA256 == "" {
		out = append(out, fmt.Sprintf("riak:packageSha256: required for the phone book on %s, so the nodes install exactly the Riak package you checked; allowed: the hex SHA-256 of riak:packageUrl, from `curl -fsSL %s | sha256sum`", c.Platform, c.RiakPackageURL))
	}
	return out
}

// Keys lists every key Parse reads, for docs and for rejecting typos.
var Keys = []string{
	"cloudlabs:platform", "cloudlabs:environments", "cloudlabs:instanceType", "cloudlabs:image",
	"riak:nodes", "riak:instanceType", "riak:packageUrl", "riak:packageSha256", "riak:cookie", "phonebook:cacheTtl",
	"fibonacci:nodes", "fibonacci:maxN",
	"cachepool:nodes", "cachepool:capacityMB", "cachepool:policy", "cachepool:allowCidr",
	"cachepool:maxNodes", "cachepool:ring", "manager:allowCidr", "gallery:maxImageMB",
	"http:allowCidr", "ssh:allowCidr", "ssh:publicKey", "network:delayMs", "network:lossPct",
	"local:network", "local:networkRange", "local:linkRateKbit",
}

type parser struct {
	get  Getter
	errs []error
}

func (p *parser) fail(msg string) { p.errs = append(p.errs, errors.New(msg)) }

func (p *parser) str(key, def string) string {
	if v, ok := p.get(key); ok {
		return strings.TrimSpace(v)
	}
	return def
}

func (p *parser) oneOf(key, def string, allowed []string) string {
	v := p.str(key, def)
	if !slices.Contains(allowed, v) {
		p.fail(fmt.Sprintf("%s: %q is not allowed; allowed: %s", key, v, strings.Join(allowed, ", ")))
	}
	return v
}

func (p *parser) list(key string, def, allowed []string) []string {
	raw, ok := p.get(key)
	if !ok {
		return slices.Clone(def)
	}
	var vs []string
	if strings.HasPrefix(strings.TrimSpace(raw), "[") {
		if err := json.Unmarshal([]byte(raw), &vs); err != nil {
			p.fail(fmt.Sprintf("%s: %q is not a list of names: %v", key, raw, err))
			return nil
		}
	} else {
		for _, f := range strings.Split(raw, ",") {
			if f = strings.TrimSpace(f); f != "" {
				vs = append(vs, f)
			}
		}
	}
	if len(vs) == 0 {
		p.fail(fmt.Sprintf("%s: empty; allowed: one or more of %s", key, strings.Join(allowed, ", ")))
	}
	var out []string
	for _, v := range vs {
		if !slices.Contains(allowed, v) {
			p.fail(fmt.Sprintf("%s: %q is not allowed; allowed: %s", key, v, strings.Join(allowed, ", ")))
			continue
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func (p *parser) intIn(key string, def, lo, hi int) int {
	raw, ok := p.get(key)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(raw))
	if err != nil || n < lo || n > hi {
		p.fail(fmt.Sprintf("%s: %q is not allowed; allowed: a whole number from %d to %d", key, raw, lo, hi))
		return def
	}
	return n
}

func (p *parser) floatIn(key string, def, lo, hi float64) float64 {
	raw, ok := p.get(key)
	if !ok {
		return def
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
	if err != nil || f < lo || f > hi {
		p.fail(fmt.Sprintf("%s: %q is not allowed; allowed: a number from %g to %g", key, raw, lo, hi))
		return def
	}
	return f
}

func (p *parser) duration(key string, def, lo, hi time.Duration) time.Duration {
	raw, ok := p.get(key)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(strings.TrimSpace(raw))
	if err != nil || d < lo || d > hi {
		p.fail(fmt.Sprintf("%s: %q is not allowed; allowed: a duration from %v to %v, such as 10s", key, raw, lo, hi))
		return def
	}
	return d
}

func (p *parser) cidr(key, def string) string {
	v := p.str(key, def)
	if v == "" {
		return ""
	}
	pfx, err := netip.ParsePrefix(v)
	if err != nil || pfx.Masked() != pfx {
		p.fail(fmt.Sprintf("%s: %q is not allowed; allowed: a CIDR block with no host bits set, such as 203.0.113.0/24", key, v))
		return def
	}
	return v
}

func (p *parser) sha256(key string) string {
	v := strings.ToLower(p.str(key, ""))
	if v == "" {
		return ""
	}
	if _, err := hex.DecodeString(v); err != nil || len(v) != 64 {
		p.fail(fmt.Sprintf("%s: %q is not allowed; allowed: 64 hexadecimal digits", key, v))
		return ""
	}
	return v
}

func (p *parser) sshKey(key string) string {
	v := p.str(key, "")
	if v == "" {
		return ""
	}
	if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(v)); err != nil {
		p.fail(fmt.Sprintf("%s: not a valid public key (%v); allowed: one line in authorized_keys format, such as the content of ~/.ssh/id_ed25519.pub", key, err))
		return ""
	}
	return v
}
