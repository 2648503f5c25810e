package stackconfig

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

func projectSchema(t *testing.T) Schema {
	t.Helper()
	s, err := LoadSchema(filepath.Join(testkit.ModuleRoot(t), "Pulumi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSchemaIsWhatParseReads: the keys Pulumi.yaml declares (plus the
// secrets it cannot declare) are exactly the keys Parse asks for, plus
// riak:cookie, which the program reads itself; and Keys says the same.
func TestSchemaIsWhatParseReads(t *testing.T) {
	var read []string
	if _, err := Parse(func(k string) (string, bool) { read = append(read, k); return "", false }); err != nil {
		t.Fatal(err)
	}
	read = append(read, Secrets...)
	slices.Sort(read)
	read = slices.Compact(read)
	declared := projectSchema(t).Keys()
	if !slices.Equal(read, declared) {
		t.Errorf("Parse reads %q,\nPulumi.yaml declares %q", read, declared)
	}
	keys := slices.Sorted(slices.Values(Keys))
	if !slices.Equal(keys, declared) {
		t.Errorf("Keys lists %q,\nPulumi.yaml declares %q", keys, declared)
	}
}

func TestUnknownKeys(t *testing.T) {
	s := projectSchema(t)
	for _, tc := range []struct {
		name string
		keys []string
		want []string // each unknown key and its suggestion; none: accepted
	}{
		{"declared keys", []string{"fibonacci:nodes", "cloudlabs:platform", "riak:cookie", "ssh:allowCidr"}, nil},
		{"project key without namespace", []string{"platform", "environments"}, nil},
		{"provider keys", []string{"aws:region", "gcp:project", "gcp:zone", "pulumi:tags"}, nil},
		{"a namespace far from the project's", []string{"kubernetes:context"}, nil},
		{"typo in a key", []string{"fibonacci:node"}, []string{"fibonacci:node: no such config key; did you mean fibonacci:nodes?"}},
		{"typo in a namespace", []string{"fibonaci:nodes"}, []string{"fibonaci:nodes: no such config key; did you mean fibonacci:nodes?"}},
		{"unknown project key", []string{"nosuchkey"}, []string{"cloudlabs:nosuchkey: no such config key; did you mean"}},
		{"wrong case", []string{"cachepool:capacitymb"}, []string{"did you mean cachepool:capacityMB?"}},
		{"every one at once", []string{"riak:node", "fibonacci:nodes", "htp:allowCidr"}, []string{"riak:node: no such config key; did you mean riak:nodes?", "htp:allowCidr: no such config key; did you mean http:allowCidr?"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Check(tc.keys)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("got %v, want %q accepted", err, tc.keys)
				}
				return
			}
			if err == nil {
				t.Fatalf("got no error, want one containing %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestParseSchemaErrors(t *testing.T) {
	for _, tc := range []struct{ name, yaml string }{
		{"not yaml", "name: [x"},
		{"no config", "name: x\nruntime: go\n"},
		{"no name", "config:\n  x:a:\n    value: 1\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseSchema([]byte(tc.yaml)); err == nil {
				t.Fatal("got no error")
			}
		})
	}
	if _, err := LoadSchema(filepath.Join(t.TempDir(), "Pulumi.yaml")); err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("missing file: got %v, want it named as missing", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok || u.Unwrap() == nil {
			return err
		}
		err = u.Unwrap()
	}
}

// TestAdminCIDRs: blocks that open an admin or data port may not reach
// more of the internet than a /16 (IPv4) or /48 (IPv6), except inside
// private space; port 80's http:allowCidr may.
func TestAdminCIDRs(t *testing.T) {
	for _, name := range []string{"cachepool:allowCidr", "ssh:allowCidr"} {
		for _, tc := range []struct {
			cidr string
			ok   bool
			want string // in the error
		}{
			{"0.0.0.0/0", false, "whole internet"},
			{"0.0.0.0/1", false, "a /1 of public addresses, wider than /16"},
			{"128.0.0.0/1", false, "a /1 of public addresses"},
			{"203.0.0.0/8", false, "a /8 of public addresses"},
			{"198.50.0.0/15", false, "a /15 of public addresses"},
			{"172.0.0.0/8", false, "a /8 of public addresses"}, // holds 172.16/12, but more
			{"::/0", false, "whole internet"},
			{"2001:db8::/32", false, "a /32 of public addresses, wider than /48"},
			{"::ffff:0.0.0.0/96", false, "IPv4-mapped"},
			{"198.51.0.0/16", true, ""},
			{"203.0.113.0/24", true, ""},
			{"203.0.113.7/32", true, ""},
			{"10.0.0.0/8", true, ""},
			{"172.16.0.0/12", true, ""},
			{"192.168.0.0/16", true, ""},
			{"fc00::/7", true, ""},
			{"fd12:3456::/32", true, ""},
			{"2001:db8:1::/48", true, ""},
		} {
			t.Run(name+"="+tc.cidr, func(t *testing.T) {
				cfg := map[string]string{name: tc.cidr}
				if name == "ssh:allowCidr" {
					cfg["ssh:publicKey"] = key
				}
				c, err := Parse(getter(cfg))
				if tc.ok {
					if err != nil {
						t.Fatalf("got %v, want %s accepted", err, tc.cidr)
					}
					if got := c.CachePoolAllowCIDR + c.SSHAllowCIDR; got != tc.cidr {
						t.Errorf("got %q, want %q", got, tc.cidr)
					}
					return
				}
				if err == nil {
					t.Fatalf("got no error, want %s refused", tc.cidr)
				}
				for _, w := range []string{name + `: "` + tc.cidr + `"`, tc.want, "/16 or narrower", "/48 or narrower"} {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				if strings.Contains(err.Error(), "set both") {
					t.Errorf("error %q also says SSH is half open, though both keys are set", err)
				}
			})
		}
	}
	t.Run("http:allowCidr may be the internet", func(t *testing.T) {
		if _, err := Parse(getter(map[string]string{"http:allowCidr": "0.0.0.0/1"})); err != nil {
			t.Fatal(err)
		}
	})
}

// TestRiakChecksumOnlyForDeployments: a cloud phone book without
// riak:packageSha256 is refused by Parse (a deployment) and accepted by
// ParsePlan, which leaves it to NotReady, with how to compute it.
func TestRiakChecksumOnlyForDeployments(t *testing.T) {
	cfg := map[string]string{"cloudlabs:platform": "aws", "cloudlabs:environments": "phonebook"}
	const how = "`curl -fsSL " + DefaultRiakPackageURL + " | sha256sum`"
	if _, err := Parse(getter(cfg)); err == nil || !strings.Contains(err.Error(), how) {
		t.Errorf("Parse: got %v, want the missing checksum and %s", err, how)
	}
	c, err := ParsePlan(getter(cfg))
	if err != nil {
		t.Fatalf("ParsePlan: %v", err)
	}
	missing := c.NotReady()
	if len(missing) != 1 || !strings.HasPrefix(missing[0], "riak:packageSha256: required for the phone book on aws") || !strings.Contains(missing[0], how) {
		t.Errorf("NotReady: got %q, want the checksum and how to compute it", missing)
	}
	for _, other := range []map[string]string{
		{"cloudlabs:platform": "local"},
		{"cloudlabs:platform": "gcp", "cloudlabs:environments": "fibonacci"},
		{"cloudlabs:platform": "gcp", "riak:packageSha256": strings.Repeat("ab", 32)},
	} {
		c, err := Parse(getter(other))
		if err != nil {
			t.Fatalf("%v: %v", other, err)
		}
		if got := c.NotReady(); len(got) != 0 {
			t.Errorf("%v: NotReady %q, want nothing", other, got)
		}
	}
	if _, err := ParsePlan(getter(map[string]string{"cloudlabs:platform": "aws", "fibonacci:nodes": "0"})); err == nil {
		t.Error("ParsePlan accepted a bad value")
	}
}
