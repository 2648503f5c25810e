package verify

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable writes one row per result, for people.
func WriteTable(w io.Writer, rs []Result) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MACHINE\tCHECK\tSTATUS\tTIME\tFOUND")
	for _, r := range rs {
		status, found := r.Status.String(), r.Found
		if r.Skipped != "" {
			status, found = "SKIP", r.Skipped
		}
		if r.Failed() {
			found = "expected " + r.Expected + ", found " + r.Found
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Machine, r.Check, status, r.Duration.Round(time.Millisecond), oneLine(found))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	failed := 0
	machines := map[string]bool{}
	for _, r := range rs {
		machines[r.Machine] = true
		if r.Failed() {
			failed++
		}
	}
	_, err := fmt.Fprintf(w, "%d checks on %d machines: %d failed\n", len(rs), len(machines), failed)
	return err
}

// Report is verify's JSON output.
type Report struct {
	Stack   string   `json:"stack,omitempty"`
	Status  Status   `json:"status"`
	Notes   []string `json:"notes,omitempty"`
	Results []Result `json:"results"`
}

// WriteJSON writes rs as one JSON Report.
func WriteJSON(w io.Writer, stack string, notes []string, rs []Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if rs == nil {
		rs = []Result{}
	}
	return enc.Encode(Report{Stack: stack, Status: Worst(rs), Notes: notes, Results: rs})
}

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes rs as JUnit XML, one test suite per machine: CRITICAL
// and WARNING are failures, UNKNOWN an error, a skip a skipped case.
func WriteJUnit(w io.Writer, stack string, rs []Result) error {
	by := map[string]*junitSuite{}
	var order []string
	for _, r := range rs {
		s := by[r.Machine]
		if s == nil {
			s = &junitSuite{Name: stack + "/" + r.Machine}
			by[r.Machine] = s
			order = append(order, r.Machine)
		}
		c := junitCase{Name: r.Check, ClassName: stack + "." + r.Machine, Time: secs(r.Duration)}
		msg := fmt.Sprintf("expected %s, found %s", r.Expected, r.Found)
		switch {
		case r.Skipped != "":
			c.Skipped = &junitMessage{Message: r.Skipped}
			s.Skipped++
		case r.Status == Unknown:
			c.Error = &junitMessage{Message: msg, Type: r.Status.String()}
			s.Errors++
		case r.Failed():
			c.Failure = &junitMessage{Message: msg, Type: r.Status.String(), Text: msg}
			s.Failures++
		}
		s.Tests++
		s.Cases = append(s.Cases, c)
	}
	sort.Strings(order)
	out := junitSuites{}
	for _, m := range order {
		s := by[m]
		var total time.Duration
		for _, r := range rs {
			if r.Machine == m {
				total += r.Duration
			}
		}
		s.Time = secs(total)
		out.Suites = append(out.Suites, *s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// PluginLine is r as one Nagios plugin output line,
// "NAME STATUS - message | time=0.012s;;;0", and the exit code the plugin
// guidelines give its status. A skipped check is UNKNOWN: it says nothing
// about the service.
func PluginLine(r Result) (string, int) {
	st := r.Status
	msg := r.Found
	switch {
	case r.Skipped != "":
		st, msg = Unknown, "skipped: "+r.Skipped
	case r.Failed():
		msg = "expected " + r.Expected + ", found " + r.Found
	}
	label := strings.NewReplacer("'", "", "=", "_").Replace(r.Check)
	return fmt.Sprintf("%s %s - %s: %s | '%s'=%.6fs;;;0 attempts=%d;;;0", r.ID(), st, r.Machine, oneLine(msg), label, r.Duration.Seconds(), max(r.Attempts, 1)), int(st)
}

// oneLine keeps a message on one line, as Nagios reads only the first
// (and "|" would start the performance data).
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.ReplaceAll(s, "|", "/")
}
