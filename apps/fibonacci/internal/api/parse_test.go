package api

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	long := strings.Repeat("9", 5000)
	tests := []struct {
		name    string
		body    string
		want    int
		wantErr string // substring of the error; "" means success
	}{
		{"lab example", `{"fibonacci_number": 20}`, 20, ""},
		{"no spaces", `{"fibonacci_number":20}`, 20, ""},
		{"whitespace everywhere", " \t\n{ \"fibonacci_number\" :\r\n 7 } \n", 7, ""},
		{"zero", `{"fibonacci_number": 0}`, 0, ""},
		{"maximum", `{"fibonacci_number": 10000}`, 10000, ""},
		{"escaped key", `{"fibonacci\u005fnumber": 20}`, 20, ""},
		{"empty", ``, 0, "empty body"},
		{"only whitespace", "  \n", 0, "empty body"},
		{"empty object", `{}`, 0, `missing field "fibonacci_number"`},
		{"wrong field", `{"n": 20}`, 0, `unknown field "n"`},
		{"extra field", `{"fibonacci_number": 20, "x": 1}`, 0, `unknown field "x"`},
		{"key case differs", `{"Fibonacci_Number": 20}`, 0, `unknown field "Fibonacci_Number"`},
		{"duplicate field", `{"fibonacci_number": 1, "fibonacci_number": 2}`, 0, "duplicate field"},
		{"string", `{"fibonacci_number": "20"}`, 0, "got a string"},
		{"null", `{"fibonacci_number": null}`, 0, "got null"},
		{"boolean", `{"fibonacci_number": true}`, 0, "got a boolean"},
		{"array", `{"fibonacci_number": [20]}`, 0, "got an array"},
		{"object", `{"fibonacci_number": {}}`, 0, "got an object"},
		{"fraction", `{"fibonacci_number": 20.5}`, 0, `got "20.5"`},
		{"whole fraction", `{"fibonacci_number": 20.0}`, 0, `got "20.0"`},
		{"exponent", `{"fibonacci_number": 2e1}`, 0, `got "2e1"`},
		{"capital exponent", `{"fibonacci_number": 2E+1}`, 0, `got "2E+1"`},
		{"negative", `{"fibonacci_number": -1}`, 0, `got "-1"`},
		{"negative zero", `{"fibonacci_number": -0}`, 0, `got "-0"`},
		{"above maximum", `{"fibonacci_number": 10001}`, 0, "10001 is above the maximum 10000"},
		{"above uint64", `{"fibonacci_number": 18446744073709551616}`, 0, "is above the maximum 10000"},
		{"thousands of digits", `{"fibonacci_number": ` + long + `}`, 0, "(5000 characters) is above the maximum"},
		{"leading zero", `{"fibonacci_number": 020}`, 0, "invalid JSON"},
		{"plus sign", `{"fibonacci_number": +20}`, 0, "invalid JSON"},
		{"hex", `{"fibonacci_number": 0x14}`, 0, "invalid JSON"},
		{"NaN", `{"fibonacci_number": NaN}`, 0, "invalid JSON"},
		{"truncated", `{"fibonacci_number": 20`, 0, "invalid JSON"},
		{"not JSON", `fibonacci_number=20`, 0, "invalid JSON"},
		{"bare number", `20`, 0, "must be a JSON object"},
		{"array body", `[{"fibonacci_number": 20}]`, 0, "must be a JSON object, got an array"},
		{"trailing garbage", `{"fibonacci_number": 20} x`, 0, "trailing data"},
		{"two objects", `{"fibonacci_number": 20}{"fibonacci_number": 20}`, 0, "trailing data"},
		{"trailing comma", `{"fibonacci_number": 20,}`, 0, "invalid JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.body), DefaultMaxN)
			if tc.wantErr == "" {
				if err != nil || got != tc.want {
					t.Fatalf("Parse(%q) = %d, %v; want %d", tc.body, got, err, tc.want)
				}
				return
			}
			var re *RequestError
			if !errors.As(err, &re) {
				t.Fatalf("Parse(%q) = %d, %v; want a *RequestError containing %q", tc.body, got, err, tc.wantErr)
			}
			if re.Status != http.StatusBadRequest || !strings.Contains(re.Msg, tc.wantErr) {
				t.Errorf("Parse(%q) error = %d %q, want 400 containing %q", tc.body, re.Status, re.Msg, tc.wantErr)
			}
			if len(re.Msg) > 300 {
				t.Errorf("error message is %d bytes long: the input must not be echoed whole", len(re.Msg))
			}
		})
	}
}

// TestFastPathUsed checks the common bodies never reach encoding/json.
func TestFastPathUsed(t *testing.T) {
	for _, body := range []string{`{"fibonacci_number": 20}`, `{"fibonacci_number":0}`, "{\n  \"fibonacci_number\": 1000\n}\n"} {
		t.Run(body, func(t *testing.T) {
			in := []byte(body)
			if _, ok := parseFast(in); !ok {
				t.Errorf("parseFast(%q) declined", body)
			}
			if n := testing.AllocsPerRun(100, func() { _, _ = Parse(in, DefaultMaxN) }); n != 0 {
				t.Errorf("Parse(%q) allocates %v times, want 0", body, n)
			}
		})
	}
}
