# shellcheck shell=bash
# Shared shell helpers for scripts/: sourced, not run.

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# need_packages PKG... installs the Debian packages that are missing, with
# apt-get when root (or via sudo), and otherwise says what to install.
need_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 ||
    die "missing packages: ${missing[*]}; this script knows apt-get only: install them with your package manager"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "missing packages: ${missing[*]}; run as root: apt-get install -y ${missing[*]}"
    sudo="sudo"
  fi
  log "installing ${missing[*]}"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

need_go() {
  command -v go >/dev/null 2>&1 || die "Go 1.26 or newer is required: https://go.dev/dl/"
}

# Packages the apps and the local twin run, and the ones the tests add.
# shellcheck disable=SC2034 # used by the scripts that source this file
RUNTIME_PACKAGES=(memcached nginx curl ca-certificates iproute2)
# shellcheck disable=SC2034
TEST_PACKAGES=(cloud-init openssh-client openssh-server wrk apache2-utils python3-flask shellcheck)
