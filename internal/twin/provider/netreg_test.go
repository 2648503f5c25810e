package provider

import (
	"fmt"
	"testing"
)

func TestInboundFor(t *testing.T) {
	hosts := []hostRecord{
		{Machine: "lb", Group: "lb", Addr: "10.0.0.2"},
		{Machine: "n0", Group: "nodes", Addr: "10.0.0.3"},
		{Machine: "n1", Group: "nodes", Addr: "10.0.0.4"},
	}
	rules := []ruleRecord{
		{Name: "http", To: "lb", CIDRs: []string{"0.0.0.0/0"}, Ports: [][2]uint16{{80, 80}}},
		{Name: "app", To: "nodes", From: "lb", Ports: [][2]uint16{{8080, 8080}}},
		{Name: "peers", To: "nodes", From: "nodes", Ports: [][2]uint16{{7000, 7999}}},
		{Name: "ssh", To: allHosts, CIDRs: []string{"10.0.0.1/32"}, Ports: [][2]uint16{{22, 22}}},
		{Name: "from-nobody", To: "lb", From: "empty", Ports: [][2]uint16{{9, 9}}},
	}
	tests := []struct {
		group string
		want  string
	}{
		{"lb", "[{[0.0.0.0/0] [{80 80}]} {[10.0.0.1/32] [{22 22}]}]"},
		{"nodes", "[{[10.0.0.2/32] [{8080 8080}]} {[10.0.0.3/32 10.0.0.4/32] [{7000 7999}]} {[10.0.0.1/32] [{22 22}]}]"},
		{"", "[{[10.0.0.1/32] [{22 22}]}]"},
	}
	for _, tt := range tests {
		t.Run("group "+tt.group, func(t *testing.T) {
			got, err := inboundFor(tt.group, rules, hosts)
			if err != nil {
				t.Fatal(err)
			}
			if s := fmt.Sprint(got); s != tt.want {
				t.Fatalf("got %s, want %s", s, tt.want)
			}
		})
	}
}
