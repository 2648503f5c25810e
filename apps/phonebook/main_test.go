package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

// TestBinarySurvivesRestart runs the built binary twice on one bolt file,
// with memcached in front, and checks the contact outlives the first run.
// memcached is flushed between the runs: the second run's read must come
// from the bolt file, or a cache hit would hide a store that kept nothing.
func TestBinarySurvivesRestart(t *testing.T) {
	bin := testkit.BuildApp(t, "apps/phonebook")
	mc := testkit.Memcached(t)
	db := filepath.Join(t.TempDir(), "contacts.db")
	name, number := "Jöhn/Doe?", "+358 40 805 3254"

	runs := []struct {
		name string
		act  func(t *testing.T, base string)
	}{
		{"first run stores", func(t *testing.T, base string) {
			form := url.Values{"name": {name}, "number": {number}}.Encode()
			req, _ := http.NewRequest("POST", base+"/add/handle/", strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Accept", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("add: %d", resp.StatusCode)
			}
		}},
		{"second run still has it", func(t *testing.T, base string) {
			resp, err := http.Get(base + "/get/" + url.PathEscape(name))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			var got struct{ Name, Number string }
			if resp.StatusCode != 200 || json.Unmarshal(b, &got) != nil || got.Name != name || got.Number != number {
				t.Fatalf("get after restart: %d %s", resp.StatusCode, b)
			}
		}},
	}
	for i, run := range runs {
		if i > 0 {
			if err := memcache.New(mc.Addr).FlushAll(); err != nil {
				t.Fatalf("flush memcached between runs: %v", err)
			}
		}
		t.Run(run.name, func(t *testing.T) {
			addr := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
			p := testkit.Start(t, addr, bin, "--listen", addr, "--store", "bolt://"+db, "--memcached", mc.Addr)
			run.act(t, "http://"+addr)
			// SIGTERM, not kill: the graceful path must close the bolt file
			// (the next run would otherwise wait on its lock) and exit 0.
			if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if err := p.Cmd.Wait(); err != nil {
				t.Fatalf("phonebook did not exit cleanly on SIGTERM: %v", err)
			}
		})
	}
}

// TestBinaryAnswersBadURLEscapeWithJSON checks main serves through
// server.JSONErrors: a path net/http cannot parse gets a JSON 400.
func TestBinaryAnswersBadURLEscapeWithJSON(t *testing.T) {
	bin := testkit.BuildApp(t, "apps/phonebook")
	addr := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	testkit.Start(t, addr, bin, "--listen", addr, "--store", "bolt://"+filepath.Join(t.TempDir(), "contacts.db"))
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /get/% HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e struct{ Error string }
	if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &e) != nil || !strings.Contains(e.Error, "bad URL escape") {
		t.Fatalf("GET /get/%% = %d %s %s; want a JSON 400 naming the bad URL escape", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
}

func TestBadStoreFlag(t *testing.T) {
	bin := testkit.BuildApp(t, "apps/phonebook")
	tests := []struct {
		name, store, want string
	}{
		{"unknown scheme", "mysql://db:3306", "allowed: riak-pbc://"},
		{"relative bolt path", "bolt://contacts.db", "absolute path"},
		{"riak node without port", "riak-http://riak1", "no port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			cmd := exec.Command(bin, "--listen", "127.0.0.1:0", "--store", tt.store)
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			if _, ok := err.(*exec.ExitError); !ok || !strings.Contains(out.String(), tt.want) {
				t.Fatalf("phonebook --store %s: err %v, output %q; want a failure mentioning %q", tt.store, err, out.String(), tt.want)
			}
		})
	}
}
