// Package gallerytest starts the real services the gallery's tests need —
// a private PostgreSQL cluster and a versitygw S3 gateway on loopback — and
// fails with the install line when a binary is missing (never a skip).
// All of them live in internal/testing/testkit (memcached too); these are
// the gallery's names for them.
package gallerytest

import (
	"testing"

	"github.com/cloudlabs/cloudlabs/internal/testing/testkit"
)

// Postgres starts a private PostgreSQL cluster on loopback for one test
// (see testkit.Postgres) and returns the URL of its postgres database.
func Postgres(t testing.TB) string {
	t.Helper()
	return testkit.Postgres(t)
}

// S3 is a running S3 gateway (see testkit.S3).
type S3 = testkit.S3

// Versitygw starts versitygw's posix backend over a temporary folder on a
// free loopback port (see testkit.Versitygw); it stops when the test ends.
func Versitygw(t testing.TB) *S3 {
	t.Helper()
	return testkit.Versitygw(t)
}
