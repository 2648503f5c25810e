package gcp

import (
	"fmt"
	"hash/fnv"
	"regexp"
	"strings"
)

// armSeries are the machine series built on Arm (Tau T2A, Axion C4A).
var armSeries = map[string]bool{"t2a": true, "c4a": true}

// Arch is the GOARCH of a machine type: arm64 for the Arm series, amd64
// for every other.
func Arch(machineType string) string {
	if armSeries[series(machineType)] {
		return "arm64"
	}
	return "amd64"
}

// series is the part of a machine type before its first dash ("e2").
func series(machineType string) string {
	s, _, _ := strings.Cut(strings.ToLower(machineType), "-")
	return s
}

// shielded reports whether the series offers Shielded VM. As we read
// GCP's Arm documentation T2A does not, and asking for it there would fail
// the instance's creation; this could not be checked against the API here
// (no GCP access), so try a T2A stack once before relying on it.
func shielded(machineType string) bool { return series(machineType) != "t2a" }

// Image is the boot image of an architecture when none is pinned: the
// Ubuntu 24.04 LTS image family, resolved to its newest image when an
// instance is created. The provider compares a family with the image it
// resolved to, so a newer image in the family is no diff: machines are
// not replaced because Canonical published one.
func Image(arch string) string {
	return "ubuntu-os-cloud/ubuntu-2404-lts-" + arch
}

// LabelValue turns s into a GCP label value: lowercase letters, digits,
// '-' and '_', at most 63 characters.
func LabelValue(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '-'
		}
	}
	if len(b) > 63 {
		b = b[:63]
	}
	return string(b)
}

// AccountID is the service account id of a stack: 6-30 characters of
// [a-z0-9-], starting with a letter, unique per (project, stack) in a GCP
// project shared by several Pulumi projects and stacks.
func AccountID(project, stack string) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s/%s", project, stack)
	name := []byte(strings.ToLower(stack))
	for i, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			name[i] = '-'
		}
	}
	if len(name) > 19 {
		name = name[:19]
	}
	return fmt.Sprintf("cl-%s-%06x", strings.Trim(string(name), "-"), h.Sum32()&0xffffff)
}

// MachineAccountID is the service account id of one machine of a stack
// (machines that read secrets or control a group have their own): 6-30
// characters of [a-z0-9-], starting with a letter, unique per (project,
// stack, machine).
func MachineAccountID(project, stack, machine string) string {
	return scopedAccountID("cm", project, stack, machine)
}

// BucketAccountID is the service account id whose HMAC key reaches one
// data bucket of a stack, unique per (project, stack, bucket).
func BucketAccountID(project, stack, bucket string) string {
	return scopedAccountID("cb", project, stack, bucket)
}

// scopedAccountID is <prefix>-<name, at most 19>-<hash of project, stack
// and name>.
func scopedAccountID(prefix, project, stack, name string) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s/%s/%s", project, stack, name)
	b := []byte(strings.ToLower(name))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			b[i] = '-'
		}
	}
	if len(b) > 19 {
		b = b[:19]
	}
	return fmt.Sprintf("%s-%s-%06x", prefix, strings.Trim(string(b), "-"), h.Sum32()&0xffffff)
}

// tagPattern is what GCP accepts as a network tag (RFC 1035 label).
var tagPattern = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)

// groupTag is the network tag of a group, which is the group's own name:
// tags are scoped to the stack's own network, so they cannot collide with
// another stack's.
func groupTag(group string) (string, error) {
	if !tagPattern.MatchString(group) {
		return "", fmt.Errorf("group %q is not a valid GCP network tag; allowed: lowercase letters, digits and '-', starting with a letter, at most 63 characters", group)
	}
	return group, nil
}

// syncName is the short name of a dynamic file's sync service: its base
// name without extension ("upstreams.conf" -> "upstreams").
func syncName(base string) string {
	if i := strings.IndexByte(base, '.'); i > 0 {
		base = base[:i]
	}
	return LabelValue(base)
}
