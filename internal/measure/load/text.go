package load

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// WriteText prints r for a person: counts, throughput, latency percentiles
// and failures by kind (most frequent first).
func (r Result) WriteText(w io.Writer) {
	fmt.Fprintf(w, "requests   %d in %.2fs (%d responses, %d failed)\n", r.Requests, r.ElapsedSeconds, r.Responses, r.Failed)
	fmt.Fprintf(w, "throughput %.1f requests/s\n", r.RPS)
	l := r.Latency
	fmt.Fprintf(w, "latency ms mean %.2f  p50 %.2f  p90 %.2f  p98 %.2f  p99 %.2f  max %.2f\n", l.Mean, l.P50, l.P90, l.P98, l.P99, l.Max)
	if len(r.Errors) == 0 {
		return
	}
	kinds := make([]string, 0, len(r.Errors))
	for k := range r.Errors {
		kinds = append(kinds, k)
	}
	slices.SortFunc(kinds, func(a, b string) int {
		if r.Errors[a] != r.Errors[b] {
			return r.Errors[b] - r.Errors[a]
		}
		return strings.Compare(a, b)
	})
	fmt.Fprintln(w, "errors")
	for _, k := range kinds {
		fmt.Fprintf(w, "  %-14s %d", k, r.Errors[k])
		if ex, ok := r.Examples[k]; ok {
			fmt.Fprintf(w, "  (e.g. %s)", ex)
		}
		fmt.Fprintln(w)
	}
}
