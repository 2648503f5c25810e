// Package ci holds the tests of the repository's GitHub Actions workflows:
// actionlint (with shellcheck on every run: block) must accept each one.
package ci
