// Package replay turns phone-book workload rows into load requests whose
// replies are checked: an add must be stored (2xx), a get must return the
// number the workload expects or that this replay added.
package replay

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/cloudlabs/cloudlabs/internal/measure/load"
	"github.com/cloudlabs/cloudlabs/internal/measure/workload"
)

// Prepare returns one request per row, against target (scheme://host[:port]).
// The checks share what adds stored, so a get sent after its add succeeded
// is checked against the number added.
func Prepare(target string, rows []workload.Row) ([]*load.Request, error) {
	target = strings.TrimRight(target, "/")
	added := &sync.Map{} // name -> number stored by this replay
	out := make([]*load.Request, len(rows))
	for i, row := range rows {
		h := http.Header{"Accept": {"application/json"}}
		var body []byte
		if row.Method == http.MethodPost {
			h.Set("Content-Type", "application/x-www-form-urlencoded")
			body = []byte(row.Body)
		}
		r, err := load.NewRequest(row.Method, target+row.Path, body, h)
		if err != nil {
			return nil, fmt.Errorf("workload row %d: %w", i+1, err)
		}
		switch row.Method {
		case http.MethodPost:
			name, number := row.Name, row.Number
			r.Check = func(int, []byte) error {
				added.Store(name, number)
				return nil
			}
		case http.MethodGet:
			r.Check = getCheck(row.Name, row.Number, added)
		}
		out[i] = r
	}
	return out, nil
}

// getCheck compares a get's JSON reply with the number expected for name:
// the one this replay added, else the one the workload row carries (the
// seeded number), else nothing to check.
func getCheck(name, want string, added *sync.Map) func(int, []byte) error {
	return func(_ int, body []byte) error {
		expect := want
		if v, ok := added.Load(name); ok {
			expect = v.(string)
		}
		if expect == "" {
			return nil
		}
		var got struct{ Name, Number string }
		if err := json.Unmarshal(body, &got); err != nil {
			return fmt.Errorf("get %q: reply is not JSON: %w", name, err)
		}
		if got.Number != expect {
			return fmt.Errorf("get %q: number %q, want %q", name, got.Number, expect)
		}
		return nil
	}
}
