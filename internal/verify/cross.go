package verify

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// client is the HTTP client of the checks made from this computer.
var client = &http.Client{Timeout: 10 * time.Second}

// LBBackends checks that every backend of the load balancer's upstream
// list answers through it: requests go to the LB until each backend has
// named itself in X-Backend (nginx names the one that answered), at most
// 20 per backend. A backend that never answers, or an answer from one not
// in the list, is CRITICAL.
func LBBackends(machine, lbURL string, backends []string) Check {
	want := slices.Clone(backends)
	sort.Strings(want)
	exp := "answers from every backend: " + strings.Join(want, " ")
	return Check{Machine: machine, Name: "lb-backends", Eventually: true, Probe: func(ctx context.Context) Outcome {
		if len(want) == 0 {
			return Outcome{Status: Critical, Expected: exp, Found: "no backends in the stack's outputs"}
		}
		seen := map[string]int{}
		for i := 0; i < 20*len(want); i++ {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(lbURL, "/")+"/fibonacci", strings.NewReader(`{"fibonacci_number": 10}`))
			if err != nil {
				return Outcome{Status: Unknown, Expected: exp, Found: err.Error()}
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				return Outcome{Status: Critical, Expected: exp, Found: err.Error()}
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return Outcome{Status: Critical, Expected: exp, Found: fmt.Sprintf("POST %s/fibonacci: status %d from %q", lbURL, resp.StatusCode, resp.Header.Get("X-Backend"))}
			}
			seen[resp.Header.Get("X-Backend")]++
			if all(want, seen) {
				break
			}
		}
		var missing, extra []string
		for _, b := range want {
			if seen[b] == 0 {
				missing = append(missing, b)
			}
		}
		for b := range seen {
			if !slices.Contains(want, b) {
				extra = append(extra, fmt.Sprintf("%q", b))
			}
		}
		sort.Strings(extra)
		found := answeredBy(seen)
		if len(missing) > 0 {
			found += "; never answered: " + strings.Join(missing, " ")
		}
		if len(extra) > 0 {
			found += "; not in the list: " + strings.Join(extra, " ")
		}
		if len(missing)+len(extra) > 0 {
			return Outcome{Status: Critical, Expected: exp, Found: found}
		}
		return Outcome{Status: OK, Expected: exp, Found: found}
	}}
}

func all(want []string, seen map[string]int) bool {
	for _, b := range want {
		if seen[b] == 0 {
			return false
		}
	}
	return true
}

func answeredBy(seen map[string]int) string {
	var parts []string
	for b, n := range seen {
		parts = append(parts, fmt.Sprintf("%s×%d", b, n))
	}
	sort.Strings(parts)
	return "answered by " + strings.Join(parts, " ")
}

// ReservedContact is the phone-book name the round trip writes: it is the
// probe's own, overwritten on every run.
const ReservedContact = "cloudlabs-verify probe"

// PhonebookRoundTrip writes a contact under ReservedContact with a fresh
// number and reads it back.
func PhonebookRoundTrip(machine, baseURL string) Check {
	return Check{Machine: machine, Name: "roundtrip", Eventually: true, Probe: func(ctx context.Context) Outcome {
		n, err := rand.Int(rand.Reader, big.NewInt(1e12))
		if err != nil {
			return Outcome{Status: Unknown, Found: err.Error()}
		}
		number := fmt.Sprintf("+0 %012d", n)
		exp := fmt.Sprintf("%q read back with number %q", ReservedContact, number)
		base := strings.TrimRight(baseURL, "/")
		form := url.Values{"name": {ReservedContact}, "number": {number}}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/add/handle/", strings.NewReader(form.Encode()))
		if err != nil {
			return Outcome{Status: Unknown, Expected: exp, Found: err.Error()}
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return Outcome{Status: Critical, Expected: exp, Found: "add: " + err.Error()}
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return Outcome{Status: Critical, Expected: exp, Found: fmt.Sprintf("add: status %d: %s", resp.StatusCode, body)}
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, base+"/get/"+url.PathEscape(ReservedContact), nil)
		if err != nil {
			return Outcome{Status: Unknown, Expected: exp, Found: err.Error()}
		}
		req.Header.Set("Accept", "application/json")
		resp, err = client.Do(req)
		if err != nil {
			return Outcome{Status: Critical, Expected: exp, Found: "get: " + err.Error()}
		}
		defer resp.Body.Close()
		var c struct{ Name, Number string }
		if resp.StatusCode != http.StatusOK {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			return Outcome{Status: Critical, Expected: exp, Found: fmt.Sprintf("get: status %d: %s", resp.StatusCode, body)}
		}
		if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
			return Outcome{Status: Critical, Expected: exp, Found: "get: " + err.Error()}
		}
		if c.Name != ReservedContact || c.Number != number {
			return Outcome{Status: Critical, Expected: exp, Found: fmt.Sprintf("read back %q with number %q", c.Name, c.Number)}
		}
		return Outcome{Status: OK, Expected: exp, Found: "read back"}
	}}
}

// Endpoint is a public URL checked from outside, Pingdom-style: its
// status, a string its page must contain, and its latency.
type Endpoint struct {
	Machine  string
	Name     string
	URL      string
	Contains string
	// Slow is the latency above which the check is WARNING (default 2s).
	Slow time.Duration
}

// HTTPCheck is the check of an Endpoint.
func HTTPCheck(e Endpoint) Check {
	slow := e.Slow
	if slow == 0 {
		slow = 2 * time.Second
	}
	exp := fmt.Sprintf("GET %s answers 200 containing %q within %v", e.URL, e.Contains, slow)
	return Check{Machine: e.Machine, Name: e.Name, Probe: func(ctx context.Context) Outcome {
		start := time.Now()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.URL, nil)
		if err != nil {
			return Outcome{Status: Unknown, Expected: exp, Found: err.Error()}
		}
		resp, err := client.Do(req)
		if err != nil {
			return Outcome{Status: Critical, Expected: exp, Found: err.Error()}
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		took := time.Since(start)
		switch {
		case err != nil:
			return Outcome{Status: Critical, Expected: exp, Found: "read: " + err.Error()}
		case resp.StatusCode != http.StatusOK:
			return Outcome{Status: Critical, Expected: exp, Found: fmt.Sprintf("status %d", resp.StatusCode)}
		case !strings.Contains(string(body), e.Contains):
			return Outcome{Status: Critical, Expected: exp, Found: fmt.Sprintf("status 200 without %q (%d bytes)", e.Contains, len(body))}
		case took > slow:
			return Outcome{Status: Warning, Expected: exp, Found: fmt.Sprintf("status 200 in %v", took.Round(time.Millisecond))}
		}
		return Outcome{Status: OK, Expected: exp, Found: fmt.Sprintf("status 200 in %v", took.Round(time.Millisecond))}
	}}
}
