package stackconfig

import (
	"os"
	"strings"
	"testing"
)

func TestLocalKeys(t *testing.T) {
	tests := []struct {
		name  string
		set   map[string]string
		want  string // a part of the error; "" means valid
		check func(Config) bool
	}{
		{"netns", map[string]string{"local:network": "netns"}, "", func(c Config) bool { return c.LocalNetwork == LocalNetns }},
		{"loopback", map[string]string{"local:network": "loopback"}, "", func(c Config) bool { return c.LocalNetwork == LocalLoopback }},
		{"unknown mode", map[string]string{"local:network": "bridge"}, `local:network: "bridge" is not allowed; allowed: loopback, netns`, nil},
		{"a /20 range", map[string]string{"local:networkRange": "172.20.0.0/20"}, "", func(c Config) bool { return c.LocalNetworkRange == "172.20.0.0/20" }},
		{"a public range", map[string]string{"local:networkRange": "198.51.100.0/24"}, `local:networkRange: "198.51.100.0/24" is not a private IPv4 block`, nil},
		{"a range smaller than a /24", map[string]string{"local:networkRange": "10.9.9.0/25"}, "of /24 or wider", nil},
		{"an IPv6 range", map[string]string{"local:networkRange": "fd00::/64"}, "not a private IPv4 block", nil},
		{"host bits set", map[string]string{"local:networkRange": "10.213.0.1/16"}, "no host bits set", nil},
		{"a link rate", map[string]string{"local:linkRateKbit": "8000"}, "", func(c Config) bool { return c.LocalLinkRateKbit == 8000 }},
		{"a negative rate", map[string]string{"local:linkRateKbit": "-1"}, "local:linkRateKbit", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(getter(tt.set))
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !tt.check(c) {
					t.Fatalf("got %+v", c)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestLocalNetworkAutoIsNetnsForRootOnly(t *testing.T) {
	for _, tc := range []struct {
		value string
		euid  int
		want  string
	}{
		{LocalAuto, 0, LocalNetns},
		{LocalAuto, 1000, LocalLoopback},
		{LocalLoopback, 0, LocalLoopback},
		{LocalNetns, 1000, LocalNetns}, // refused later, by the platform, with the reason
	} {
		if got := resolveLocalNetwork(tc.value, tc.euid); got != tc.want {
			t.Errorf("%s as uid %d: %s, want %s", tc.value, tc.euid, got, tc.want)
		}
	}
	c, err := Parse(func(k string) (string, bool) {
		if k == "local:network" {
			return "auto", true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.LocalNetwork != resolveLocalNetwork(LocalAuto, os.Geteuid()) {
		t.Errorf("Parse kept local:network %q, want auto resolved for this process", c.LocalNetwork)
	}
}
