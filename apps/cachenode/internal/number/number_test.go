package number

import "testing"

func TestParseUint64(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"0", 0, true}, {"42", 42, true}, {" 12 ", 12, true}, {"+5", 5, true}, {"\t7", 7, true},
		{"18446744073709551615", 1<<64 - 1, true}, {"18446744073709551616", 0, false},
		{"-1", 0, false}, {"-0", 0, true}, {"", 0, false}, {"x", 0, false}, {"1x", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := ParseUint64([]byte(tt.in))
			if got != tt.want || ok != tt.ok {
				t.Errorf("ParseUint64(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestParseInt32(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"-1", -1, true}, {"2147483647", 2147483647, true}, {"2147483648", 0, false},
		{"-2147483648", -2147483648, true}, {"-2147483649", 0, false}, {"abc", 0, false}, {"1.5", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := ParseInt32([]byte(tt.in))
			if got != tt.want || ok != tt.ok {
				t.Errorf("ParseInt32(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}
