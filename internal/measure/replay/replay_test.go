package replay

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/cloudlabs/cloudlabs/internal/measure/contactgen"
	"github.com/cloudlabs/cloudlabs/internal/measure/load"
	"github.com/cloudlabs/cloudlabs/internal/measure/workload"
	"github.com/cloudlabs/cloudlabs/internal/testing/fakephonebook"
)

func TestPrepareChecksGets(t *testing.T) {
	jorg := contactgen.Contact{Name: "Jörg Müller/2?", Number: "+4930123"}
	cases := []struct {
		name string
		rows []workload.Row
		seed map[string]string
		want map[string]int // error kind -> count
	}{
		{"get after add expects the added number", []workload.Row{workload.Add(jorg), workload.Get(contactgen.Contact{Name: jorg.Name, Number: "+1 stale"})}, nil, map[string]int{}},
		{"seeded number matches", []workload.Row{workload.Get(jorg)}, map[string]string{jorg.Name: jorg.Number}, map[string]int{}},
		{"seeded number differs", []workload.Row{workload.Get(jorg)}, map[string]string{jorg.Name: "+999"}, map[string]int{load.KindMismatch: 1}},
		{"not seeded", []workload.Row{workload.Get(jorg)}, nil, map[string]int{"status 404": 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			book := fakephonebook.New()
			for n, v := range c.seed {
				book.Set(n, v)
			}
			srv := httptest.NewServer(book)
			defer srv.Close()
			reqs, err := Prepare(srv.URL+"/", c.rows)
			if err != nil {
				t.Fatal(err)
			}
			// One worker: rows go in order, so the add completes before the get.
			res, err := load.Run(context.Background(), load.Options{Concurrency: 1, Requests: len(reqs)}, func(i int) *load.Request { return reqs[i] })
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Errors) != len(c.want) {
				t.Fatalf("errors %v (%v), want %v", res.Errors, res.Examples, c.want)
			}
			for k, n := range c.want {
				if res.Errors[k] != n {
					t.Fatalf("errors %v, want %v", res.Errors, c.want)
				}
			}
		})
	}
}
