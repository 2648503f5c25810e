package images

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// MaxKeyBytes bounds a key's length in bytes (UTF-8). 250 matches
// memcached's key limit, which the lab's Python front-ends hit when they use
// the key as the memcached key; the gallery hashes keys for memcached, so
// the limit is for interoperability, not a technical necessity here.
const MaxKeyBytes = 250

// CheckKey says why key is not a valid image key, or returns nil. A key is
// 1..250 bytes of valid UTF-8 without control characters (Unicode category
// Cc: U+0000–U+001F, U+007F–U+009F). Anything else goes: spaces, slashes,
// dots, percent signs, any script. PostgreSQL text cannot hold NUL, and
// control characters make keys unreadable in logs and pages.
func CheckKey(key string) error {
	switch {
	case key == "":
		return keyError("key is empty: give 1 to %d bytes of UTF-8", MaxKeyBytes)
	case len(key) > MaxKeyBytes:
		return keyError("key is %d bytes long; at most %d bytes of UTF-8 are allowed", len(key), MaxKeyBytes)
	case !utf8.ValidString(key):
		return keyError("key is not valid UTF-8")
	}
	for i, r := range key {
		if unicode.IsControl(r) {
			return keyError("key has a control character (%U) at byte %d; control characters are not allowed", r, i)
		}
	}
	return nil
}

// KeyError is a refused key.
type KeyError struct{ msg string }

func (e *KeyError) Error() string { return e.msg }

func keyError(format string, args ...any) error {
	return &KeyError{msg: fmt.Sprintf(format, args...)}
}

// IsKeyError reports whether err is a refused key.
func IsKeyError(err error) bool {
	var ke *KeyError
	return errors.As(err, &ke)
}
