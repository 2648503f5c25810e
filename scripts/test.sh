#!/usr/bin/env bash
# Sets up and runs every test: installs what the tests need (Debian packages,
# the Pulumi CLI, actionlint, gotestsum), then formatting, vet, shellcheck and
# go test:
# unit tests, mock tests of every environment on both clouds, and the local
# twin end to end with the real Pulumi CLI, nginx and memcached.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

need_go
need_packages "${RUNTIME_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
PATH="$(scripts/install-pulumi.sh | tail -n 1):$PATH"
PATH="$(scripts/install-go-tools.sh | tail -n 1):$PATH"
export PATH

log "gofmt"
unformatted=$(gofmt -l .)
[ -z "$unformatted" ] || die "gofmt needed on: $unformatted"

log "go vet"
go vet ./...

log "shellcheck"
shellcheck scripts/*.sh .ci/run

# gotestsum runs go test and ends with a list of every skipped test and its
# reason (the real-Riak contract tests skip unless CLOUDLABS_RIAK_* is set):
# a skip is never hidden as a pass.
log "go test"
gotestsum --format pkgname-and-test-fails --format-hide-empty-pkg -- -count=1 -timeout 45m ./...
