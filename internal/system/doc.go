// Package system is what cloudlabs needs from the machine it runs on, each
// in one place: the module root, atomic file writes, a process's
// /proc status, free loopback ports for programs told their port, and
// where the tools the scripts install live.
package system
