// Package components declares the three lab environments — the phone book
// on a Riak cluster, the fibonacci fleet behind nginx, the cache pool — as
// Pulumi components written once against platform.Platform, so the same code
// runs on AWS, GCP and the local twin.
//
// Each environment is two layers: pure role builders (roles.go) that turn
// settings and addresses into role.Role values from templates/, and a
// ComponentResource that creates machines and firewall rules for them.
package components
