package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// runCost runs `labctl cost` with args on a fresh command.
func runCost(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return runFresh(newCostCmd(), args...)
}

// runFresh runs a freshly made command with args and returns its output:
// no flag value leaks from one run into the next.
func runFresh(cmd *cobra.Command, args ...string) (string, error) {
	out, _, err := runFreshStderr(cmd, args...)
	return out, err
}

// runFreshStderr is runFresh that also returns what the command wrote to
// its stderr.
func runFreshStderr(cmd *cobra.Command, args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err = cmd.Execute()
	return out.String(), errOut.String(), err
}

// Test stacks with the shipped stacks' values, written out so that a
// user's edit of stacks/ changes no expectation.
const (
	testAWSCachepool = `config:
  aws:region: eu-north-1
  cloudlabs:platform: aws
  cloudlabs:environments:
    - cachepool
  cachepool:nodes: "2"
  cachepool:capacityMB: "64"
  cachepool:policy: lru
`
	testGCPFibonacci = `config:
  gcp:project: my-gcp-project
  gcp:region: us-central1
  gcp:zone: us-central1-a
  cloudlabs:platform: gcp
  cloudlabs:environments:
    - fibonacci
  fibonacci:nodes: "3"
`
	testLocal = `config:
  cloudlabs:platform: local
  cloudlabs:environments:
    - phonebook
    - fibonacci
    - cachepool
    - gallery
  fibonacci:nodes: "3"
  cachepool:nodes: "2"
  cachepool:maxNodes: "3"
`
)

// stacksDir writes stack files (name -> content) into a new folder, for
// --stacks-dir.
func stacksDir(t *testing.T, stacks map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range stacks {
		if err := os.WriteFile(filepath.Join(dir, "Pulumi."+name+".yaml"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestCostCommand(t *testing.T) {
	dir := stacksDir(t, map[string]string{"aws-cachepool": testAWSCachepool, "gcp-fibonacci": testGCPFibonacci, "local": testLocal})
	runCost := func(t *testing.T, args ...string) (string, error) {
		t.Helper()
		return runCost(t, append([]string{"--stacks-dir", dir}, args...)...)
	}
	t.Run("json has the report's shape", func(t *testing.T) {
		out, err := runCost(t, "--stack", "gcp-fibonacci", "--json", "--hours", "8", "--egress-gb-per-day", "2")
		if err != nil {
			t.Fatalf("cost: %v\n%s", err, out)
		}
		var keys map[string]any
		if err := json.Unmarshal([]byte(out), &keys); err != nil {
			t.Fatalf("decode: %v\n%s", err, out)
		}
		for _, k := range []string{"stack", "platform", "region", "pricedRegion", "hoursPerDay", "egressGBPerDay", "currency", "asOf", "source", "lines", "total", "warnings", "notPriced"} {
			if _, ok := keys[k]; !ok {
				t.Errorf("report lacks %q:\n%s", k, out)
			}
		}
		var rep struct {
			Stack, Platform, Region, Currency, AsOf, Source string
			HoursPerDay, EgressGBPerDay                     float64
			Lines                                           []map[string]any
			Total                                           map[string]float64
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("decode: %v\n%s", err, out)
		}
		if rep.Stack != "gcp-fibonacci" || rep.Platform != "gcp" || rep.Region != "us-central1" || rep.Currency != "USD" || rep.AsOf == "" || rep.Source == "" {
			t.Errorf("got header %+v", rep)
		}
		if rep.HoursPerDay != 8 || rep.EgressGBPerDay != 2 {
			t.Errorf("got %v h and %v GB, want 8 and 2", rep.HoursPerDay, rep.EgressGBPerDay)
		}
		if len(rep.Lines) != 4 {
			t.Fatalf("got %d lines, want instances, disks, addresses, egress", len(rep.Lines))
		}
		for _, l := range rep.Lines {
			for _, k := range []string{"resource", "count", "quantity", "unit", "unitPrice", "perDay", "perMonth"} {
				if _, ok := l[k]; !ok {
					t.Errorf("line %v lacks %q", l, k)
				}
			}
		}
		if rep.Total["perDay"] <= 0 || rep.Total["perMonth"] <= rep.Total["perDay"] {
			t.Errorf("got total %v", rep.Total)
		}
	})
	t.Run("the table names its prices' date and source", func(t *testing.T) {
		out, err := runCost(t, "-s", "aws-cachepool")
		if err != nil {
			t.Fatalf("cost: %v\n%s", err, out)
		}
		for _, want := range []string{"instance t3.micro", "public IPv4 address", "TOTAL (USD)", "Prices as of 2025-06-01", "source: AWS public on-demand"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("-c changes the estimate, not the file", func(t *testing.T) {
		file := filepath.Join(dir, "Pulumi.aws-cachepool.yaml")
		before, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		two, err := runCost(t, "-s", "aws-cachepool", "--json")
		if err != nil {
			t.Fatal(err)
		}
		five, err := runCost(t, "-s", "aws-cachepool", "--json", "-c", "cachepool:nodes=5")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(five, `"count": 5`) || strings.Contains(two, `"count": 5`) || !strings.Contains(two, `"count": 2`) {
			t.Errorf("2 then 5 nodes not priced:\n%s\n%s", two, five)
		}
		after, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(before, after) {
			t.Errorf("cost -c wrote the stack file:\n%s", after)
		}
	})
	t.Run("the local twin is free", func(t *testing.T) {
		out, err := runCost(t, "--stack", "local")
		if err != nil || out != "local: the local twin costs nothing: it runs on this machine\n" {
			t.Errorf("got %q, %v", out, err)
		}
	})
	errs := []struct {
		name string
		args []string
		want string
	}{
		{"bad hours", []string{"-s", "aws-cachepool", "--hours", "30"}, "--hours 30: want the hours a day the stack runs"},
		{"hours not a number", []string{"-s", "aws-cachepool", "--hours", "many"}, `invalid argument "many" for "--hours"`},
		{"unknown type", []string{"-s", "aws-cachepool", "-c", "cloudlabs:instanceType=c7i.large"}, `instance type "c7i.large" has no aws eu-north-1 price: add it to internal/cost/prices.json`},
		{"no such stack", []string{"-s", "nope"}, "stack nope: no config file"},
		{"typo in a -c key", []string{"-s", "aws-cachepool", "-c", "cachepool:node=5"}, "cachepool:node: no such config key; did you mean cachepool:nodes?"},
		{"typo in a -c namespace", []string{"-s", "gcp-fibonacci", "-c", "fibonaci:nodes=10"}, "fibonaci:nodes: no such config key; did you mean fibonacci:nodes?"},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runCost(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v (output %q), want an error containing %q", err, out, tc.want)
			}
		})
	}
}
