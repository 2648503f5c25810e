package poolreport

import (
	"slices"
	"strings"
	"testing"

	"github.com/cloudlabs/cloudlabs/internal/pool/ring"
)

// A timeline of 10 samples 1 s apart: 5 requests a second, then a burst
// of 20 in the sixth second. The most in any 1 s window is the burst; in
// any 2 s window the burst and a neighbour.
func TestThroughputWindows(t *testing.T) {
	done := []int64{0, 5, 10, 15, 20, 25, 45, 50, 55, 60}
	var s []Sample
	for i, d := range done {
		s = append(s, Sample{T: float64(i), Done: d})
	}
	got := Throughput(s, []float64{1, 2, 9})
	want := []ThroughputPoint{{WindowS: 1, Most: 20, FromStart: 5}, {WindowS: 2, Most: 25, FromStart: 10}, {WindowS: 9, Most: 60, FromStart: 60}}
	if len(got) != len(want) {
		t.Fatalf("got %d points, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("window %v: got %+v, want %+v", want[i].WindowS, got[i], want[i])
		}
	}
}

func TestWindows(t *testing.T) {
	got := Windows(10, 20)
	if len(got) != 20 || got[0] != 0.5 || got[19] != 10 {
		t.Errorf("Windows(10, 20) = %v: want 0.5, 1, ..., 10", got)
	}
	if got := Windows(0, 20); len(got) != 0 {
		t.Errorf("Windows(0, 20) = %v, want none", got)
	}
}

func TestMarksAreEvenlySpaced(t *testing.T) {
	if got, want := marks(3000, 4, 2), []int64{1000, 2000}; !slices.Equal(got, want) {
		t.Errorf("marks(3000, 4->2) = %v, want %v", got, want)
	}
	if got, want := marks(1000, 2, 5), []int64{250, 500, 750}; !slices.Equal(got, want) {
		t.Errorf("marks(1000, 2->5) = %v, want %v", got, want)
	}
	if got := marks(1000, 4, 4); len(got) != 0 {
		t.Errorf("marks(1000, 4->4) = %v, want none", got)
	}
}

// The same seed gives the same ops; the read share and the popularity
// follow the mix.
func TestOpsSeededZipfAndRatio(t *testing.T) {
	mix := Mix{ZipfS: 1.1, Reads: 9, Writes: 1}
	a, err := Ops(5, 100, 20000, mix)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Ops(5, 100, 20000, mix)
	if len(a) != 20000 {
		t.Fatalf("got %d ops, want 20000", len(a))
	}
	if !slices.Equal(a, b) {
		t.Error("two lists from seed 5 differ")
	}
	c, _ := Ops(6, 100, 20000, mix)
	if slices.Equal(a, c) {
		t.Error("seeds 5 and 6 gave the same list")
	}
	writes, perKey := 0, make([]int, 100)
	for _, op := range a {
		if op.Write {
			writes++
		}
		perKey[op.Key]++
	}
	if share := float64(writes) / 20000; share < 0.09 || share > 0.11 {
		t.Errorf("write share %.3f, want 0.1 (9:1) within 0.01", share)
	}
	if perKey[0] <= perKey[1] || perKey[1] <= perKey[10] || perKey[10] <= perKey[99] {
		t.Errorf("key popularity %d, %d, %d, %d (keys 0, 1, 10, 99): want falling", perKey[0], perKey[1], perKey[10], perKey[99])
	}
	if _, err := Ops(5, 100, 10, Mix{ZipfS: 1, Reads: 1}); err == nil {
		t.Error("a Zipf exponent of 1 was accepted")
	}
}

func TestParseRatio(t *testing.T) {
	if r, w, err := ParseRatio("9:1"); err != nil || r != 9 || w != 1 {
		t.Errorf("ParseRatio(9:1) = %d, %d, %v", r, w, err)
	}
	for _, bad := range []string{"", "9", "0:0", "-1:2", "a:b"} {
		if _, _, err := ParseRatio(bad); err == nil {
			t.Errorf("ParseRatio(%q) accepted", bad)
		}
	}
}

// The computed table is ring.Moved's figures: the lab's partitions moved
// growing n -> n+1 are 8, 10, 10, 12, 11, 10, 9 of 16, the same shrinking
// back, and the minimum is 1/(n+1) growing, 1/n shrinking.
func TestComputedMovementIsTheRingsFigures(t *testing.T) {
	rows, err := ComputedMovement(8)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 14 {
		t.Fatalf("got %d rows, want 14 (7 grows, 7 shrinks)", len(rows))
	}
	labGrow := []int{8, 10, 10, 12, 11, 10, 9}
	for i, r := range rows {
		grow := i < 7
		n := i + 1
		wantTo := n + 1
		if !grow {
			n, wantTo = 8-(i-7), 8-(i-7)-1
		}
		if r.From != n || r.To != wantTo {
			t.Fatalf("row %d is %d->%d, want %d->%d", i, r.From, r.To, n, wantTo)
		}
		wantParts := labGrow[min(r.From, r.To)-1]
		if r.LabPartitions != wantParts || r.Computed[ring.SchemeLab] != float64(wantParts)/16 {
			t.Errorf("%d->%d: lab %d partitions (%.4f), want %d of 16", r.From, r.To, r.LabPartitions, r.Computed[ring.SchemeLab], wantParts)
		}
		wantMin := 1 / float64(max(r.From, r.To))
		if r.Minimum != wantMin {
			t.Errorf("%d->%d: minimum %.4f, want %.4f", r.From, r.To, r.Minimum, wantMin)
		}
		for _, s := range ring.Schemes() {
			want, _ := ring.Moved(s, r.From, r.To)
			if r.Computed[s] != want {
				t.Errorf("%d->%d %s: %.4f, ring.Moved says %.4f", r.From, r.To, s, r.Computed[s], want)
			}
		}
	}
}

func TestPredictedMovedCountsChangedOwners(t *testing.T) {
	keys := []string{"k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8"}
	before, after := []string{"a", "b"}, []string{"a", "b", "c"}
	got, err := PredictedMoved(ring.SchemeLab, before, after, keys)
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, k := range keys {
		p := ring.Partition(k)
		if p%2 != p%3 {
			want++
		}
	}
	if got != want {
		t.Errorf("PredictedMoved(lab, 2->3) = %d, want %d (partition p moves unless p mod 2 == p mod 3)", got, want)
	}
}

func TestParseCacheMetrics(t *testing.T) {
	text := `# HELP gallery_cache_results_total Cache lookups
# TYPE gallery_cache_results_total counter
gallery_cache_results_total{node="127.0.0.1:1",result="hit"} 7
gallery_cache_results_total{node="127.0.0.1:1",result="miss"} 3
gallery_cache_results_total{node="127.0.0.1:2",result="miss"} 2
gallery_cache_results_total{node="127.0.0.1:2",result="error"} 1
gallery_cache_epoch 4
gallery_cache_ring_info{scheme="jump"} 1
gallery_http_requests_total{code="200",handler="key"} 99
`
	c, err := ParseCacheMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if c.Hits != 7 || c.Misses != 5 || c.Errors != 1 || c.Lookups() != 13 {
		t.Errorf("hits %v misses %v errors %v: want 7, 5, 1", c.Hits, c.Misses, c.Errors)
	}
	if c.ByNode["127.0.0.1:2"]["miss"] != 2 || !c.HasEpoch || c.Epoch != 4 || c.Scheme != "jump" {
		t.Errorf("by node %v, epoch %v (%v), scheme %q", c.ByNode, c.Epoch, c.HasEpoch, c.Scheme)
	}
	d := c.Sub(CacheCounts{Hits: 2, Misses: 1, ByNode: map[string]map[string]float64{"127.0.0.1:2": {"miss": 1}}})
	if d.Hits != 5 || d.Misses != 4 || d.ByNode["127.0.0.1:2"]["miss"] != 1 {
		t.Errorf("Sub: %+v", d)
	}
}
