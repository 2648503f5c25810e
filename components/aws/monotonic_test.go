package aws

import (
	"testing"

	"github.com/cloudlabs/cloudlabs/components/platform"
)

// publishedEC2 is the spec for TestSizesAreMonotonic: vCPUs and memory
// (GiB) of instance types as EC2's instance type pages publish them.
var publishedEC2 = map[string]struct{ vCPUs, memGiB float64 }{
	"t3.nano": {2, 0.5}, "t3.micro": {2, 1}, "t3.small": {2, 2}, "t3.medium": {2, 4}, "t3.large": {2, 8}, "t3.xlarge": {4, 16}, "t3.2xlarge": {8, 32},
	"t3a.micro": {2, 1}, "t3a.small": {2, 2}, "t3a.medium": {2, 4}, "t3a.large": {2, 8},
	"t4g.nano": {2, 0.5}, "t4g.micro": {2, 1}, "t4g.small": {2, 2}, "t4g.medium": {2, 4}, "t4g.large": {2, 8}, "t4g.xlarge": {4, 16},
	"m5.large": {2, 8}, "m5.xlarge": {4, 16}, "m7g.medium": {1, 4}, "m7g.large": {2, 8},
	"c6g.large": {2, 4}, "c6g.xlarge": {4, 8}, "c6g.2xlarge": {8, 16},
}

// TestSizesAreMonotonic: on both architectures, whatever small type a
// stack picks, every size is at least as big as the one before it
// (small <= medium <= ...) in vCPUs and in memory.
func TestSizesAreMonotonic(t *testing.T) {
	smalls := []string{
		"", "t3.nano", "t3.micro", "t3.small", "t3.large", "t3.xlarge", "t3a.small", "m5.large", // amd64
		"t4g.micro", "t4g.small", "t4g.large", "t4g.xlarge", "m7g.medium", "c6g.2xlarge", // arm64
	}
	if len(platform.Sizes) < 2 {
		t.Fatalf("sizes %v: nothing to order", platform.Sizes)
	}
	archs := map[string]bool{}
	for _, small := range smalls {
		t.Run("small="+small, func(t *testing.T) {
			types, arch, err := Settings{InstanceType: small}.resolve()
			if err != nil {
				t.Fatal(err)
			}
			archs[arch] = true
			for i := 1; i < len(platform.Sizes); i++ {
				lo, hi := platform.Sizes[i-1], platform.Sizes[i]
				lc, lok := publishedEC2[types[lo]]
				hc, hok := publishedEC2[types[hi]]
				if !lok || !hok {
					t.Fatalf("no published capacity in the test for %q or %q: add it", types[lo], types[hi])
				}
				if hc.vCPUs < lc.vCPUs || hc.memGiB < lc.memGiB {
					t.Errorf("%s %s (%v vCPU, %v GiB) is smaller than %s %s (%v vCPU, %v GiB)",
						hi, types[hi], hc.vCPUs, hc.memGiB, lo, types[lo], lc.vCPUs, lc.memGiB)
				}
			}
		})
	}
	if !archs["amd64"] || !archs["arm64"] {
		t.Errorf("architectures covered: %v, want amd64 and arm64", archs)
	}
}
