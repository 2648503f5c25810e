#!/usr/bin/env bash
# Sets up this machine and stands the local twin up: installs the Debian
# packages the twin runs (nginx, memcached) and the Pulumi CLI, builds
# labctl, then runs `labctl up` with any arguments given here
# (e.g. scripts/up.sh -c fibonacci:nodes=5).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

need_go
need_packages "${RUNTIME_PACKAGES[@]}"
pulumi_dir=$(scripts/install-pulumi.sh | tail -n 1)
export PATH="$pulumi_dir:$PATH"

log "building labctl"
go build -o .labctl/bin/labctl ./cmd/labctl
log "standing the local twin up (stack local); labctl is at .labctl/bin/labctl"
exec .labctl/bin/labctl up "$@"
