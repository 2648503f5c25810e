package verify

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Status is a check's state, numbered as Nagios plugins exit.
type Status int

// The four states of the Nagios plugin guidelines.
const (
	OK       Status = 0
	Warning  Status = 1
	Critical Status = 2
	Unknown  Status = 3
)

func (s Status) String() string {
	switch s {
	case OK:
		return "OK"
	case Warning:
		return "WARNING"
	case Critical:
		return "CRITICAL"
	default:
		return "UNKNOWN"
	}
}

// MarshalText writes the status by name in JSON.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a status by name.
func (s *Status) UnmarshalText(b []byte) error {
	for _, c := range []Status{OK, Warning, Critical, Unknown} {
		if c.String() == string(b) {
			*s = c
			return nil
		}
	}
	return fmt.Errorf("status %q: want OK, WARNING, CRITICAL or UNKNOWN", b)
}

// Outcome is what one probe found.
type Outcome struct {
	Status   Status
	Expected string
	Found    string
	// Skipped, when set, says why the check does not apply here (packages
	// on the twin); Status is then OK and nothing was probed.
	Skipped string
}

// Result is one check's outcome on one machine.
type Result struct {
	Machine  string        `json:"machine"`
	Check    string        `json:"check"`
	Status   Status        `json:"status"`
	Expected string        `json:"expected,omitempty"`
	Found    string        `json:"found,omitempty"`
	Skipped  string        `json:"skipped,omitempty"`
	Duration time.Duration `json:"-"`
	Attempts int           `json:"attempts"`
}

// ID names the check across the stack: machine/check, what `labctl check`
// takes.
func (r Result) ID() string { return r.Machine + "/" + r.Check }

// Failed reports whether the result is anything but OK.
func (r Result) Failed() bool { return r.Status != OK }

// MarshalJSON adds the duration in seconds.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	return json.Marshal(struct {
		plain
		Seconds float64 `json:"seconds"`
	}{plain(r), r.Duration.Seconds()})
}

// Worst is the most severe status of rs: CRITICAL over UNKNOWN over
// WARNING over OK, as Nagios ranks them when it aggregates.
func Worst(rs []Result) Status {
	rank := map[Status]int{OK: 0, Warning: 1, Unknown: 2, Critical: 3}
	w := OK
	for _, r := range rs {
		if rank[r.Status] > rank[w] {
			w = r.Status
		}
	}
	return w
}

// Failures describes every failed result on its own line, naming the
// machine, the check, what was expected and what was found.
func Failures(rs []Result) string {
	var b strings.Builder
	for _, r := range rs {
		if r.Failed() {
			fmt.Fprintf(&b, "%s %s %s: expected %s, found %s\n", r.Status, r.Machine, r.Check, r.Expected, r.Found)
		}
	}
	return b.String()
}
