#!/usr/bin/env bash
# Installs the Go-built tools the tests use, at pinned versions, from the Go
# module proxy into a cache folder, once each:
#   actionlint  lints .github/workflows (internal/testing/ci)
#   gotestsum   runs go test and lists every skipped test with its reason
# Prints the directory holding them on its last line.
set -euo pipefail

cache="${CLOUDLABS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudlabs}"
bindir="$cache/bin"

log() { printf 'install-go-tools: %s\n' "$*" >&2; }

# install NAME MODULE/CMD VERSION VERSION-COMMAND: a binary already there is
# kept only if VERSION-COMMAND's first line names the pinned version.
install() {
  local name=$1 pkg=$2 version=$3 vcmd=$4
  if [ -x "$bindir/$name" ] && "$bindir/$name" "$vcmd" 2>/dev/null | head -n 1 | grep -q -- "$version"; then
    return 0
  fi
  command -v go >/dev/null 2>&1 || { log "Go is required to build $name (https://go.dev/dl/)"; exit 1; }
  log "building $name $version from the Go module proxy"
  GOBIN="$bindir" go install "$pkg@$version" >&2
  log "installed $bindir/$name"
}

mkdir -p "$bindir"
install actionlint github.com/rhysd/actionlint/cmd/actionlint "${ACTIONLINT_VERSION:-v1.7.10}" -version
install gotestsum gotest.tools/gotestsum "${GOTESTSUM_VERSION:-v1.13.0}" --version
echo "$bindir"
