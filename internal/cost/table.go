package cost

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

//go:embed prices.json
var pricesJSON []byte

// TableFile is where the price table lives, for messages that ask to extend it.
const TableFile = "internal/cost/prices.json"

// Table is the dated price table: on-demand list prices per cloud and region.
type Table struct {
	AsOf     string           `json:"asOf"`    // when the prices were taken from the sources
	Checked  string           `json:"checked"` // how they were checked
	Currency string           `json:"currency"`
	Clouds   map[string]Cloud `json:"clouds"` // by platform name: aws, gcp
}

// Cloud is one provider's prices.
type Cloud struct {
	Source        string            `json:"source"`
	DefaultRegion string            `json:"defaultRegion"` // priced when the stack's region is not in Regions
	Regions       map[string]Prices `json:"regions"`
}

// Prices are one region's unit prices.
type Prices struct {
	InstanceHour   map[string]float64 `json:"instanceHour"` // by instance or machine type
	DiskGBMonth    map[string]float64 `json:"diskGBMonth"`  // by volume or disk type
	PublicIPv4Hour float64            `json:"publicIPv4Hour"`
	EgressGB       float64            `json:"egressGB"` // internet egress, first paid tier
	// Database and ObjectStorage carry their own date and source, next to
	// their numbers: they come from other price pages than the machines'.
	Database      *DatabasePrices `json:"database,omitempty"`
	ObjectStorage *ObjectPrices   `json:"objectStorage,omitempty"`
}

// DatabasePrices are a managed PostgreSQL's prices (RDS single-AZ, Cloud
// SQL zonal).
type DatabasePrices struct {
	AsOf           string             `json:"asOf"`
	Source         string             `json:"source"`
	InstanceHour   map[string]float64 `json:"instanceHour"`   // by class or tier
	StorageGBMonth map[string]float64 `json:"storageGBMonth"` // by storage type
}

// ObjectPrices are a bucket's storage price (standard class).
type ObjectPrices struct {
	AsOf    string  `json:"asOf"`
	Source  string  `json:"source"`
	GBMonth float64 `json:"gbMonth"`
}

// Builtin is the table embedded in the binary.
func Builtin() (Table, error) { return ParseTable(pricesJSON) }

// ParseTable reads a table and checks every price is usable.
func ParseTable(b []byte) (Table, error) {
	var t Table
	if err := json.Unmarshal(b, &t); err != nil {
		return Table{}, fmt.Errorf("price table: %w", err)
	}
	if t.AsOf == "" || t.Currency == "" {
		return Table{}, fmt.Errorf("price table: asOf and currency are required")
	}
	for name, c := range t.Clouds {
		if c.Source == "" {
			return Table{}, fmt.Errorf("price table: %s: source is required", name)
		}
		if _, ok := c.Regions[c.DefaultRegion]; !ok {
			return Table{}, fmt.Errorf("price table: %s: defaultRegion %q has no prices", name, c.DefaultRegion)
		}
		for region, p := range c.Regions {
			if p.PublicIPv4Hour <= 0 || p.EgressGB <= 0 || len(p.InstanceHour) == 0 || len(p.DiskGBMonth) == 0 {
				return Table{}, fmt.Errorf("price table: %s %s: instanceHour, diskGBMonth, publicIPv4Hour and egressGB are all required", name, region)
			}
			if err := p.checkExtras(); err != nil {
				return Table{}, fmt.Errorf("price table: %s %s: %w", name, region, err)
			}
			for _, m := range []map[string]float64{p.InstanceHour, p.DiskGBMonth} {
				for k, v := range m {
					if v <= 0 {
						return Table{}, fmt.Errorf("price table: %s %s: %s costs %v: want a positive price", name, region, k, v)
					}
				}
			}
		}
	}
	return t, nil
}

// checkExtras checks the database and object storage prices, when present.
func (p Prices) checkExtras() error {
	if d := p.Database; d != nil {
		if d.AsOf == "" || d.Source == "" || len(d.InstanceHour) == 0 || len(d.StorageGBMonth) == 0 {
			return fmt.Errorf("database: asOf, source, instanceHour and storageGBMonth are all required")
		}
		for _, m := range []map[string]float64{d.InstanceHour, d.StorageGBMonth} {
			for k, v := range m {
				if v <= 0 {
					return fmt.Errorf("database: %s costs %v: want a positive price", k, v)
				}
			}
		}
	}
	if o := p.ObjectStorage; o != nil && (o.AsOf == "" || o.Source == "" || o.GBMonth <= 0) {
		return fmt.Errorf("objectStorage: asOf, source and a positive gbMonth are required")
	}
	return nil
}

// databaseHour and the others below refuse what the table lacks, naming
// the key to add.
func (r regional) databaseHour(class string) (float64, *DatabasePrices, error) {
	if d := r.Database; d != nil {
		if p, ok := d.InstanceHour[class]; ok {
			return p, d, nil
		}
	}
	return 0, nil, fmt.Errorf("database class %q has no %s %s price: add it to %s (clouds.%s.regions.%s.database.instanceHour)",
		class, r.platform, r.region, TableFile, r.platform, r.region)
}

func (r regional) databaseGBMonth(stype string) (float64, error) {
	if d := r.Database; d != nil {
		if p, ok := d.StorageGBMonth[stype]; ok {
			return p, nil
		}
	}
	return 0, fmt.Errorf("database storage %q has no %s %s price: add it to %s (clouds.%s.regions.%s.database.storageGBMonth)",
		stype, r.platform, r.region, TableFile, r.platform, r.region)
}

func (r regional) objectGBMonth() (*ObjectPrices, error) {
	if r.ObjectStorage == nil {
		return nil, fmt.Errorf("bucket storage has no %s %s price: add it to %s (clouds.%s.regions.%s.objectStorage)",
			r.platform, r.region, TableFile, r.platform, r.region)
	}
	return r.ObjectStorage, nil
}

// regional is a cloud's prices for the region a stack lives in.
type regional struct {
	Prices
	cloud    Cloud
	platform string
	region   string // the region priced
	warning  string // set when it is not the stack's
}

// lookup picks the region's prices, or the cloud's default region with a
// warning when the table has none for it.
func (t Table) lookup(platform, region string) (regional, error) {
	c, ok := t.Clouds[platform]
	if !ok {
		return regional{}, fmt.Errorf("the price table has no prices for platform %q (it has %s)", platform, strings.Join(keys(t.Clouds), ", "))
	}
	if p, ok := c.Regions[region]; ok {
		return regional{Prices: p, cloud: c, platform: platform, region: region}, nil
	}
	r := regional{Prices: c.Regions[c.DefaultRegion], cloud: c, platform: platform, region: c.DefaultRegion}
	stackRegion := region
	if stackRegion == "" {
		stackRegion = "an unknown region"
	}
	r.warning = fmt.Sprintf("the stack is in %s but the table has %s prices for %s only: priced as %s, which may differ (add the region to %s)",
		stackRegion, platform, strings.Join(keys(c.Regions), ", "), c.DefaultRegion, TableFile)
	return r, nil
}

func (r regional) instanceHour(itype string) (float64, error) {
	if p, ok := r.InstanceHour[itype]; ok {
		return p, nil
	}
	return 0, fmt.Errorf("instance type %q has no %s %s price: add it to %s (clouds.%s.regions.%s.instanceHour; known: %s)",
		itype, r.platform, r.region, TableFile, r.platform, r.region, strings.Join(keys(r.InstanceHour), ", "))
}

func (r regional) diskGBMonth(dtype string) (float64, error) {
	if p, ok := r.DiskGBMonth[dtype]; ok {
		return p, nil
	}
	return 0, fmt.Errorf("disk type %q has no %s %s price: add it to %s (clouds.%s.regions.%s.diskGBMonth; known: %s)",
		dtype, r.platform, r.region, TableFile, r.platform, r.region, strings.Join(keys(r.DiskGBMonth), ", "))
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
