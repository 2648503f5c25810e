package cost

import (
	"fmt"
	"math"
)

// HoursPerMonth is the month every cloud bills by (365 × 24 / 12).
const HoursPerMonth = 730

// DefaultEgressGBPerDay is the internet egress assumed when none is given:
// a lab's apt updates, downloads and a few load tests answered to a laptop
// stay well under it; a long load test from outside the cloud does not.
const DefaultEgressGBPerDay = 1.0

// Options say how the stack is used.
type Options struct {
	// HoursPerDay the stack exists, in (0, 24]. Everything scales with it,
	// disks and addresses included: a lab is destroyed, not stopped,
	// between sessions.
	HoursPerDay float64
	// EgressGBPerDay is the internet egress a day, priced at the first paid
	// tier with the free allowance ignored (AWS: 100 GB a month, GCP: none
	// on Premium Tier besides the e2-micro free tier).
	EgressGBPerDay float64
}

func (o Options) check() error {
	if math.IsNaN(o.HoursPerDay) || o.HoursPerDay <= 0 || o.HoursPerDay > 24 {
		return fmt.Errorf("--hours %v: want the hours a day the stack runs, more than 0 and at most 24", o.HoursPerDay)
	}
	if math.IsNaN(o.EgressGBPerDay) || math.IsInf(o.EgressGBPerDay, 0) || o.EgressGBPerDay < 0 {
		return fmt.Errorf("--egress-gb-per-day %v: want the GB sent to the internet a day, 0 or more", o.EgressGBPerDay)
	}
	return nil
}

// Line is one priced item of a report.
type Line struct {
	Resource  string  `json:"resource"`
	Count     int     `json:"count"`    // resources (0 for egress)
	Quantity  float64 `json:"quantity"` // units billed: instances, GB, addresses, GB a day
	Unit      string  `json:"unit"`     // what UnitPrice is per
	UnitPrice float64 `json:"unitPrice"`
	PerDay    float64 `json:"perDay"`
	PerMonth  float64 `json:"perMonth"`
}

// Amount is a cost a day and a month.
type Amount struct {
	PerDay   float64 `json:"perDay"`
	PerMonth float64 `json:"perMonth"`
}

// Report is a stack's estimated cost.
type Report struct {
	Stack          string   `json:"stack"`
	Platform       string   `json:"platform"`
	Region         string   `json:"region"`       // where the stack lives ("" if unknown)
	PricedRegion   string   `json:"pricedRegion"` // whose prices were used
	HoursPerDay    float64  `json:"hoursPerDay"`
	EgressGBPerDay float64  `json:"egressGBPerDay"`
	Currency       string   `json:"currency"`
	AsOf           string   `json:"asOf"`
	Source         string   `json:"source"`
	Lines          []Line   `json:"lines"`
	Total          Amount   `json:"total"`
	Warnings       []string `json:"warnings"`
	NotPriced      string   `json:"notPriced"`
	Note           string   `json:"note,omitempty"`
}

// NotPriced names what an estimate leaves out, and why.
const NotPriced = "networks, subnets, firewalls, gateways and endpoints (free); the artifact bucket, its objects and requests (a few MB: cents a month); free tiers (AWS: 100 GB egress a month; GCP: one e2-micro in some US regions)"

// Price turns usage into a report with the table's prices. A day is
// HoursPerDay hours; a month is 730 hours of the same use (730/24 days).
func Price(u Usage, t Table, o Options) (*Report, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	p, err := t.lookup(u.Platform, u.Region)
	if err != nil {
		return nil, err
	}
	rep := &Report{
		Platform: u.Platform, Region: u.Region, PricedRegion: p.region,
		HoursPerDay: o.HoursPerDay, EgressGBPerDay: o.EgressGBPerDay,
		Currency: t.Currency, AsOf: t.AsOf, Source: p.cloud.Source,
		Warnings: []string{}, NotPriced: NotPriced,
	}
	if p.warning != "" {
		rep.Warnings = append(rep.Warnings, p.warning)
	}
	hourly := func(name string, count int, unit string, price float64) Line {
		day := float64(count) * price * o.HoursPerDay
		return Line{Resource: name, Count: count, Quantity: float64(count), Unit: unit, UnitPrice: price, PerDay: day, PerMonth: monthly(day)}
	}
	for _, itype := range keys(u.Instances) {
		price, err := p.instanceHour(itype)
		if err != nil {
			return nil, err
		}
		rep.Lines = append(rep.Lines, hourly("instance "+itype, u.Instances[itype], "hour", price))
	}
	for _, dtype := range keys(u.Disks) {
		price, err := p.diskGBMonth(dtype)
		if err != nil {
			return nil, err
		}
		d := u.Disks[dtype]
		day := float64(d.GB) * price / HoursPerMonth * o.HoursPerDay
		rep.Lines = append(rep.Lines, Line{Resource: fmt.Sprintf("disk %s (%d GB)", dtype, d.GB), Count: d.Count, Quantity: float64(d.GB),
			Unit: "GB-month", UnitPrice: price, PerDay: day, PerMonth: monthly(day)})
	}
	if u.PublicIPv4 > 0 {
		rep.Lines = append(rep.Lines, hourly("public IPv4 address", u.PublicIPv4, "hour", p.PublicIPv4Hour))
	}
	day := o.EgressGBPerDay * p.EgressGB
	rep.Lines = append(rep.Lines, Line{Resource: fmt.Sprintf("internet egress (%g GB/day)", o.EgressGBPerDay), Quantity: o.EgressGBPerDay,
		Unit: "GB", UnitPrice: p.EgressGB, PerDay: day, PerMonth: monthly(day)})
	for _, l := range rep.Lines {
		rep.Total.PerDay += l.PerDay
		rep.Total.PerMonth += l.PerMonth
	}
	return rep, nil
}

func monthly(perDay float64) float64 { return perDay * HoursPerMonth / 24 }
