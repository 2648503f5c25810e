package cost

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// WriteText writes the report as a table for people: one line per priced
// item, the totals, and where the prices come from.
func (r *Report) WriteText(w io.Writer) error {
	if r.Note != "" {
		_, err := fmt.Fprintf(w, "%s: %s\n", r.Stack, r.Note)
		return err
	}
	region := r.Region
	if region == "" {
		region = "region unknown"
	}
	fmt.Fprintf(w, "%s on %s (%s), %g h a day, %g GB internet egress a day\n\n", r.Stack, r.Platform, region, r.HoursPerDay, r.EgressGBPerDay)
	rows := [][]string{{"RESOURCE", "COUNT", "UNIT PRICE", "PER DAY", "PER MONTH"}}
	for _, l := range r.Lines {
		count := "-"
		if l.Count > 0 {
			count = fmt.Sprint(l.Count)
		}
		rows = append(rows, []string{l.Resource, count, unitPrice(l), money(l.PerDay), money(l.PerMonth)})
	}
	rows = append(rows, []string{"TOTAL (" + r.Currency + ")", "", "", money(r.Total.PerDay), money(r.Total.PerMonth)})
	writeColumns(w, rows)
	fmt.Fprintf(w, "\nMonth = %d h. Prices as of %s (%s on-demand list prices), source: %s.\n", HoursPerMonth, r.AsOf, r.PricedRegion, r.Source)
	seen := map[string]bool{}
	for _, l := range r.Lines {
		if l.Source == "" || seen[l.AsOf+l.Source] {
			continue
		}
		seen[l.AsOf+l.Source] = true
		fmt.Fprintf(w, "%s: prices as of %s, source: %s.\n", strings.SplitN(l.Resource, " ", 2)[0], l.AsOf, l.Source)
	}
	fmt.Fprintf(w, "Not priced: %s.\n", r.NotPriced)
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	return nil
}

func unitPrice(l Line) string {
	s := strconv.FormatFloat(l.UnitPrice, 'f', -1, 64)
	if dot := strings.IndexByte(s, '.'); dot < 0 {
		s += ".00"
	} else if len(s)-dot == 2 {
		s += "0"
	}
	return "$" + s + "/" + l.Unit
}

func money(v float64) string { return fmt.Sprintf("$%.2f", v) }

// writeColumns aligns the first column left and the others right, as
// numbers read best.
func writeColumns(w io.Writer, rows [][]string) {
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			widths[i] = max(widths[i], len(c))
		}
	}
	for _, row := range rows {
		var b strings.Builder
		for i, c := range row {
			if i == 0 {
				fmt.Fprintf(&b, "%-*s", widths[i], c)
			} else {
				fmt.Fprintf(&b, "  %*s", widths[i], c)
			}
		}
		fmt.Fprintln(w, b.String())
	}
}
