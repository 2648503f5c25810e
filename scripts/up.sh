#!/usr/bin/env bash
# Sets up this machine and stands the local twin up: installs the Debian
# packages the twin runs (nginx, memcached, prometheus, postgresql), the
# Pulumi CLI and the S3 gateway (versitygw, built once), builds
# labctl, links both into .labctl/bin (the one folder to put on PATH), then
# runs `labctl up` with any arguments given here
# (e.g. scripts/up.sh -c fibonacci:nodes=5).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

need_go
need_packages "${RUNTIME_PACKAGES[@]}"
pulumi_dir=$(scripts/install-pulumi.sh | tail -n 1)
export PATH="$pulumi_dir:$PATH"
scripts/install-go-tools.sh versitygw >/dev/null

bin="$PWD/.labctl/bin"
log "building labctl"
mkdir -p "$bin"
go build -o "$bin/labctl" ./cmd/labctl
ln -sfn "$pulumi_dir/pulumi" "$bin/pulumi"
log "standing the local twin up (stack local)"
.labctl/bin/labctl up "$@"
log "labctl and pulumi are in $bin; to use them as the README does, run:"
# shellcheck disable=SC2016 # $PATH is for the user's shell to expand
printf '    export PATH="%s:$PATH"\n' "$bin" >&2
