// Package workload builds the lab's fixed, shuffled list of phone-book
// requests (adds of new contacts, gets of seeded ones with Zipf popularity)
// and reads and writes it as a CSV that JMeter can also use.
package workload

import (
	"fmt"
	"math/rand/v2"
	"net/url"

	"github.com/cloudlabs/cloudlabs/internal/measure/contactgen"
)

// Paths of the phone book's HTTP API.
const (
	AddPath   = "/add/handle/"
	GetPrefix = "/get/"
)

// Row is one request of a workload.
type Row struct {
	Method string // GET or POST
	Path   string // URL path (escaped)
	Body   string // application/x-www-form-urlencoded for adds, empty for gets
	Name   string // the contact's name
	Number string // the number added, or the number a get should return
}

// Spec is what a workload is built from; the same Spec gives the same rows.
type Spec struct {
	Seed     uint64
	Contacts int     // how many contacts `labctl seed` loaded with Seed
	Requests int     // total rows
	Adds     int     // rows that add a new contact; the rest are gets
	Zipf     float64 // popularity exponent s of gets, > 1
}

// Validate reports the first bad field, naming it, its value and what is allowed.
func (s Spec) Validate() error {
	switch {
	case s.Requests < 1:
		return fmt.Errorf("requests = %d: want at least 1", s.Requests)
	case s.Adds < 0 || s.Adds > s.Requests:
		return fmt.Errorf("adds = %d: want 0..requests (%d)", s.Adds, s.Requests)
	case s.Contacts < 1 && s.Adds < s.Requests:
		return fmt.Errorf("contacts = %d: gets need at least 1 seeded contact", s.Contacts)
	case !(s.Zipf > 1):
		// math/rand/v2's Zipf needs s > 1; it returns nil otherwise.
		return fmt.Errorf("zipf = %g: want s > 1 (e.g. 1.1; larger is more skewed)", s.Zipf)
	}
	return nil
}

// Build returns the rows of s in their seeded random order. Gets ask for
// seeded contacts, the most popular ones following a Zipf law over a seeded
// ranking (so popularity does not follow insertion order); adds store
// contacts that come right after the seeded ones from the same generator, so
// they never overwrite what a get expects.
func Build(s Spec) ([]Row, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	all := contactgen.Generate(s.Seed, s.Contacts+s.Adds)
	seeded, fresh := all[:s.Contacts], all[s.Contacts:]

	r := rand.New(rand.NewPCG(s.Seed, 0x776f726b6c6f6164)) // "workload"
	rows := make([]Row, 0, s.Requests)
	for _, c := range fresh {
		rows = append(rows, Add(c))
	}
	if gets := s.Requests - s.Adds; gets > 0 {
		rank := r.Perm(len(seeded))
		z := rand.NewZipf(r, s.Zipf, 1, uint64(len(seeded)-1))
		for range gets {
			rows = append(rows, Get(seeded[rank[z.Uint64()]]))
		}
	}
	r.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	return rows, nil
}

// Add is the row that stores c (what `labctl seed` sends for each contact).
func Add(c contactgen.Contact) Row {
	body := url.Values{"name": {c.Name}, "number": {c.Number}}.Encode()
	return Row{Method: "POST", Path: AddPath, Body: body, Name: c.Name, Number: c.Number}
}

// Get is the row that looks c up and expects its number.
func Get(c contactgen.Contact) Row {
	return Row{Method: "GET", Path: GetPrefix + url.PathEscape(c.Name), Name: c.Name, Number: c.Number}
}
