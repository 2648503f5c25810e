package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/cloudlabs/cloudlabs/apps/phonebook/internal/contact"
)

// testContract is the behaviour every Store must have. It runs against each
// backend, emulated or real, in a bucket of its own.
func testContract(t *testing.T, s Store) {
	ctx := context.Background()
	t.Run("unknown name", func(t *testing.T) {
		if _, err := s.Get(ctx, "nobody here"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get(unknown) error = %v, want ErrNotFound", err)
		}
	})
	names := []string{"John Doe", "Jöhn 山田 🙂", "a/b", "what?x=1&y=2", "comma, inside", "100%2F", "..", "Zed"}
	for i, name := range names {
		t.Run("put and get "+name, func(t *testing.T) {
			want := contact.Contact{Name: name, Number: fmt.Sprintf("+358 40 %03d", i)}
			if err := s.Put(ctx, want); err != nil {
				t.Fatalf("Put(%+v): %v", want, err)
			}
			got, err := s.Get(ctx, name)
			if err != nil || got != want {
				t.Fatalf("Get(%q) = %+v, %v; want %+v", name, got, err, want)
			}
		})
	}
	t.Run("overwrite", func(t *testing.T) {
		want := contact.Contact{Name: "John Doe", Number: "999"}
		if err := s.Put(ctx, want); err != nil {
			t.Fatalf("Put: %v", err)
		}
		if got, err := s.Get(ctx, want.Name); err != nil || got != want {
			t.Fatalf("Get after overwrite = %+v, %v; want %+v", got, err, want)
		}
	})
	t.Run("list pages in name order", func(t *testing.T) {
		want := append([]string(nil), names...)
		sort.Strings(want)
		var got []string
		after := ""
		for page := 0; page < 10; page++ {
			cs, err := s.List(ctx, after, 3)
			if err != nil {
				t.Fatalf("List(after %q): %v", after, err)
			}
			if len(cs) > 3 {
				t.Fatalf("List(after %q, 3) returned %d contacts", after, len(cs))
			}
			for _, c := range cs {
				got = append(got, c.Name)
			}
			if len(cs) < 3 {
				break
			}
			after = cs[len(cs)-1].Name
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("listed names %q, want %q", got, want)
		}
	})
	t.Run("list rejects bad limit", func(t *testing.T) {
		for _, limit := range []int{0, -1, MaxListLimit + 1} {
			if _, err := s.List(ctx, "", limit); err == nil {
				t.Errorf("List(limit %d) succeeded, want an error", limit)
			}
		}
	})
}

// uniqueBucket keeps runs against a shared real Riak apart.
func uniqueBucket(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "phonebook-test-" + hex.EncodeToString(b)
}

// realRiak returns the node list in env, or skips naming exactly the
// variable to set and its form.
func realRiak(t *testing.T, env string) string {
	t.Helper()
	nodes, skip := realRiakNodes(env)
	if skip != "" {
		t.Skip(skip)
	}
	return nodes
}

// realRiakPorts is each variable's Riak port, for the skip message.
var realRiakPorts = map[string]string{"CLOUDLABS_RIAK_PBC": "8087", "CLOUDLABS_RIAK_HTTP": "8098"}

// realRiakNodes reads env; without nodes it returns the skip message.
func realRiakNodes(env string) (nodes, skip string) {
	nodes = strings.TrimSpace(os.Getenv(env))
	if nodes != "" {
		return nodes, ""
	}
	port := realRiakPorts[env]
	return "", fmt.Sprintf("no real Riak: set %s=host:%s[,host:%s...] to run this contract test against one "+
		"(a fresh bucket phonebook-test-<random> per run; listing needs the leveldb or leveled backend)", env, port, port)
}

// TestRealRiakSkipNamesTheVariable keeps the skip of the real-Riak tests
// actionable: the message names the variable to set and its form.
func TestRealRiakSkipNamesTheVariable(t *testing.T) {
	for env, port := range realRiakPorts {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, "")
			nodes, skip := realRiakNodes(env)
			want := env + "=host:" + port
			if nodes != "" || !strings.Contains(skip, want) {
				t.Fatalf("with %s unset: nodes %q, skip %q; want no nodes and a skip naming %q", env, nodes, skip, want)
			}
		})
	}
}
