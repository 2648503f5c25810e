#!/usr/bin/env bash
# Installs the Go-built tools the tests use, at pinned versions, from the Go
# module proxy into a cache folder, once each:
#   actionlint  lints .github/workflows (internal/testing/ci)
#   gotestsum   runs go test and lists every skipped test with its reason
#   versitygw   the S3 gateway (posix backend) the twin and the gallery's
#               tests use as object storage; about 4 minutes to build
# With names as arguments (scripts/install-go-tools.sh versitygw), only
# those. Prints the directory holding them on its last line.
set -euo pipefail

cache="${CLOUDLABS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudlabs}"
bindir="$cache/bin"

log() { printf 'install-go-tools: %s\n' "$*" >&2; }

# install NAME MODULE PACKAGE VERSION: a binary already there is kept only
# if its build information names the pinned module version (some tools,
# built from the proxy, cannot say their own version).
install() {
  local name=$1 mod=$2 pkg=$3 version=$4
  if [ -x "$bindir/$name" ] &&
    go version -m "$bindir/$name" 2>/dev/null | grep -Eq "^[[:space:]]*mod[[:space:]]+${mod}[[:space:]]+${version}([[:space:]]|$)"; then
    return 0
  fi
  command -v go >/dev/null 2>&1 || { log "Go is required to build $name (https://go.dev/dl/)"; exit 1; }
  log "building $name $version from the Go module proxy"
  GOBIN="$bindir" go install "$pkg@$version" >&2
  log "installed $bindir/$name"
}

mkdir -p "$bindir"
command -v go >/dev/null 2>&1 || { log "Go is required to build the test tools (https://go.dev/dl/)"; exit 1; }
wanted() { [ $# -eq 0 ] || [[ " $* " == *" $name "* ]]; }
want=("$@")
for tool in \
  "actionlint github.com/rhysd/actionlint github.com/rhysd/actionlint/cmd/actionlint ${ACTIONLINT_VERSION:-v1.7.10}" \
  "gotestsum gotest.tools/gotestsum gotest.tools/gotestsum ${GOTESTSUM_VERSION:-v1.13.0}" \
  "versitygw github.com/versity/versitygw github.com/versity/versitygw/cmd/versitygw ${VERSITYGW_VERSION:-v1.8.0}"; do
  read -r name _ <<<"$tool"
  # shellcheck disable=SC2086 # the four words of the line are install's arguments
  if wanted "${want[@]}"; then install $tool; fi
done
echo "$bindir"
