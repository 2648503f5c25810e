package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"testing"
)

// FuzzParse checks Parse against encoding/json on arbitrary bodies: it
// never panics, accepts only what encoding/json reads as exactly
// {"fibonacci_number": n} with the same n, and the hand-written fast path
// agrees with the encoding/json path on everything it accepts.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"fibonacci_number": 20}`, `{"fibonacci_number":0}`, ` {"fibonacci_number" : 10000 } `,
		`{"fibonacci_number": 10001}`, `{"fibonacci_number": 20.5}`, `{"fibonacci_number": 2e1}`,
		`{"fibonacci_number": -3}`, `{"fibonacci_number": "20"}`, `{"fibonacci_number": 020}`,
		`{"fibonacci_number": 20} x`, `{"fibonacci_number": 1, "fibonacci_number": 2}`, `{}`, ``,
		`{"fibonacci\u005fnumber": 5}`, `{"fibonacci_number": 999999999999999999999}`, `[20]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		const maxN = DefaultMaxN
		n, err := Parse(body, maxN)
		if fast, ok := parseFast(body); ok {
			lit, serr := parseSlow(body, maxN)
			if serr != nil || lit != strconv.FormatUint(fast, 10) {
				t.Fatalf("%q: fast path read %d, encoding/json path read %q, %v", body, fast, lit, serr)
			}
		}
		if err != nil {
			var re *RequestError
			if !errors.As(err, &re) || re.Status != 400 || re.Msg == "" {
				t.Fatalf("%q: error %#v is not a 400 RequestError", body, err)
			}
			return
		}
		if n < 0 || n > maxN {
			t.Fatalf("%q: accepted n=%d outside 0..%d", body, n, maxN)
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var m map[string]json.Number
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("%q: accepted n=%d but encoding/json says %v", body, n, err)
		}
		if len(m) != 1 || m[Field] != json.Number(strconv.Itoa(n)) {
			t.Fatalf("%q: accepted n=%d but encoding/json read %v", body, n, m)
		}
		if dec.More() {
			t.Fatalf("%q: accepted with data after the object", body)
		}
	})
}
