package aws

import (
	"strings"
	"testing"
)

// TestSizesNeverShrink: whatever the small type, on either architecture,
// the resolved medium has at least small's memory and vCPUs.
func TestSizesNeverShrink(t *testing.T) {
	smalls := []string{"t3.micro", "t3.large", "t4g.micro", "t4g.xlarge", "m5.large", "c6g.2xlarge"}
	if len(smalls) == 0 {
		t.Fatal("no cases")
	}
	for _, small := range smalls {
		t.Run(small, func(t *testing.T) {
			types, _, err := Settings{InstanceType: small}.resolve()
			if err != nil {
				t.Fatal(err)
			}
			cs, okS := capacityOf(types["small"])
			cm, okM := capacityOf(types["medium"])
			if !okS || !okM {
				t.Fatalf("capacity unknown: small %s (%t), medium %s (%t)", types["small"], okS, types["medium"], okM)
			}
			if cm.MemGB < cs.MemGB || cm.VCPUs < cs.VCPUs {
				t.Errorf("medium %s (%v) is smaller than small %s (%v)", types["medium"], cm, types["small"], cs)
			}
		})
	}
}

// TestCapacityOfKnownTypes checks the table against EC2's published types.
func TestCapacityOfKnownTypes(t *testing.T) {
	for _, tc := range []struct {
		typ        string
		mem, vcpus float64
	}{
		{"t3.micro", 1, 2}, {"t4g.medium", 4, 2}, {"t3.xlarge", 16, 4}, {"m5.large", 8, 2}, {"c6g.2xlarge", 16, 8}, {"r7g.medium", 8, 1},
	} {
		c, ok := capacityOf(tc.typ)
		if !ok || c.MemGB != tc.mem || c.VCPUs != tc.vcpus {
			t.Errorf("capacityOf(%s) = %v, %t; want %v GiB, %v vCPUs", tc.typ, c, ok, tc.mem, tc.vcpus)
		}
	}
}

// TestSmallerMediumRefused: an explicit medium smaller than small is an
// error naming both.
func TestSmallerMediumRefused(t *testing.T) {
	_, _, err := Settings{InstanceType: "t3.large", InstanceTypeBySize: map[string]string{"medium": "t3.medium"}}.resolve()
	if err == nil || !strings.Contains(err.Error(), "size medium is t3.medium, smaller than size small (t3.large)") {
		t.Fatalf("got %v, want the smaller medium refused", err)
	}
}
