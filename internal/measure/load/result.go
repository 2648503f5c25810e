package load

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Result is what a run measured.
type Result struct {
	Requests  int            `json:"requests"`  // sent (or attempted)
	Responses int            `json:"responses"` // complete HTTP replies, any status
	Failed    int            `json:"failed"`    // transport errors, non-2xx, body mismatches
	Errors    map[string]int `json:"errors"`    // failed, by kind
	// Examples holds the first error message seen of each transport kind,
	// to tell "refused" by what, without logging every failure.
	Examples       map[string]string `json:"error_examples,omitempty"`
	ElapsedSeconds float64           `json:"elapsed_seconds"`
	RPS            float64           `json:"rps"` // Responses / elapsed
	Latency        Latency           `json:"latency"`
}

// Latency summarises the histogram of complete replies, in milliseconds.
type Latency struct {
	Mean float64 `json:"mean_ms"`
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P98  float64 `json:"p98_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
}

// Histograms record microseconds from 1 µs to an hour with 3 significant
// digits (values above are clamped to the top).
const (
	histMin    = 1
	histMax    = int64(time.Hour / time.Microsecond)
	histDigits = 3
)

func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histMin, histMax, histDigits)
}

func summarise(h *hdrhistogram.Histogram) Latency {
	if h.TotalCount() == 0 {
		return Latency{}
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Latency{
		Mean: h.Mean() / 1000,
		P50:  ms(h.ValueAtQuantile(50)),
		P90:  ms(h.ValueAtQuantile(90)),
		P98:  ms(h.ValueAtQuantile(98)),
		P99:  ms(h.ValueAtQuantile(99)),
		Max:  ms(h.Max()),
	}
}
