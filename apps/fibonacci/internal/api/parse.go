package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Field is the one member of a request body: {"fibonacci_number": N}.
const Field = "fibonacci_number"

// maxDigits bounds the integer literals converted to uint64: any literal
// longer is above every maximum the server allows.
const maxDigits = 18

// Parse reads n from a request body and checks 0 <= n <= maxN. The body
// must be a JSON object with exactly one member, "fibonacci_number", whose
// value is an integer literal (no sign, fraction or exponent), and nothing
// after the object but whitespace.
//
// The common body, `{"fibonacci_number": 20}`, is read by a hand-written
// matcher that allocates nothing; anything it does not recognise goes
// through encoding/json, which decides and explains. The matcher only ever
// accepts bodies encoding/json reads the same way (see FuzzParse).
func Parse(body []byte, maxN int) (int, error) {
	if v, ok := parseFast(body); ok {
		return checkRange(v, maxN)
	}
	lit, err := parseSlow(body, maxN)
	if err != nil {
		return 0, err
	}
	return parseInteger(Field, lit, maxN)
}

// parseFast matches ws { ws "fibonacci_number" ws : ws digits ws } ws,
// with digits a JSON integer of at most maxDigits digits.
func parseFast(b []byte) (uint64, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return 0, false
	}
	i = skipSpace(b, i+1)
	const key = `"` + Field + `"`
	if !bytes.HasPrefix(b[i:], []byte(key)) {
		return 0, false
	}
	i = skipSpace(b, i+len(key))
	if i >= len(b) || b[i] != ':' {
		return 0, false
	}
	i = skipSpace(b, i+1)
	start := i
	var v uint64
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		v = v*10 + uint64(b[i]-'0')
	}
	digits := i - start
	if digits == 0 || digits > maxDigits || (digits > 1 && b[start] == '0') {
		return 0, false
	}
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != '}' {
		return 0, false
	}
	if skipSpace(b, i+1) != len(b) {
		return 0, false
	}
	return v, true
}

// skipSpace skips JSON whitespace from i.
func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// parseSlow walks the body token by token with encoding/json, so it can
// reject unknown and duplicate members and trailing data, and returns the
// number literal as written.
func parseSlow(body []byte, maxN int) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if errors.Is(err, io.EOF) {
		return "", badRequest("empty body: %s", usage(maxN))
	}
	if err != nil {
		return "", badRequest("invalid JSON: %v: %s", err, usage(maxN))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return "", badRequest("body must be a JSON object, got %s: %s", describe(tok), usage(maxN))
	}
	var lit string
	seen := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", badRequest("invalid JSON: %v: %s", err, usage(maxN))
		}
		key, _ := tok.(string) // inside an object a token here is always a key
		if key != Field {
			return "", badRequest("unknown field %q: the only field is %q; %s", quoteLiteral(key), Field, usage(maxN))
		}
		if seen {
			return "", badRequest("duplicate field %q: %s", Field, usage(maxN))
		}
		seen = true
		tok, err = dec.Token()
		if err != nil {
			return "", badRequest("invalid JSON: %v: %s", err, usage(maxN))
		}
		num, ok := tok.(json.Number)
		if !ok {
			return "", badRequest("%s must be an integer from 0 to %d, got %s", Field, maxN, describe(tok))
		}
		lit = string(num)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return "", badRequest("invalid JSON: %v: %s", err, usage(maxN))
	}
	if !seen {
		return "", badRequest("missing field %q: %s", Field, usage(maxN))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return "", badRequest("trailing data after the JSON object: %s", usage(maxN))
	}
	return lit, nil
}

// describe names a JSON token for an error message.
func describe(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return "an object"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	case json.Number:
		return quoteLiteral(string(v))
	}
	return fmt.Sprintf("%T", tok)
}

// parseInteger checks that lit, a valid JSON number or a query value, is a
// plain non-negative integer within range. name is what the client called it.
func parseInteger(name, lit string, maxN int) (int, error) {
	bad := func() error {
		return badRequest("%s must be an integer from 0 to %d, got %q", name, maxN, quoteLiteral(lit))
	}
	if lit == "" || (len(lit) > 1 && lit[0] == '0') {
		return 0, bad()
	}
	for i := 0; i < len(lit); i++ {
		if lit[i] < '0' || lit[i] > '9' {
			return 0, bad()
		}
	}
	if len(lit) > maxDigits {
		return 0, tooLarge(name, lit, maxN)
	}
	v, err := strconv.ParseUint(lit, 10, 64)
	if err != nil {
		return 0, bad()
	}
	n, err := checkRange(v, maxN)
	if err != nil {
		return 0, tooLarge(name, lit, maxN)
	}
	return n, nil
}

func checkRange(v uint64, maxN int) (int, error) {
	if v > uint64(maxN) {
		return 0, tooLarge(Field, strconv.FormatUint(v, 10), maxN)
	}
	return int(v), nil
}

func tooLarge(name, lit string, maxN int) error {
	return badRequest("%s %s is above the maximum %d (the server's --max-n): ask for an integer from 0 to %d",
		name, quoteLiteral(lit), maxN, maxN)
}
