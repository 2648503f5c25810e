package stackconfig

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

func getter(m map[string]string) Getter {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGb0yU1p9wWc0Ojt0Fh2p7dEwpI3lS3b8Wm3mBvI3x1X user@host"

func TestDefaults(t *testing.T) {
	c, err := Parse(getter(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Platform: "local", Environments: AllEnvironments, RiakNodes: 2, RiakPackageURL: DefaultRiakPackageURL,
		CacheTTL: 10 * time.Second, FibonacciNodes: 3, FibonacciMaxN: 10000,
		CachePoolNodes: 2, CachePoolCapacityMB: 64, CachePoolPolicy: "lru", HTTPAllowCIDR: "0.0.0.0/0",
		CachePoolMaxNodes: 8, CachePoolRing: "lab", GalleryMaxImageMB: 5,
		LocalNetwork: LocalLoopback, LocalNetworkRange: DefaultLocalNetworkRange,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got %+v, want %+v", c, want)
	}
	if c.SSHOpen() {
		t.Error("SSH is open by default")
	}
}

func TestValues(t *testing.T) {
	c, err := Parse(getter(map[string]string{
		"cloudlabs:platform": "aws", "cloudlabs:environments": `["fibonacci","cachepool","fibonacci"]`,
		"fibonacci:nodes": "20", "cachepool:policy": "random", "ssh:allowCidr": "198.51.100.0/24", "ssh:publicKey": key,
		"phonebook:cacheTtl": "30s", "network:lossPct": "2.5",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Environments; !reflect.DeepEqual(got, []string{"fibonacci", "cachepool"}) {
		t.Errorf("environments: got %q", got)
	}
	if c.FibonacciNodes != 20 || c.CachePoolPolicy != "random" || !c.SSHOpen() || c.CacheTTL != 30*time.Second || c.NetworkLossPct != 2.5 {
		t.Errorf("got %+v", c)
	}
	if c.Enabled("phonebook") {
		t.Error("phonebook enabled though not listed")
	}
	c, err = Parse(getter(map[string]string{"cloudlabs:environments": "phonebook, cachepool"}))
	if err != nil || !reflect.DeepEqual(c.Environments, []string{"phonebook", "cachepool"}) {
		t.Errorf("comma list: got %q, %v", c.Environments, err)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  map[string]string
		want []string
	}{
		{"nodes not a number", map[string]string{"riak:nodes": "two"}, []string{`riak:nodes: "two"`, "from 1 to 7"}},
		{"platform", map[string]string{"cloudlabs:platform": "azure"}, []string{`"azure"`, "local, aws, gcp"}},
		{"environment", map[string]string{"cloudlabs:environments": "phonebook,shop"}, []string{`"shop"`, "phonebook, fibonacci, cachepool"}},
		{"empty environments", map[string]string{"cloudlabs:environments": "[]"}, []string{"cloudlabs:environments: empty"}},
		{"policy", map[string]string{"cachepool:policy": "fifo"}, []string{`cachepool:policy: "fifo"`, "lru, random"}},
		{"cidr", map[string]string{"http:allowCidr": "10.0.0.300/8"}, []string{`http:allowCidr: "10.0.0.300/8"`, "CIDR block"}},
		{"cidr host bits", map[string]string{"ssh:allowCidr": "10.1.2.3/8", "ssh:publicKey": key}, []string{`ssh:allowCidr: "10.1.2.3/8"`}},
		{"ssh key", map[string]string{"ssh:allowCidr": "10.0.0.0/8", "ssh:publicKey": "ssh-rsa nonsense"}, []string{"ssh:publicKey: not a valid public key"}},
		{"ssh half open", map[string]string{"ssh:allowCidr": "10.0.0.0/8"}, []string{"set both, or neither"}},
		{"cache open to world", map[string]string{"cachepool:allowCidr": "0.0.0.0/0"}, []string{"cachepool:allowCidr", "whole internet"}},
		{"ttl", map[string]string{"phonebook:cacheTtl": "10"}, []string{`phonebook:cacheTtl: "10"`, "such as 10s"}},
		{"riak sha on cloud", map[string]string{"cloudlabs:platform": "gcp"}, []string{"riak:packageSha256: required for the phone book on gcp"}},
		{"riak sha malformed", map[string]string{"riak:packageSha256": "abc"}, []string{`riak:packageSha256: "abc"`, "64 hexadecimal digits"}},
		{"all at once", map[string]string{"fibonacci:nodes": "0", "cachepool:nodes": "9"}, []string{"fibonacci:nodes", "cachepool:nodes"}},
		{"more nodes than slots", map[string]string{"cachepool:nodes": "4", "cachepool:maxNodes": "3"}, []string{"cachepool:nodes: 4 is more than cachepool:maxNodes (3)"}},
		{"slots beyond the lab's 8", map[string]string{"cachepool:maxNodes": "9"}, []string{`cachepool:maxNodes: "9"`, "from 1 to 8"}},
		{"ring", map[string]string{"cachepool:ring": "ketama"}, []string{`cachepool:ring: "ketama"`, "lab, jump, rendezvous"}},
		{"manager open to world", map[string]string{"manager:allowCidr": "0.0.0.0/1"}, []string{"manager:allowCidr", "pool manager"}},
		{"gallery without its pool", map[string]string{"cloudlabs:environments": "gallery"}, []string{"gallery together with cachepool"}},
		{"image too large", map[string]string{"gallery:maxImageMB": "500"}, []string{`gallery:maxImageMB: "500"`, "from 1 to 100"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(getter(tc.cfg))
			if err == nil {
				t.Fatalf("got no error, want one naming %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// numericBound is one bound of a numeric key, as the README's
// configuration table and Pulumi.yaml's descriptions state it.
type numericBound struct {
	key        string
	lo, hi     any    // the allowed range, as the message writes it (hi nil: no upper bound stated)
	below      string // a value just below lo
	above      string // a value just above hi
	atLo, atHi string // the bounds themselves, accepted
	got        func(Config) string
}

var numericBounds = []numericBound{
	{"riak:nodes", 1, 7, "0", "8", "1", "7", func(c Config) string { return fmt.Sprint(c.RiakNodes) }},
	{"fibonacci:nodes", 1, 20, "0", "21", "1", "20", func(c Config) string { return fmt.Sprint(c.FibonacciNodes) }},
	{"fibonacci:maxN", 1, 100000, "0", "100001", "1", "100000", func(c Config) string { return fmt.Sprint(c.FibonacciMaxN) }},
	{"cachepool:nodes", 1, 8, "0", "9", "1", "8", func(c Config) string { return fmt.Sprint(c.CachePoolNodes) }},
	{"cachepool:capacityMB", 1, nil, "0", "", "1", "", func(c Config) string { return fmt.Sprint(c.CachePoolCapacityMB) }},
	{"phonebook:cacheTtl", time.Second, 24 * time.Hour, "999ms", "24h0m1s", "1s", "24h", func(c Config) string { return c.CacheTTL.String() }},
	{"network:delayMs", 0, 10000, "-1", "10001", "0", "10000", func(c Config) string { return fmt.Sprint(c.NetworkDelayMs) }},
	{"network:lossPct", 0, 100, "-0.1", "100.1", "0", "100", func(c Config) string { return fmt.Sprint(c.NetworkLossPct) }},
}

// TestNumericBoundsRejected: a value just outside either bound of a
// numeric key fails alone, with an error naming the key, the bad value and
// the allowed range.
func TestNumericBoundsRejected(t *testing.T) {
	cases := 0
	for _, b := range numericBounds {
		for _, side := range []struct{ name, value string }{{"below", b.below}, {"above", b.above}} {
			if side.value == "" {
				continue // no upper bound stated
			}
			cases++
			t.Run(fmt.Sprintf("%s=%s (%s)", b.key, side.value, side.name), func(t *testing.T) {
				_, err := Parse(getter(map[string]string{b.key: side.value}))
				if err == nil {
					t.Fatalf("%s=%s accepted", b.key, side.value)
				}
				want := []string{b.key, fmt.Sprintf("%q", side.value), fmt.Sprintf("from %v", b.lo)}
				if b.hi != nil {
					want[2] = fmt.Sprintf("from %v to %v", b.lo, b.hi)
				}
				for _, w := range want {
					// Whole numbers only: "to 100" must not match "to 1000".
					if !regexp.MustCompile(regexp.QuoteMeta(w) + `([^0-9.]|$)`).MatchString(err.Error()) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				for _, other := range numericBounds {
					if other.key != b.key && strings.Contains(err.Error(), other.key+":") {
						t.Errorf("error %q also blames %s", err, other.key)
					}
				}
			})
		}
	}
	if cases < 2*len(numericBounds)-1 {
		t.Errorf("%d cases for %d keys: a bound is missing", cases, len(numericBounds))
	}
}

// TestNumericBoundsAccepted: both bounds of every numeric key are allowed
// and read as given.
func TestNumericBoundsAccepted(t *testing.T) {
	if len(numericBounds) == 0 {
		t.Fatal("no numeric keys")
	}
	for _, b := range numericBounds {
		for _, v := range []string{b.atLo, b.atHi} {
			if v == "" {
				continue
			}
			t.Run(b.key+"="+v, func(t *testing.T) {
				c, err := Parse(getter(map[string]string{b.key: v}))
				if err != nil {
					t.Fatalf("%s=%s refused: %v", b.key, v, err)
				}
				want := v
				if b.key == "phonebook:cacheTtl" {
					d, _ := time.ParseDuration(v)
					want = d.String()
				}
				if got := b.got(c); got != want {
					t.Errorf("read %s, want %s", got, want)
				}
			})
		}
	}
}

// TestPulumiYAMLMatchesDefaults keeps the schema in Pulumi.yaml honest:
// every key Parse reads is declared there, with Go's default.
func TestPulumiYAMLMatchesDefaults(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testkit.ModuleRoot(t), "Pulumi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var project struct {
		Config map[string]struct {
			Default any `yaml:"default"`
			Value   any `yaml:"value"`
		} `yaml:"config"`
	}
	if err := yaml.Unmarshal(b, &project); err != nil {
		t.Fatal(err)
	}
	fromYAML := map[string]string{}
	for _, k := range Keys {
		if k == "riak:cookie" { // a secret: no default to declare
			continue
		}
		e, ok := project.Config[k]
		if !ok {
			t.Errorf("Pulumi.yaml does not declare %s", k)
			continue
		}
		v := e.Value
		if v == nil {
			v = e.Default
		}
		if list, ok := v.([]any); ok {
			parts := make([]string, len(list))
			for i, x := range list {
				parts[i] = fmt.Sprint(x)
			}
			fromYAML[k] = strings.Join(parts, ",")
			continue
		}
		fromYAML[k] = fmt.Sprint(v)
	}
	got, err := Parse(getter(fromYAML))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Parse(getter(nil))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Pulumi.yaml defaults differ from Go's:\n yaml %+v\n go   %+v", got, want)
	}
	for k := range project.Config {
		if !contains(Keys, k) {
			t.Errorf("Pulumi.yaml declares %s, which the program does not read", k)
		}
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
