package ring

import (
	"crypto/md5"
	"fmt"
	"strings"
	"testing"
)

// The lab's own examples ("Consistent Hashing" section). Its partition table
// numbers from 1: "Partition 1" is 0… to 0F…, "Partition 12" is B… to BF….
// Partition (0-based) is the MD5's first hex digit, label = Partition+1.
//
// The lab text itself is inconsistent, and the test pins both readings:
//   - k1: the lab prints B637B17AF08ACED8850C18CCCE915DA, 31 hex digits; the
//     real digest has a D before E915DA. "Partition 12" is the table's label
//     for B (index 11).
//   - k2: 61620957… is right, but the lab says "Partition 6" while its table
//     puts 6… in Partition 7. The lab's 6 is the 0-based index, so the
//     example is off by one against the table; we follow the table.
func TestLabExamples(t *testing.T) {
	tests := []struct {
		key         string
		labDigest   string // as printed in the lab
		digest      string // real MD5
		index       int    // Partition(key), 0-based
		tableLabel  int    // the lab table's "Partition N" for that range
		labSaysPart int    // the number the lab's example prints
	}{
		{"k1", "B637B17AF08ACED8850C18CCCE915DA", "b637b17af08aced8850c18cccde915da", 11, 12, 12},
		{"k2", "61620957A1443C946A143CF99A7D24FA", "61620957a1443c946a143cf99a7d24fa", 6, 7, 6},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got := fmt.Sprintf("%x", md5.Sum([]byte(tt.key)))
			if got != tt.digest {
				t.Fatalf("md5(%q) = %s, want %s", tt.key, got, tt.digest)
			}
			if !strings.HasPrefix(strings.ToUpper(got), tt.labDigest[:8]) {
				t.Errorf("md5(%q) = %s, lab prints %s", tt.key, got, tt.labDigest)
			}
			if p := Partition(tt.key); p != tt.index {
				t.Errorf("Partition(%q) = %d, want %d", tt.key, p, tt.index)
			}
			if l := labTableLabel(tt.digest); l != tt.tableLabel {
				t.Errorf("lab table puts %s… in Partition %d, want %d", tt.digest[:1], l, tt.tableLabel)
			}
			if tt.labSaysPart != tt.tableLabel && tt.labSaysPart != tt.index {
				t.Errorf("lab's Partition %d matches neither reading", tt.labSaysPart)
			}
		})
	}
}

// labTableLabel transcribes the lab's table: Partition i (1..16) begins at
// the hex digit i-1 followed by zeros.
func labTableLabel(hexDigest string) int {
	begins := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"}
	for i, b := range begins {
		if strings.HasPrefix(hexDigest, b) {
			return i + 1
		}
	}
	return 0
}

// The lab's Figures 1-3 are images missing from the text; their captions
// (revised Nov 8 "to match the number of nodes shown visually") give 1, 2
// and 4 nodes, and the notes fix the alternating pattern, also for 3 and 5.
// Each table lists the owner of Partition 1..16 in order.
func TestLabFigures(t *testing.T) {
	tests := []struct {
		name  string
		nodes string
		want  string
	}{
		{"figure 1: one node", "A", "AAAAAAAAAAAAAAAA"},
		{"figure 2: two nodes", "AB", "ABABABABABABABAB"},
		{"figure 3: four nodes", "ABCD", "ABCDABCDABCDABCD"},
		{"notes: three nodes", "ABC", "ABCABCABCABCABCA"},
		{"notes: five nodes", "ABCDE", "ABCDEABCDEABCDEA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodes := strings.Split(tt.nodes, "")
			// Place partition p's keys by hash: top 4 bits = p.
			r, err := New(SchemeLab, nodes, WithHash(func(key []byte) uint64 { return uint64(key[0]) << 60 }))
			if err != nil {
				t.Fatal(err)
			}
			var got strings.Builder
			for p := 0; p < Partitions; p++ {
				got.WriteString(r.Node(string([]byte{byte(p)})))
			}
			if got.String() != tt.want {
				t.Errorf("owners of partitions 1..16 = %s, want %s", got.String(), tt.want)
			}
		})
	}
}

// The default ring agrees with Partition: the lab's k1 (Partition 12) goes
// to the 12th partition's owner.
func TestLabRingUsesMD5(t *testing.T) {
	r, err := New(SchemeLab, []string{"A", "B", "C", "D"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ key, want string }{{"k1", "D"}, {"k2", "C"}} {
		if got := r.Node(tt.key); got != tt.want {
			t.Errorf("Node(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

func TestLabRejectsMoreNodesThanPartitions(t *testing.T) {
	if _, err := New(SchemeLab, nodeNames(17)); err == nil || !strings.Contains(err.Error(), "16 partitions") {
		t.Errorf("New(lab, 17 nodes) error = %v, want one naming the 16 partitions", err)
	}
	if _, err := New(SchemeLab, nodeNames(16)); err != nil {
		t.Errorf("New(lab, 16 nodes) = %v", err)
	}
}
