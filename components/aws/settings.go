package aws

import (
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/cloudlabs/cloudlabs/components/platform"
)

// Settings configures the AWS platform. The program fills it from the
// validated stack config; the region is the AWS provider's (aws:region).
type Settings struct {
	// Project and Stack go into every resource's tags; "" means the
	// program's own (ctx.Project(), ctx.Stack()).
	Project, Stack string
	// Zone pins the availability zone of the subnet ("eu-west-1b"); "" means
	// the region's first zone that needs no opt-in. Pin one when an
	// instance type is not offered in the first zone.
	Zone string
	// InstanceType is the "small" size and picks the architecture of the
	// other sizes' defaults; "" means t3.micro.
	InstanceType string
	// InstanceTypeBySize overrides sizes ("medium": "t3.large"). Every type
	// must share one architecture: the apps are built once per stack.
	InstanceTypeBySize map[string]string
	// Image pins an AMI ("ami-0abc…"); "" means the latest Ubuntu 24.04 LTS
	// for the architecture, looked up at every run.
	Image string
	// SSHAllowCIDR and SSHPublicKey open port 22 of every machine to the
	// CIDR block for the key's owner. Both or neither.
	SSHAllowCIDR, SSHPublicKey string
}

// defaultTypes are the sizes' instance types per architecture: the burstable
// general-purpose families, the cheapest with enough memory (Riak wants the
// 4 GiB of "medium").
var defaultTypes = map[string]map[string]string{
	"amd64": {"small": "t3.micro", "medium": "t3.medium"},
	"arm64": {"small": "t4g.micro", "medium": "t4g.medium"},
}

var instanceTypeRE = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9-]+$`)

// sizes is how EC2 names the abstract sizes.
var sizes = platform.SizeCatalog{
	Cloud: "aws", Noun: "instance type", Example: "t3.micro", Valid: instanceTypeRE, Arch: archOf, Capacity: capacityOf,
	Defaults: func(_, arch string) map[string]string { return maps.Clone(defaultTypes[arch]) },
}

var amiRE = regexp.MustCompile(`^ami-[0-9a-f]{8,17}$`)

// resolve validates s and returns the instance type of every size and
// their common architecture. Nothing is created before it succeeds.
func (s Settings) resolve() (types map[string]string, arch string, err error) {
	types, arch, err = sizes.Resolve(s.InstanceType, s.InstanceTypeBySize)
	if err != nil {
		return nil, "", err
	}
	if s.Image != "" && !amiRE.MatchString(s.Image) {
		return nil, "", fmt.Errorf("aws platform: image %q: want an AMI id such as ami-0123456789abcdef0, or empty for Ubuntu 24.04 LTS", s.Image)
	}
	if (s.SSHAllowCIDR == "") != (s.SSHPublicKey == "") {
		return nil, "", fmt.Errorf("aws platform: SSH needs both an allowed CIDR and a public key, or neither (got CIDR %q, key set %t)",
			s.SSHAllowCIDR, s.SSHPublicKey != "")
	}
	if s.SSHAllowCIDR != "" {
		if pfx, err := netip.ParsePrefix(s.SSHAllowCIDR); err != nil || !pfx.Addr().Is4() || pfx.Masked() != pfx {
			return nil, "", fmt.Errorf("aws platform: SSH CIDR %q: want an IPv4 block such as 198.51.100.0/24", s.SSHAllowCIDR)
		}
	}
	return types, arch, nil
}

// archOf is the CPU architecture (GOARCH) of an instance type. AWS marks
// Graviton families with a "g" after the generation digit (t4g, m7gd,
// c6gn, im4gn); a1 is the first Graviton. Everything else is x86-64.
func archOf(instanceType string) string {
	family, _, _ := strings.Cut(instanceType, ".")
	if family == "a1" {
		return "arm64"
	}
	i := strings.IndexAny(family, "0123456789")
	if i < 0 {
		return "amd64"
	}
	for i < len(family) && family[i] >= '0' && family[i] <= '9' {
		i++
	}
	if strings.Contains(family[i:], "g") {
		return "arm64"
	}
	return "amd64"
}

// burstable are the sizes of the burstable families (t2, t3, t3a, t4g).
var burstable = map[string]platform.Capacity{
	"nano": {MemGB: 0.5, VCPUs: 2}, "micro": {MemGB: 1, VCPUs: 2}, "small": {MemGB: 2, VCPUs: 2},
	"medium": {MemGB: 4, VCPUs: 2}, "large": {MemGB: 8, VCPUs: 2}, "xlarge": {MemGB: 16, VCPUs: 4}, "2xlarge": {MemGB: 32, VCPUs: 8},
}

// memPerVCPU is the memory (GiB) per vCPU of the fixed-ratio families, by
// their letter: compute, general purpose, memory optimized.
var memPerVCPU = map[byte]float64{'c': 2, 'm': 4, 'r': 8}

var nxlargeRE = regexp.MustCompile(`^([0-9]+)xlarge$`)

// capacityOf is the memory and vCPUs of an instance type: the burstable
// families' sizes, and medium/large/<n>xlarge of the c, m and r families;
// ok is false for every other type.
func capacityOf(instanceType string) (platform.Capacity, bool) {
	family, size, _ := strings.Cut(instanceType, ".")
	if burstableRE.MatchString(instanceType) {
		c, ok := burstable[size]
		return c, ok
	}
	if len(family) < 2 || family[1] < '0' || family[1] > '9' {
		return platform.Capacity{}, false
	}
	per, ok := memPerVCPU[family[0]]
	if !ok {
		return platform.Capacity{}, false
	}
	var vcpus float64
	switch {
	case size == "medium":
		vcpus = 1
	case size == "large":
		vcpus = 2
	case size == "xlarge":
		vcpus = 4
	case nxlargeRE.MatchString(size):
		n, _ := strconv.Atoi(nxlargeRE.FindStringSubmatch(size)[1])
		vcpus = 4 * float64(n)
	default:
		return platform.Capacity{}, false
	}
	return platform.Capacity{MemGB: per * vcpus, VCPUs: vcpus}, true
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
