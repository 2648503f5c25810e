#!/usr/bin/env bash
# Installs versitygw (Apache-2.0 S3 gateway; its posix backend stands in for
# S3 on the twin and in the gallery's tests) at a pinned version from the Go
# module proxy into the cache bin folder, once. The build takes about four
# minutes. Prints the directory holding it on its last line.
set -euo pipefail

cache="${CLOUDLABS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudlabs}"
bindir="$cache/bin"
version="${VERSITYGW_VERSION:-v1.8.0}"

log() { printf 'install-versitygw: %s\n' "$*" >&2; }

mkdir -p "$bindir"
# A binary already there is kept only if its build information names the
# pinned module version (`versitygw --version` says "git" for proxy builds).
if [ -x "$bindir/versitygw" ] && command -v go >/dev/null 2>&1 &&
  go version -m "$bindir/versitygw" 2>/dev/null | grep -Eq "^[[:space:]]*mod[[:space:]]+github.com/versity/versitygw[[:space:]]+$version([[:space:]]|$)"; then
  echo "$bindir"
  exit 0
fi
command -v go >/dev/null 2>&1 || { log "Go is required to build versitygw (https://go.dev/dl/)"; exit 1; }
log "building versitygw $version from the Go module proxy (about 4 minutes)"
GOBIN="$bindir" go install "github.com/versity/versitygw/cmd/versitygw@$version" >&2
log "installed $bindir/versitygw"
echo "$bindir"
