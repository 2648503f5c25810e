package compare

import "testing"

func TestCompare(t *testing.T) {
	mean := Metric{Name: "mean_ms", Better: LowerIsBetter}
	rps := Metric{Name: "rps", Better: HigherIsBetter}
	failed := Metric{Name: "failed", Better: LowerIsBetter}
	cases := []struct {
		name  string
		m     Metric
		a, b  []float64
		speed bool
		want  string
	}{
		{"clearly faster", mean, []float64{100, 102, 98}, []float64{50, 51, 49}, true, "faster"},
		{"clearly slower", mean, []float64{100, 102, 98}, []float64{150, 151, 149}, true, "slower"},
		{"ranges overlap", mean, []float64{100, 130, 70}, []float64{90, 95, 105}, true, "within noise"},
		{"tiny change", mean, []float64{100}, []float64{102}, true, "within noise"},
		{"single runs, big change", mean, []float64{100}, []float64{60}, true, "faster"},
		{"more throughput is faster", rps, []float64{1000, 1010}, []float64{2000, 2020}, true, "faster"},
		{"fewer failures better", failed, []float64{10, 12}, []float64{0, 0}, false, "better"},
		{"same", failed, []float64{0}, []float64{0}, false, "within noise"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Compare(c.m, c.a, c.b, DefaultMinChange, c.speed); got.Verdict != c.want {
				t.Fatalf("got %q (%+v), want %q", got.Verdict, got, c.want)
			}
		})
	}
}

func TestSpreads(t *testing.T) {
	s := Spreads([]float64{2, 4, 4, 4, 5, 5, 7, 9})
	if s.Mean != 5 || s.Min != 2 || s.Max != 9 || s.Runs != 8 || s.Stddev < 2.13 || s.Stddev > 2.14 {
		t.Fatalf("got %+v", s)
	}
}
