package contactgen

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestGenerate(t *testing.T) {
	a := Generate(42, 10000)
	t.Run("same seed gives same contacts", func(t *testing.T) {
		b := Generate(42, 10000)
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("contact %d: got %v, want %v", i, b[i], a[i])
			}
		}
	})
	t.Run("shorter run is a prefix", func(t *testing.T) {
		p := Generate(42, 100)
		for i := range p {
			if p[i] != a[i] {
				t.Fatalf("contact %d: got %v, want %v", i, p[i], a[i])
			}
		}
	})
	t.Run("other seed differs", func(t *testing.T) {
		b := Generate(43, 10)
		same := 0
		for i := range b {
			if b[i] == a[i] {
				same++
			}
		}
		if same == len(b) {
			t.Fatal("seeds 42 and 43 gave the same contacts")
		}
	})
	t.Run("names unique, safe for CSV, some unicode", func(t *testing.T) {
		seen := map[string]bool{}
		unicode := 0
		for _, c := range a {
			if seen[c.Name] {
				t.Fatalf("duplicate name %q", c.Name)
			}
			seen[c.Name] = true
			if strings.ContainsAny(c.Name, ",\"/\n") {
				t.Fatalf("name %q has a CSV or path separator", c.Name)
			}
			if !utf8.ValidString(c.Name) {
				t.Fatalf("name %q is not UTF-8", c.Name)
			}
			if len(c.Name) != utf8.RuneCountInString(c.Name) {
				unicode++
			}
			if !strings.HasPrefix(c.Number, "+") || len(c.Number) < 11 {
				t.Fatalf("number %q is not international", c.Number)
			}
		}
		if unicode == 0 {
			t.Fatal("no name has a non-ASCII letter")
		}
	})
}
