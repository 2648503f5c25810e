package progress

import (
	"bytes"
	"strings"
	"testing"
)

func TestMeterPlainLines(t *testing.T) {
	var b bytes.Buffer
	m := Start(&b, "seed", 10)
	m.Done.Add(10)
	m.Stop()
	out := b.String()
	if !strings.HasSuffix(out, "\n") || strings.Contains(out, "\r") {
		t.Fatalf("not a plain line for a non-terminal: %q", out)
	}
	if !strings.Contains(out, "seed: 10/10 (100%)") {
		t.Fatalf("got %q, want the final count", out)
	}
}
