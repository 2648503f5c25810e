package contact

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name      string
		c         Contact
		wantField string // "" means valid
	}{
		{"plain", Contact{"John Doe", "+358408053254"}, ""},
		{"unicode", Contact{"Jöhn 山田 🙂", "040 123 45"}, ""},
		{"slash and question mark", Contact{"a/b?c=d", "(040) 123-45.6"}, ""},
		{"longest name", Contact{strings.Repeat("x", MaxNameBytes), "1"}, ""},
		{"empty name", Contact{"", "1"}, "name"},
		{"long name", Contact{strings.Repeat("é", MaxNameBytes), "1"}, "name"},
		{"control char", Contact{"a\tb", "1"}, "name"},
		{"newline", Contact{"a\nb", "1"}, "name"},
		{"invalid utf8", Contact{"a\xffb", "1"}, "name"},
		{"leading space", Contact{" a", "1"}, "name"},
		{"empty number", Contact{"a", ""}, "number"},
		{"letters", Contact{"a", "12ab"}, "number"},
		{"no digit", Contact{"a", "+-()"}, "number"},
		{"long number", Contact{"a", strings.Repeat("1", MaxNumberBytes+1)}, "number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Validate()
			var ie *InvalidError
			switch {
			case tt.wantField == "" && err != nil:
				t.Fatalf("Validate(%+v) = %v, want nil", tt.c, err)
			case tt.wantField != "" && !errors.As(err, &ie):
				t.Fatalf("Validate(%+v) = %v, want an *InvalidError", tt.c, err)
			case tt.wantField != "" && ie.Field != tt.wantField:
				t.Fatalf("Validate(%+v) field = %q, want %q", tt.c, ie.Field, tt.wantField)
			}
		})
	}
}

// TestNameNormalizesToNFC checks that a name typed precomposed (NFC) or
// decomposed (NFD) becomes the same name.
func TestNameNormalizesToNFC(t *testing.T) {
	const nfc, nfd = "Ren\u00e9", "Rene\u0301"
	tests := []struct{ name, raw string }{{"NFC stays", nfc}, {"NFD composes", nfd}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Name(tt.raw)
			if err != nil || got != nfc {
				t.Fatalf("Name(%+q) = %+q, %v; want %+q", tt.raw, got, err, nfc)
			}
			c, err := New(tt.raw, "1")
			if err != nil || c.Name != nfc {
				t.Fatalf("New(%+q) = %+v, %v; want name %+q", tt.raw, c, err, nfc)
			}
		})
	}
	t.Run("Validate refuses NFD", func(t *testing.T) {
		if err := (Contact{Name: nfd, Number: "1"}).Validate(); err == nil || !strings.Contains(err.Error(), "NFC") {
			t.Fatalf("Validate(NFD name) = %v, want an error naming NFC", err)
		}
	})
	t.Run("limit applies to the stored form", func(t *testing.T) {
		// U+0958 has no NFC composition: it becomes U+0915 U+093C, 3 bytes to 6.
		raw := strings.Repeat("\u0958", MaxNameBytes/3)
		if _, err := Name(raw); err == nil {
			t.Fatalf("Name of %d bytes that normalizes to %d bytes succeeded", len(raw), 2*len(raw))
		}
	})
}
