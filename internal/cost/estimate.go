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

// AssumedBucketGB is the data stored in each data bucket, for the
// estimate: a lab's gallery holds a few hundred images of at most a few
// MB. The price per GB is in the line; scale it for more.
const AssumedBucketGB = 1.0

// Line is one priced item of a report.
type Line struct {
	Resource  string  `json:"resource"`
	Count     int     `json:"count"`    // resources (0 for egress)
	Quantity  float64 `json:"quantity"` // units billed: instances, GB, addresses, GB a day
	Unit      string  `json:"unit"`     // what UnitPrice is per
	UnitPrice float64 `json:"unitPrice"`
	PerDay    float64 `json:"perDay"`
	PerMonth  float64 `json:"perMonth"`
	// AsOf and Source are set where the price comes from other pages than
	// the report's (databases, object storage).
	AsOf   string `json:"asOf,omitempty"`
	Source string `json:"source,omitempty"`
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
const NotPriced = "networks, subnets, firewalls, gateways and endpoints (free); the artifact bucket, its objects and requests (a few MB: cents a month); requests to the data buckets and database backups within the free allowance; free tiers (AWS: 100 GB egress a month, 750 h of db.t4g.micro in the first year; GCP: one e2-micro in some US regions)"

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
	// stored is a line of GB held, billed per GB-month, for the hours the
	// stack exists.
	stored := func(name string, count int, gb, price float64) Line {
		day := gb * price / HoursPerMonth * o.HoursPerDay
		return Line{Resource: name, Count: count, Quantity: gb, Unit: "GB-month", UnitPrice: price, PerDay: day, PerMonth: monthly(day)}
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
		rep.Lines = append(rep.Lines, stored(fmt.Sprintf("disk %s (%d GB)", dtype, d.GB), d.Count, float64(d.GB), price))
	}
	// Slots: the active ones at the instance price, the stopped ones at
	// nothing (their disks are in the disk lines).
	active := min(u.ActiveSlots, total(u.Slots))
	left := active
	for _, itype := range keys(u.Slots) {
		price, err := p.instanceHour(itype)
		if err != nil {
			return nil, err
		}
		run := min(left, u.Slots[itype])
		left -= run
		if run > 0 {
			rep.Lines = append(rep.Lines, hourly("pool slot "+itype+", active", run, "hour", price))
		}
		if stopped := u.Slots[itype] - run; stopped > 0 {
			l := hourly("pool slot "+itype+", stopped (disk only)", stopped, "hour", 0)
			rep.Lines = append(rep.Lines, l)
		}
	}
	if ips := u.PublicIPv4 + min(active, u.SlotIPv4); ips > 0 {
		rep.Lines = append(rep.Lines, hourly("public IPv4 address", ips, "hour", p.PublicIPv4Hour))
	}
	for _, class := range keys(u.Databases) {
		price, d, err := p.databaseHour(class)
		if err != nil {
			return nil, err
		}
		l := hourly("database "+class, u.Databases[class], "hour", price)
		l.AsOf, l.Source = d.AsOf, d.Source
		rep.Lines = append(rep.Lines, l)
	}
	for _, stype := range keys(u.DBStorage) {
		price, err := p.databaseGBMonth(stype)
		if err != nil {
			return nil, err
		}
		d := u.DBStorage[stype]
		l := stored(fmt.Sprintf("database storage %s (%d GB)", stype, d.GB), d.Count, float64(d.GB), price)
		l.AsOf, l.Source = p.Database.AsOf, p.Database.Source
		rep.Lines = append(rep.Lines, l)
	}
	if u.DataBuckets > 0 {
		obj, err := p.objectGBMonth()
		if err != nil {
			return nil, err
		}
		// Scales with --hours like the disks: the lab's buckets go with
		// the stack.
		l := stored(fmt.Sprintf("bucket storage (%g GB assumed per bucket)", AssumedBucketGB), u.DataBuckets, AssumedBucketGB*float64(u.DataBuckets), obj.GBMonth)
		l.AsOf, l.Source = obj.AsOf, obj.Source
		rep.Lines = append(rep.Lines, l)
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

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
