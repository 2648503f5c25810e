// Package verify checks that what runs on a stack's machines is what the
// program declared. Checks are derived from each machine's role (services
// running and enabled, ports listening, health endpoints answering,
// downloads and rendered files equal to their pinned SHA-256, packages
// installed) plus cross-machine checks from the environments (every
// backend answers through the load balancer, a phone-book contact is
// written and read back). They run through a Transport: Local for a twin
// host (its folder, pid files and loopback address), SSH for a cloud
// machine (golang.org/x/crypto/ssh with a pinned host key, never trusted
// on first use).
//
// A Runner runs checks in parallel with a bound, a per-check timeout and
// retries with backoff for what is eventually consistent; results print as
// a table, JSON, JUnit XML or one Nagios plugin line. Monitor runs checks
// on an interval and alerts on state changes.
package verify
