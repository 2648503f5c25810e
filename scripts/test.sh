#!/usr/bin/env bash
# Sets up and runs every test: installs what the tests need (Debian packages,
# the Pulumi CLI, actionlint), then formatting, vet, shellcheck and go test:
# unit tests, mock tests of every environment on both clouds, and the local
# twin end to end with the real Pulumi CLI, nginx and memcached.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

need_go
need_packages "${RUNTIME_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
PATH="$(scripts/install-pulumi.sh | tail -n 1):$PATH"
PATH="$(scripts/install-actionlint.sh | tail -n 1):$PATH"
export PATH

log "gofmt"
unformatted=$(gofmt -l .)
[ -z "$unformatted" ] || die "gofmt needed on: $unformatted"

log "go vet"
go vet ./...

log "shellcheck"
shellcheck scripts/*.sh .ci/run

log "go test"
go test -count=1 -timeout 45m ./...
