package metrics

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudlabs/cloudlabs/internal/system"
)

// TestNamesMatchCachenode reads cachenode's exporter source: every name here
// must be one it registers (Namespace "cachenode" + the name), so the
// queries and the tests' fake nodes use what the real nodes export.
func TestNamesMatchCachenode(t *testing.T) {
	root, err := system.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(root, "apps/cachenode/internal/admin/metrics.go"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(src)
	if !strings.Contains(text, `Namespace: "cachenode"`) {
		t.Fatal(`cachenode's metrics.go no longer sets Namespace: "cachenode"`)
	}
	names := []string{Hits, Misses, Sets, Evictions, Requests, Items, Bytes, Capacity}
	if len(names) != 8 {
		t.Fatalf("%d names, want 8", len(names))
	}
	for _, n := range names {
		short, ok := strings.CutPrefix(n, "cachenode_")
		if !ok {
			t.Errorf("%s: want the cachenode_ prefix", n)
			continue
		}
		if !strings.Contains(text, `("`+short+`",`) {
			t.Errorf("%s: cachenode does not register %q", n, short)
		}
	}
}

func TestPointFill(t *testing.T) {
	cases := []struct {
		name         string
		hits, misses float64
		miss, hit    float64
		hasRate      bool
	}{
		{"no gets: no rate", 0, 0, 0, 0, false},
		{"all misses", 0, 4, 1, 0, true},
		{"one in four misses", 3, 1, 0.25, 0.75, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := Point{Hits: c.hits, Misses: c.misses}
			p.Fill()
			if p.MissRate != c.miss || p.HitRate != c.hit || p.HasRate != c.hasRate {
				t.Errorf("Fill = miss %v hit %v has %v, want %v %v %v", p.MissRate, p.HitRate, p.HasRate, c.miss, c.hit, c.hasRate)
			}
		})
	}
}

func TestSteps(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := Steps(t0, t0.Add(30*time.Minute), time.Minute); len(got) != 31 || !got[30].Equal(t0.Add(30*time.Minute)) {
		t.Errorf("30 minutes at 1 minute: %d steps ending %v, want 31 ending at the end", len(got), got[len(got)-1])
	}
	if got := Steps(t0, t0.Add(-time.Minute), time.Minute); got != nil {
		t.Errorf("to before from: %v, want none", got)
	}
	if got := Steps(t0, t0, 0); got != nil {
		t.Errorf("zero step: %v, want none", got)
	}
}
