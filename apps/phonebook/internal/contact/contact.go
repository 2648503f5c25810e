// Package contact is the phone book's one record type and the rules a name
// and a number must follow before anything is stored.
//
// Names are kept in Unicode NFC: "René" typed with a precomposed é (NFC)
// and with e plus a combining accent (NFD, what some keyboards and macOS
// file names produce) look the same and must be one contact, so every name
// that enters the phone book (added, looked up, or a listing cursor) goes
// through Name or Normalize first, and Validate refuses any other form.
package contact

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Limits on what the phone book accepts; the README documents the same.
const (
	MaxNameBytes   = 256
	MaxNumberBytes = 32
)

// Contact is one phone book entry, also its JSON form on the wire and in
// the stores.
type Contact struct {
	Name   string `json:"name"`
	Number string `json:"number"`
}

// InvalidError says which field broke which rule and what is allowed, so a
// 400 reply can tell the client how to fix its request.
type InvalidError struct {
	Field  string
	Reason string
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Reason }

// Normalize returns s in Unicode NFC, the one form names are stored and
// compared in. Invalid UTF-8 passes through unchanged (ValidateName refuses
// it).
func Normalize(s string) string { return norm.NFC.String(s) }

// Name is how a name enters the phone book: it returns raw in NFC if the
// result is a valid name, else an *InvalidError. Limits apply to the
// normalized form, which is what is stored.
func Name(raw string) (string, error) {
	if !utf8.ValidString(raw) {
		return "", &InvalidError{Field: "name", Reason: "must be valid UTF-8"}
	}
	name := Normalize(raw)
	return name, ValidateName(name)
}

// New is how a contact enters the phone book: the name goes through Name,
// then both fields are validated.
func New(name, number string) (Contact, error) {
	n, err := Name(name)
	if err != nil {
		return Contact{}, err
	}
	c := Contact{Name: n, Number: number}
	return c, c.Validate()
}

// ValidateName accepts any UTF-8 name in NFC of 1..MaxNameBytes bytes
// without control characters and without surrounding whitespace (forms trim
// it, so such a name could never have been stored). Use Name to accept a
// name in any normalization form.
func ValidateName(name string) error {
	bad := func(reason string) error { return &InvalidError{Field: "name", Reason: reason} }
	switch {
	case name == "":
		return bad("must not be empty")
	case len(name) > MaxNameBytes:
		return bad(fmt.Sprintf("is %d bytes long; at most %d bytes of UTF-8 are allowed", len(name), MaxNameBytes))
	case !utf8.ValidString(name):
		return bad("must be valid UTF-8")
	case strings.TrimSpace(name) != name:
		return bad("must not begin or end with whitespace")
	case !norm.NFC.IsNormalString(name):
		return bad("must be in Unicode NFC (contact.Name normalizes it)")
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return bad(fmt.Sprintf("contains control character %U; any other UTF-8 character is allowed", r))
		}
	}
	return nil
}

// ValidateNumber accepts 1..MaxNumberBytes of digits, spaces, '+', '-', '.',
// '(' and ')' with at least one digit: what people write in phone numbers,
// without guessing at any one country's format.
func ValidateNumber(number string) error {
	bad := func(reason string) error { return &InvalidError{Field: "number", Reason: reason} }
	switch {
	case number == "":
		return bad("must not be empty")
	case len(number) > MaxNumberBytes:
		return bad(fmt.Sprintf("is %d bytes long; at most %d are allowed", len(number), MaxNumberBytes))
	case strings.TrimSpace(number) != number:
		return bad("must not begin or end with whitespace")
	}
	digits := 0
	for _, r := range number {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == ' ' || r == '+' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return bad(fmt.Sprintf("contains %q; only digits, spaces and + - . ( ) are allowed", r))
		}
	}
	if digits == 0 {
		return bad("must contain at least one digit")
	}
	return nil
}

// Validate checks both fields, name first.
func (c Contact) Validate() error {
	if err := ValidateName(c.Name); err != nil {
		return err
	}
	return ValidateNumber(c.Number)
}
