package store

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/cloudlabs/cloudlabs/apps/phonebook/internal/contact"
)

func TestBolt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "contacts.db")
	s, err := Open("bolt://"+path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	testContract(t, s)

	t.Run("survives reopen", func(t *testing.T) {
		want := contact.Contact{Name: "persistent", Number: "112"}
		if err := s.Put(context.Background(), want); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s2, err := OpenBolt(path)
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		if got, err := s2.Get(context.Background(), want.Name); err != nil || got != want {
			t.Fatalf("after reopen Get = %+v, %v; want %+v", got, err, want)
		}
	})
}

func TestOpenRejectsBadURLs(t *testing.T) {
	tests := []struct{ name, url string }{
		{"unknown scheme", "mysql://localhost"},
		{"no scheme", "/tmp/x.db"},
		{"relative bolt path", "bolt://relative/x.db"},
		{"riak without port", "riak-pbc://host1"},
		{"riak without nodes", "riak-http://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(tt.url, Options{})
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded, want an error", tt.url)
			}
		})
	}
}
