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
