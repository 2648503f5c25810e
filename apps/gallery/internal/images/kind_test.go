package images

import (
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	cases := []struct {
		name string
		data string
		want string
	}{
		{"png", "\x89PNG\r\n\x1a\nrest", "image/png"},
		{"jpeg", "\xff\xd8\xff\xe0rest", "image/jpeg"},
		{"gif89a", "GIF89a....", "image/gif"},
		{"gif87a", "GIF87a....", "image/gif"},
		{"webp", "RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"},
		{"riff but wave", "RIFF\x10\x00\x00\x00WAVEfmt ", ""},
		{"text", "hello, world", ""},
		{"html", "<html><body>", ""},
		{"pdf", "%PDF-1.4", ""},
		{"empty", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Detect([]byte(c.data)); got != c.want {
				t.Errorf("Detect(%q) = %q, want %q", c.data, got, c.want)
			}
		})
	}
}

func TestCheckKey(t *testing.T) {
	ok := []string{"k1", "a b", "a/b", "..", ".", "100%", "ключ", "猫.png", "?x=1#y", strings.Repeat("é", 125)}
	for _, k := range ok {
		if err := CheckKey(k); err != nil {
			t.Errorf("CheckKey(%q) = %v, want nil", k, err)
		}
	}
	bad := []string{"", strings.Repeat("a", 251), strings.Repeat("é", 125) + "x", "a\x00b", "tab\there", "nl\n", "\x7f", "c1\u0085", "\xff\xfe"}
	for _, k := range bad {
		if err := CheckKey(k); err == nil {
			t.Errorf("CheckKey(%q) = nil, want an error", k)
		}
	}
}
