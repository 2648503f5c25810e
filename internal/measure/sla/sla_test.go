package sla

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct {
		name, in, want, err string
	}{
		{"lab one", "mean=200ms,p98=300ms,max=1.5s", "mean=200ms,p98=300ms,max=1.5s", ""},
		{"order normalised", "max=1s, mean=300ms", "mean=300ms,max=1s", ""},
		{"unknown metric", "p97=1s", "", "p97"},
		{"bad duration", "mean=fast", "", "mean"},
		{"empty", "", "", "no bounds"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Parse(c.in)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %v, want an error mentioning %q", err, c.err)
				}
				return
			}
			if err != nil || s.String() != c.want {
				t.Fatalf("got %q, %v; want %q", s.String(), err, c.want)
			}
		})
	}
}

func TestViolations(t *testing.T) {
	s, _ := Parse("mean=200ms,p98=300ms,max=1.5s")
	cases := []struct {
		name     string
		measured map[string]float64
		failed   int
		want     int
	}{
		{"meets", map[string]float64{"mean": 150, "p98": 299, "max": 1000}, 0, 0},
		{"bound is strict", map[string]float64{"mean": 200, "p98": 100, "max": 100}, 0, 1},
		{"failures break it", map[string]float64{"mean": 1, "p98": 1, "max": 1}, 3, 1},
		{"all broken", map[string]float64{"mean": 900, "p98": 900, "max": 9000}, 0, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := s.Violations(c.measured, c.failed); len(got) != c.want {
				t.Fatalf("got %q, want %d violations", got, c.want)
			}
		})
	}
}
