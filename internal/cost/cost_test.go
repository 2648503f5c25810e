package cost

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/cloudlabs/cloudlabs/components/program"
	"github.com/cloudlabs/cloudlabs/internal/config/stackfile"
)

// day24 is a full day of use with the default egress.
var day24 = Options{HoursPerDay: 24, EgressGBPerDay: DefaultEgressGBPerDay}

// stacks are the configurations the tests price: the shipped stacks'
// values, written out here so that a user's edit of stacks/ changes no
// expected price.
var stacks = map[string]map[string]string{
	"aws-cachepool": {
		"aws:region": "eu-north-1", "cloudlabs:platform": "aws", "cloudlabs:environments": `["cachepool"]`,
		"cachepool:nodes": "2", "cachepool:capacityMB": "64", "cachepool:policy": "lru",
	},
	"gcp-fibonacci": {
		"gcp:project": "my-gcp-project", "gcp:region": "us-central1", "gcp:zone": "us-central1-a",
		"cloudlabs:platform": "gcp", "cloudlabs:environments": `["fibonacci"]`, "fibonacci:nodes": "3",
	},
	"gcp-gallery": {
		"gcp:project": "my-gcp-project", "gcp:region": "us-central1", "gcp:zone": "us-central1-a",
		"cloudlabs:platform": "gcp", "cloudlabs:environments": `["cachepool","gallery"]`, "cachepool:nodes": "2", "cachepool:maxNodes": "3",
	},
	"aws-gallery": {
		"aws:region": "us-east-1", "cloudlabs:platform": "aws", "cloudlabs:environments": `["cachepool","gallery"]`,
		"cachepool:nodes": "2", "cachepool:maxNodes": "3",
	},
	"aws-phonebook": {
		"aws:region": "eu-north-1", "cloudlabs:platform": "aws", "cloudlabs:environments": `["phonebook"]`, "riak:nodes": "2",
	},
	"local": {
		"cloudlabs:platform": "local", "cloudlabs:environments": `["phonebook","fibonacci","cachepool"]`,
		"fibonacci:nodes": "3", "cachepool:nodes": "2",
	},
}

// load returns one of the tests' stacks, with overrides.
func load(t *testing.T, stack string, set map[string]string) map[string]stackfile.Value {
	t.Helper()
	base, ok := stacks[stack]
	if !ok {
		t.Fatalf("no test stack %q", stack)
	}
	values := map[string]stackfile.Value{}
	for k, v := range base {
		values[k] = stackfile.Value{Value: v}
	}
	for k, v := range set {
		values[k] = stackfile.Value{Value: v}
	}
	return values
}

func estimate(t *testing.T, stack string, set map[string]string, o Options) *Report {
	t.Helper()
	table, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Stack(stack, load(t, stack, set), program.Declared, table, o)
	if err != nil {
		t.Fatalf("estimate %s %v: %v", stack, set, err)
	}
	return rep
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// TestStackFiles checks the shipped cloud stacks' values against costs
// derived by hand from the table's prices (asOf 2025-06-01).
func TestStackFiles(t *testing.T) {
	type line struct {
		resource string
		count    int
		perDay   float64
	}
	tests := []struct {
		name, stack string
		region      string
		lines       []line
	}{
		{
			// 8 slots (cachepool:maxNodes' default), 2 of them active; the
			// manager; the pool's database.
			name: "aws cachepool: 2 of 8 t3.micro slots active, the manager and RDS in eu-north-1", stack: "aws-cachepool", region: "eu-north-1",
			lines: []line{
				{"instance t3.micro", 1, 1 * 0.0108 * 24},
				{"disk gp3 (72 GB)", 9, 9 * 8 * 0.0836 * 24 / 730},
				{"pool slot t3.micro, active", 2, 2 * 0.0108 * 24},
				{"pool slot t3.micro, stopped (disk only)", 6, 0},
				{"public IPv4 address", 3, 3 * 0.005 * 24},
				{"database db.t4g.micro", 1, 0.017 * 24},
				{"database storage gp3 (20 GB)", 1, 20 * 0.121 * 24 / 730},
				{"internet egress (1 GB/day)", 0, 1 * 0.09},
			},
		},
		{
			// The manager and the gallery (its Elastic IP replaces its
			// own address), 2 of 3 slots, Cloud SQL, one bucket of 1 GB.
			name: "gcp gallery: the pool, the manager, the gallery, Cloud SQL and a bucket in us-central1", stack: "gcp-gallery", region: "us-central1",
			lines: []line{
				{"instance e2-micro", 2, 2 * 0.00838 * 24},
				{"disk pd-balanced (50 GB)", 5, 5 * 10 * 0.10 * 24 / 730},
				{"pool slot e2-micro, active", 2, 2 * 0.00838 * 24},
				{"pool slot e2-micro, stopped (disk only)", 1, 0},
				{"public IPv4 address", 4, 4 * 0.005 * 24},
				{"database db-f1-micro", 1, 0.0105 * 24},
				{"database storage PD_SSD (10 GB)", 1, 10 * 0.17 * 24 / 730},
				{"bucket storage (1 GB assumed per bucket)", 1, 1 * 0.020 * 24 / 730},
				{"internet egress (1 GB/day)", 0, 1 * 0.12},
			},
		},
		{
			name: "aws gallery: the pool, the manager, the gallery, RDS and a bucket in us-east-1", stack: "aws-gallery", region: "us-east-1",
			lines: []line{
				{"instance t3.micro", 2, 2 * 0.0104 * 24},
				{"disk gp3 (40 GB)", 5, 5 * 8 * 0.08 * 24 / 730},
				{"pool slot t3.micro, active", 2, 2 * 0.0104 * 24},
				{"pool slot t3.micro, stopped (disk only)", 1, 0},
				{"public IPv4 address", 4, 4 * 0.005 * 24},
				{"database db.t4g.micro", 1, 0.016 * 24},
				{"database storage gp3 (20 GB)", 1, 20 * 0.115 * 24 / 730},
				{"bucket storage (1 GB assumed per bucket)", 1, 1 * 0.023 * 24 / 730},
				{"internet egress (1 GB/day)", 0, 1 * 0.09},
			},
		},
		{
			name: "gcp fibonacci: 3 e2-micro nodes and the e2-micro load balancer in us-central1", stack: "gcp-fibonacci", region: "us-central1",
			lines: []line{
				{"instance e2-micro", 4, 4 * 0.00838 * 24},
				{"disk pd-balanced (40 GB)", 4, 4 * 10 * 0.10 * 24 / 730},
				{"public IPv4 address", 4, 4 * 0.005 * 24},
				{"internet egress (1 GB/day)", 0, 1 * 0.12},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := estimate(t, tc.stack, nil, day24)
			if rep.Region != tc.region || rep.PricedRegion != tc.region {
				t.Errorf("region %q priced as %q, want %q", rep.Region, rep.PricedRegion, tc.region)
			}
			if len(rep.Lines) != len(tc.lines) {
				t.Fatalf("got %d lines %+v, want %d", len(rep.Lines), rep.Lines, len(tc.lines))
			}
			var day float64
			for i, want := range tc.lines {
				got := rep.Lines[i]
				if got.Resource != want.resource || got.Count != want.count {
					t.Errorf("line %d: got %q × %d, want %q × %d", i, got.Resource, got.Count, want.resource, want.count)
				}
				if !near(got.PerDay, want.perDay) || !near(got.PerMonth, want.perDay*730/24) {
					t.Errorf("%s: got %v a day, %v a month; want %v, %v", want.resource, got.PerDay, got.PerMonth, want.perDay, want.perDay*730/24)
				}
				day += want.perDay
			}
			if !near(rep.Total.PerDay, day) || !near(rep.Total.PerMonth, day*730/24) {
				t.Errorf("total: got %v a day, %v a month; want %v, %v", rep.Total.PerDay, rep.Total.PerMonth, day, day*730/24)
			}
			if len(rep.Warnings) != 0 {
				t.Errorf("unexpected warnings %q", rep.Warnings)
			}
		})
	}
}

// TestNodesScaleLinearly: every node added costs one machine, one disk and
// one address more, whatever the count.
func TestNodesScaleLinearly(t *testing.T) {
	tests := []struct {
		name, stack, key string
		counts           []int
		perNode          float64 // a day
	}{
		{"gcp fibonacci nodes", "gcp-fibonacci", "fibonacci:nodes", []int{1, 2, 5, 20}, 0.00838*24 + 10*0.10*24/730 + 0.005*24},
		// An active slot more runs its instance and address; its disk
		// was paid while it was stopped.
		{"aws cachepool active nodes", "aws-cachepool", "cachepool:nodes", []int{1, 3, 8}, 0.0108*24 + 0.005*24},
		// A slot more, stopped, is its disk alone.
		{"aws cachepool slots", "aws-cachepool", "cachepool:maxNodes", []int{2, 5, 8}, 8 * 0.0836 * 24 / 730},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			first := tc.counts[0]
			base := estimate(t, tc.stack, map[string]string{tc.key: strconv.Itoa(first)}, day24).Total
			for _, n := range tc.counts[1:] {
				got := estimate(t, tc.stack, map[string]string{tc.key: strconv.Itoa(n)}, day24).Total
				want := base.PerDay + float64(n-first)*tc.perNode
				if !near(got.PerDay, want) || !near(got.PerMonth, want*730/24) {
					t.Errorf("%d nodes: got %v a day, %v a month; want %v, %v", n, got.PerDay, got.PerMonth, want, want*730/24)
				}
			}
		})
	}
}

func TestOptions(t *testing.T) {
	full := estimate(t, "gcp-fibonacci", nil, Options{HoursPerDay: 24, EgressGBPerDay: 0}).Total
	t.Run("hours scale everything but egress", func(t *testing.T) {
		got := estimate(t, "gcp-fibonacci", nil, Options{HoursPerDay: 8, EgressGBPerDay: 0}).Total
		if !near(got.PerDay, full.PerDay/3) || !near(got.PerMonth, full.PerMonth/3) {
			t.Errorf("8 h: got %+v, want a third of %+v", got, full)
		}
	})
	t.Run("egress adds its GB price a day", func(t *testing.T) {
		got := estimate(t, "gcp-fibonacci", nil, Options{HoursPerDay: 24, EgressGBPerDay: 10}).Total
		if want := full.PerDay + 10*0.12; !near(got.PerDay, want) {
			t.Errorf("10 GB/day: got %v a day, want %v", got.PerDay, want)
		}
	})
	bad := []struct {
		name, flag string
		o          Options
	}{
		{"zero hours", "--hours", Options{HoursPerDay: 0}},
		{"negative hours", "--hours", Options{HoursPerDay: -1}},
		{"more than a day", "--hours", Options{HoursPerDay: 25}},
		{"NaN hours", "--hours", Options{HoursPerDay: math.NaN()}},
		{"negative egress", "--egress-gb-per-day", Options{HoursPerDay: 24, EgressGBPerDay: -1}},
		{"infinite egress", "--egress-gb-per-day", Options{HoursPerDay: 24, EgressGBPerDay: math.Inf(1)}},
	}
	table, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Stack("gcp-fibonacci", load(t, "gcp-fibonacci", nil), program.Declared, table, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.flag) {
				t.Errorf("got %v, want an error naming %s", err, tc.flag)
			}
		})
	}
}

func TestUnknownTypes(t *testing.T) {
	tests := []struct {
		name, stack string
		set         map[string]string
		want        string
	}{
		{"aws instance type", "aws-cachepool", map[string]string{"cloudlabs:instanceType": "m5.large"}, `instance type "m5.large" has no aws eu-north-1 price: add it to internal/cost/prices.json`},
		{"gcp machine type", "gcp-fibonacci", map[string]string{"cloudlabs:instanceType": "n2-standard-2"}, `instance type "n2-standard-2" has no gcp us-central1 price: add it to internal/cost/prices.json`},
	}
	table, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Stack(tc.stack, load(t, tc.stack, tc.set), program.Declared, table, day24)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestRegions(t *testing.T) {
	t.Run("a region without prices is priced as the default, with a warning", func(t *testing.T) {
		rep := estimate(t, "aws-cachepool", map[string]string{"aws:region": "ap-south-1"}, day24)
		if rep.Region != "ap-south-1" || rep.PricedRegion != "us-east-1" {
			t.Errorf("got region %q priced as %q, want ap-south-1 priced as us-east-1", rep.Region, rep.PricedRegion)
		}
		if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "ap-south-1") {
			t.Errorf("got warnings %q, want one naming ap-south-1", rep.Warnings)
		}
		if want := 1 * 0.0104 * 24; rep.Lines[0].Resource != "instance t3.micro" || !near(rep.Lines[0].PerDay, want) {
			t.Errorf("got %q at %v a day, want the manager's instance at us-east-1's %v", rep.Lines[0].Resource, rep.Lines[0].PerDay, want)
		}
	})
	t.Run("the local twin is free", func(t *testing.T) {
		rep := estimate(t, "local", nil, day24)
		if rep.Note != LocalNote || rep.Total != (Amount{}) || len(rep.Lines) != 0 {
			t.Errorf("got %+v, want the local note and nothing to pay", rep)
		}
	})
	t.Run("an unset Riak hash is priced with a note", func(t *testing.T) {
		rep := estimate(t, "aws-phonebook", nil, day24)
		if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "riak:packageSha256") {
			t.Errorf("got warnings %q, want the hash note", rep.Warnings)
		}
		if rep.Lines[0].Resource != "instance t3.medium" || rep.Lines[0].Count != 2 {
			t.Errorf("got %+v first, want the two t3.medium Riak nodes", rep.Lines[0])
		}
	})
}

func TestParseTable(t *testing.T) {
	if _, err := Builtin(); err != nil {
		t.Fatalf("the embedded table: %v", err)
	}
	tests := []struct{ name, json, want string }{
		{"no date", `{"currency":"USD","clouds":{}}`, "asOf"},
		{"no source", `{"asOf":"2025-01-01","currency":"USD","clouds":{"aws":{"defaultRegion":"r","regions":{}}}}`, "source"},
		{"default region missing", `{"asOf":"2025-01-01","currency":"USD","clouds":{"aws":{"source":"s","defaultRegion":"r","regions":{}}}}`, `defaultRegion "r"`},
		{"database without source", `{"asOf":"2025-01-01","currency":"USD","clouds":{"aws":{"source":"s","defaultRegion":"r","regions":{"r":{"instanceHour":{"t3.micro":1},"diskGBMonth":{"gp3":0.08},"publicIPv4Hour":0.005,"egressGB":0.09,"database":{"asOf":"2025-01-01","instanceHour":{"db.t4g.micro":0.016},"storageGBMonth":{"gp3":0.115}}}}}}}`, "database: asOf, source"},
		{"bucket without date", `{"asOf":"2025-01-01","currency":"USD","clouds":{"aws":{"source":"s","defaultRegion":"r","regions":{"r":{"instanceHour":{"t3.micro":1},"diskGBMonth":{"gp3":0.08},"publicIPv4Hour":0.005,"egressGB":0.09,"objectStorage":{"source":"s","gbMonth":0.023}}}}}}`, "objectStorage: asOf, source"},
		{"negative price", `{"asOf":"2025-01-01","currency":"USD","clouds":{"aws":{"source":"s","defaultRegion":"r","regions":{"r":{"instanceHour":{"t3.micro":-1},"diskGBMonth":{"gp3":0.08},"publicIPv4Hour":0.005,"egressGB":0.09}}}}}`, "t3.micro costs -1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTable([]byte(tc.json))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestEveryPriceHasItsDateAndSource: the shipped table dates and sources
// the database and bucket prices of every region, and a report's lines
// for them carry both.
func TestEveryPriceHasItsDateAndSource(t *testing.T) {
	table, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for cloud, c := range table.Clouds {
		for region, p := range c.Regions {
			n++
			if p.Database == nil || p.ObjectStorage == nil {
				t.Errorf("%s %s: no database or object storage prices", cloud, region)
			}
		}
	}
	if n != 3 {
		t.Fatalf("%d regions in the table, want 3", n)
	}
	rep := estimate(t, "gcp-gallery", nil, day24)
	priced := 0
	for _, l := range rep.Lines {
		if strings.HasPrefix(l.Resource, "database") || strings.HasPrefix(l.Resource, "bucket") {
			priced++
			if l.AsOf == "" || !strings.HasPrefix(l.Source, "https://cloud.google.com/") {
				t.Errorf("%s: as of %q, source %q", l.Resource, l.AsOf, l.Source)
			}
		}
	}
	if priced != 3 {
		t.Errorf("%d database and bucket lines, want 3", priced)
	}
}

// TestUnknownDatabaseClass: a class the table lacks is an error naming it
// and where to add it.
func TestUnknownDatabaseClass(t *testing.T) {
	table, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	u := Usage{Platform: "aws", Region: "us-east-1", Databases: map[string]int{"db.r6g.large": 1}}
	_, err = Price(u, table, day24)
	if want := `database class "db.r6g.large" has no aws us-east-1 price: add it to internal/cost/prices.json`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want an error containing %q", err, want)
	}
}
