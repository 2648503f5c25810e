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
  # The twin runs nginx and memcached itself, on its own addresses; the
  # services these packages start (nginx on every address's port 80) would
  # only stand in its way.
  # No service is left enabled that the user did not ask for.
  for p in "${missing[@]}"; do
    case $p in
    nginx | memcached | prometheus | postgresql | openssh-server)
      local unit=$p
      [ "$p" = openssh-server ] && unit=ssh
      if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled --quiet "$unit" 2>/dev/null; then
        $sudo systemctl disable --now "$unit" >&2 && log "stopped and disabled the $unit service the package started: cloudlabs runs its own"
      fi
      ;;
    cloud-init)
      # Only its schema checker is used; this machine is not to be
      # reconfigured by cloud-init at its next boot (cloud-init's own switch).
      $sudo mkdir -p /etc/cloud && $sudo touch /etc/cloud/cloud-init.disabled &&
        log "disabled cloud-init at boot (/etc/cloud/cloud-init.disabled): only its schema checker is used"
      ;;
    esac
  done
}

# need_go fails unless the Go on PATH is at least the version go.mod
# names (an older one would try to download a toolchain, which fails
# offline).
need_go() {
  local want have
  want=$(awk '$1 == "go" {print $2; exit}' go.mod)
  command -v go >/dev/null 2>&1 || die "Go $want or newer is required: https://go.dev/dl/"
  have=$(GOTOOLCHAIN=local go env GOVERSION)
  have=${have#go}
  if [ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -n 1)" != "$want" ]; then
    die "Go $want or newer is required (go.mod), this machine has $have: https://go.dev/dl/"
  fi
}

# Packages the apps and the local twin run, and the ones the tests add.
# shellcheck disable=SC2034 # used by the scripts that source this file
# The elastic pool's manager keeps Prometheus beside it and its state in
# PostgreSQL (a private cluster per twin host, never the system's own).
RUNTIME_PACKAGES=(memcached nginx curl ca-certificates iproute2 prometheus postgresql)
# shellcheck disable=SC2034
# Only what tests run: cloud-init (its schema checker), shellcheck, python3
# (a test's stand-in service), chromium (a real browser drives the manager's dashboard), openssh-server
# and -client (verify's SSH transport against a real sshd the test starts
# on loopback; the system's sshd is left disabled). The benchmarks install
# their own tools.
TEST_PACKAGES=(cloud-init shellcheck python3 chromium openssh-server openssh-client qemu-system-x86 qemu-utils mmdebstrap cloud-image-utils e2fsprogs)

# --- benchmarks: the pieces every scripts/bench-*.sh shares ---

# bench_setup makes the scratch folder $work and, on exit, stops every
# process whose pid a script appended to $pids, then removes $work.
bench_setup() {
  work=$(mktemp -d)
  pids=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}

# bench_build PKG... builds each of the module's commands into $work, named
# after its last path element (apps/fibonacci -> $work/fibonacci).
bench_build() {
  local pkg
  log "building $*"
  for pkg in "$@"; do go build -o "$work/${pkg##*/}" "./$pkg"; done
}

# port_open PORT succeeds when something accepts connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ports_free PORT... fails unless nothing listens on any of them: a stale
# server there would be measured instead of the one started.
ports_free() {
  local port
  for port in "$@"; do
    if port_open "$port"; then die "port $port is already in use: set PORT_BASE"; fi
  done
}

# wait_port PORT waits up to 10 s for 127.0.0.1:PORT to accept connections.
wait_port() {
  for _ in $(seq 100); do
    port_open "$1" && return 0
    sleep 0.1
  done
  die "nothing listens on 127.0.0.1:$1 after 10s"
}

# wrk_rate reads wrk's report on stdin and prints its requests per second.
wrk_rate() { awk '/^Requests\/sec:/ {print $2}'; }

# wrk_rps WRK-ARGS... runs wrk once and prints its requests per second,
# failing on socket errors or non-2xx answers so a broken server cannot
# look fast.
wrk_rps() {
  local out
  out=$(wrk "$@")
  if grep -q -e 'Non-2xx' -e 'Socket errors' <<<"$out"; then
    printf '%s\n' "$out" >&2
    die "wrk saw errors against ${*: -1}"
  fi
  wrk_rate <<<"$out"
}

# cpu_ticks PID... prints the CPU clock ticks (user + system) the processes
# have used: a cost the shared machine's load disturbs far less than rates.
cpu_ticks() {
  local t=0 p
  for p in "$@"; do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$t"
}

# ratio A B [DECIMALS] prints A / B with DECIMALS (3) digits.
ratio() { awk -v a="$1" -v b="$2" -v d="${3:-3}" 'BEGIN {printf "%.*f", d, a / b}'; }

# median reads numbers, one a line, and prints their median (the mean of
# the two middle ones when there is an even count).
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# lower_median is median, but the lower middle one when the count is even.
lower_median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
