#!/usr/bin/env bash
# Installs the Pulumi CLI into a cache folder when it is not already on PATH.
#
# Order of attempts: an existing `pulumi` on PATH; a cached build; the official
# installer (where get.pulumi.com is reachable); a build from the Go module
# proxy (the only path on machines that reach nothing but the proxy).
# Prints the directory holding the `pulumi` binary on its last line.
set -euo pipefail

version="${PULUMI_VERSION:-3.256.0}"
cache="${CLOUDLABS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudlabs}"
bindir="$cache/pulumi-v$version/bin"

log() { printf 'install-pulumi: %s\n' "$*" >&2; }

if command -v pulumi >/dev/null 2>&1 && [ -z "${CLOUDLABS_FORCE_PULUMI_BUILD:-}" ]; then
  dirname "$(command -v pulumi)"
  exit 0
fi
if [ -x "$bindir/pulumi" ]; then
  echo "$bindir"
  exit 0
fi
mkdir -p "$bindir"

if [ -z "${CLOUDLABS_FORCE_PULUMI_BUILD:-}" ] &&
  curl -fsS --max-time 5 -o /dev/null https://get.pulumi.com/ 2>/dev/null; then
  log "installing Pulumi v$version with the official installer"
  if curl -fsSL https://get.pulumi.com | sh -s -- --version "$version" --install-root "$cache/pulumi-v$version" --no-edit-path >&2; then
    echo "$bindir"
    exit 0
  fi
  log "official installer failed; building from the Go module proxy instead"
fi

command -v go >/dev/null 2>&1 || { log "Go is required to build the Pulumi CLI (https://go.dev/dl/)"; exit 1; }
log "building Pulumi v$version from the Go module proxy: about 9 minutes on 2 cores the first time, cached after"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/main.go" <<'GO'
package main

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
GO
(
  cd "$work"
  go mod init pulumibuild >/dev/null 2>&1
  go get "github.com/pulumi/pulumi/pkg/v3@v$version" >&2
  go mod tidy >&2
  total=$(go list -deps github.com/pulumi/pulumi/pkg/v3/cmd/pulumi | wc -l)
  # -v names each package as it is compiled: counted for progress.
  go build -v -o "$bindir/pulumi" \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$version" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi 2>"$work/build.log" &
  build=$!
  start=$SECONDS
  while kill -0 "$build" 2>/dev/null; do
    sleep 15
    kill -0 "$build" 2>/dev/null || break
    log "$(wc -l <"$work/build.log") of about $total packages compiled, $(((SECONDS - start) / 60))m$(((SECONDS - start) % 60))s"
  done
  if ! wait "$build"; then
    cat "$work/build.log" >&2
    exit 1
  fi
)
log "installed $bindir/pulumi"
echo "$bindir"
