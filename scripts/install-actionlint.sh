#!/usr/bin/env bash
# Installs actionlint (the GitHub Actions workflow linter the tests run on
# .github/workflows) from the Go module proxy into a cache folder, once.
# Prints the directory holding the `actionlint` binary on its last line.
set -euo pipefail

version="${ACTIONLINT_VERSION:-v1.7.10}"
cache="${CLOUDLABS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudlabs}"
bindir="$cache/bin"

log() { printf 'install-actionlint: %s\n' "$*" >&2; }

# A binary already there is kept only if it is the pinned version.
if [ -x "$bindir/actionlint" ] && "$bindir/actionlint" -version 2>/dev/null | head -n 1 | grep -qx "$version"; then
  echo "$bindir"
  exit 0
fi
command -v go >/dev/null 2>&1 || { log "Go is required to build actionlint (https://go.dev/dl/)"; exit 1; }
mkdir -p "$bindir"
log "building actionlint $version from the Go module proxy"
GOBIN="$bindir" go install "github.com/rhysd/actionlint/cmd/actionlint@$version" >&2
log "installed $bindir/actionlint"
echo "$bindir"
