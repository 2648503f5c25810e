package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// find returns the one result of machine's check, failing when there is
// not exactly one.
func find(t *testing.T, rs []Result, machine, check string) Result {
	t.Helper()
	var out []Result
	for _, r := range rs {
		if r.Machine == machine && r.Check == check {
			out = append(out, r)
		}
	}
	if len(out) != 1 {
		t.Fatalf("%s/%s: %d results, want 1 (of %d)", machine, check, len(out), len(rs))
	}
	return out[0]
}
