#!/usr/bin/env bash
# Benchmarks apps/cachenode against the real memcached (Debian's 1.6, the
# anchor) on loopback, in the same run, under several load generators:
#
#   mcload        cmd/mcload, ours: closed loop, 90% get / 10% set, 100-byte
#                 values, KEYS keys preloaded; pipeline 1 (one request in
#                 flight per connection) or N (N requests per write)
#   memslap-get   libmemcached's memslap (Debian: memcslap), independent:
#                 one thread and connection per client, synchronous gets
#   memslap-set   the same, synchronous sets
#   memslap-mget  the same, each client fetching all its keys with one
#                 multi-get (libmemcached pipelines the keys)
#   memtier       Redis Labs' memtier_benchmark, independent: text protocol,
#                 MEMTIER_THREADS threads sharing the connections, random
#                 keys, sets and gets in GET_RATIO's proportion (1:9),
#                 VALUE-byte values, for DURATION after a set of every one of
#                 the KEYS keys ("memtier-1" up: printable, as cachenode
#                 wants); pipeline 1 or N (--pipeline). Not packaged
#                 in Debian 12: a memtier_benchmark on PATH (or MEMTIER=path)
#                 is used, else MEMTIER_VERSION is built once into the tool
#                 cache (~/.cache/cloudlabs) from MEMTIER_SRC (a git repository
#                 or checkout; default the GitHub one)
#
# Every scenario ("generator:connections[:pipeline]") runs ROUNDS rounds;
# each round measures memcached, cachenode (event loops, the default), with
# FLOOR=1 cmd/mcfloor (the second anchor: the least a Go memcached server
# can do per request, an epoll loop on bare system calls over a map) and,
# with GOROUTINE=1, cachenode --net goroutine (the old netpoller layer),
# rotating which goes first. Reported per scenario, as medians over rounds:
# ops/s, the ratio cachenode / memcached (goal >= 1), each server's CPU time
# per operation (user + system from /proc/<pid>/stat, preload included for
# all) and the ratio cachenode / memcached CPU per op (goal <= 1); with the
# floor, cachenode's two ratios to it and the floor's to memcached (what
# any Go server pays); and how busy the machine was (load average, share
# of idle CPU from /proc/stat).
#
# memaslap (Debian: memcaslap) is not used: every key it makes starts with
# eight bytes from 0x10 up, control characters that cachenode rejects by
# design (README, "Known differences"), so it would time error replies.
#
# Environment: ROUNDS (3), DURATION per mcload and memtier measurement (4s;
# whole seconds for memtier), THREADS (2, both servers), MEMORY_MB (64), KEYS
# (10000), VALUE (100), GET_RATIO (0.9), MEMSLAP_OPS (150000 per get/set
# measurement), MEMSLAP_MGET_KEYS (2000 keys per client), MEMTIER_THREADS (2;
# a memtier scenario's connections must be a multiple), MEMTIER, MEMTIER_SRC,
# FLOOR (1), GOROUTINE (1), SCENARIOS (see below), PORT_BASE (18211; uses
# PORT_BASE to PORT_BASE+3).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh disable=SC1091
. scripts/lib.sh

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-4s}
THREADS=${THREADS:-2}
MEMORY_MB=${MEMORY_MB:-64}
KEYS=${KEYS:-10000}
VALUE=${VALUE:-100}
GET_RATIO=${GET_RATIO:-0.9}
MEMSLAP_OPS=${MEMSLAP_OPS:-150000}
MEMSLAP_MGET_KEYS=${MEMSLAP_MGET_KEYS:-2000}
MEMTIER_THREADS=${MEMTIER_THREADS:-2}
FLOOR=${FLOOR:-1}
GOROUTINE=${GOROUTINE:-1}
SCENARIOS=${SCENARIOS:-"mcload:50 mcload:500 mcload:50:16 mcload:500:16 memslap-get:50 memslap-get:500 memslap-set:50 memslap-mget:50 memtier:50 memtier:500 memtier:50:16"}
PORT_BASE=${PORT_BASE:-18211}
[ "$ROUNDS" -ge 1 ] || die "ROUNDS=$ROUNDS: want at least 1"

# The memtier_benchmark release built when none is installed, and its
# commit: a tag that moved is refused.
MEMTIER_VERSION=2.3.0
MEMTIER_COMMIT=1655c39a2be50914d87cf450bb54aa8475293e77

# need_memtier sets memtier to a memtier_benchmark binary: $MEMTIER, the one
# on PATH, or MEMTIER_VERSION built once into the tool cache.
need_memtier() {
  if [ -n "${MEMTIER:-}" ]; then
    [ -x "$MEMTIER" ] || die "MEMTIER=$MEMTIER is not an executable file"
    memtier=$MEMTIER
  elif memtier=$(command -v memtier_benchmark); then
    :
  else
    local cache=${CLOUDLABS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudlabs}
    memtier="$cache/memtier_benchmark-$MEMTIER_VERSION/bin/memtier_benchmark"
    # A cached build that no longer runs (its libevent removed) is rebuilt.
    if ! "$memtier" --version >/dev/null 2>&1; then build_memtier "$memtier"; fi
  fi
  log "memtier: $memtier ($("$memtier" --version 2>&1 | head -n 1))"
}

# build_memtier DEST builds MEMTIER_VERSION (checked against MEMTIER_COMMIT)
# from MEMTIER_SRC and installs the binary as DEST.
build_memtier() {
  local dest=$1 src=${MEMTIER_SRC:-https://github.com/RedisLabs/memtier_benchmark} tree=$work/memtier-src tag
  need_packages git g++ make autoconf automake libtool pkg-config libevent-dev zlib1g-dev
  log "building memtier_benchmark $MEMTIER_VERSION from $src into $(dirname "$dest") (once; a minute or two)"
  git clone --quiet --no-checkout "$src" "$tree" ||
    die "cannot clone memtier_benchmark from $src: set MEMTIER_SRC to a clone of https://github.com/RedisLabs/memtier_benchmark, or MEMTIER to a memtier_benchmark binary"
  tag=$(git -C "$tree" rev-parse --verify --quiet "refs/tags/$MEMTIER_VERSION^{commit}") ||
    die "$src has no tag $MEMTIER_VERSION"
  [ "$tag" = "$MEMTIER_COMMIT" ] || die "$src: tag $MEMTIER_VERSION is commit $tag, not the pinned $MEMTIER_COMMIT"
  git -C "$tree" -c advice.detachedHead=false checkout --quiet "$MEMTIER_COMMIT"
  # TLS is not measured: without it, OpenSSL's headers are not needed.
  if ! (cd "$tree" && autoreconf -ivf && ./configure --disable-tls && nice make -j"$(nproc)") >"$work/memtier-build.log" 2>&1; then
    tail -n 20 "$work/memtier-build.log" >&2
    die "building memtier_benchmark $MEMTIER_VERSION failed (the end of its log is above)"
  fi
  mkdir -p "$(dirname "$dest")"
  install -m 0755 "$tree/memtier_benchmark" "$dest.tmp" && mv "$dest.tmp" "$dest"
  log "installed $dest"
}

need_go
need_packages memcached libmemcached-tools

bench_setup
if [[ " $SCENARIOS " == *" memtier:"* ]]; then
  need_packages jq # memtier's JSON report
  [[ $DURATION =~ ^([0-9]+)s$ ]] || die "DURATION=$DURATION: memtier takes whole seconds, e.g. 4s"
  memtier_seconds=${BASH_REMATCH[1]}
  for scen in $SCENARIOS; do
    IFS=: read -r gen conns _ <<<"$scen"
    [ "$gen" != memtier ] || [ $((conns % MEMTIER_THREADS)) -eq 0 ] ||
      die "$scen: memtier's connections must be a multiple of MEMTIER_THREADS=$MEMTIER_THREADS"
  done
  # memtier's --ratio is sets:gets in whole numbers: 0.9 is 1:9.
  memtier_ratio=$(awk -v r="$GET_RATIO" 'function gcd(a, b) { return b ? gcd(b, a % b) : a }
    BEGIN { g = int(r * 100 + 0.5); s = 100 - g; d = gcd(s, g); print s / d ":" g / d }')
  need_memtier
fi
names=(memcached cachenode)
ports=("$PORT_BASE" $((PORT_BASE + 1)))
[ "$FLOOR" = 1 ] && names+=(floor) && ports+=($((PORT_BASE + 3)))
[ "$GOROUTINE" = 1 ] && names+=(goroutine) && ports+=($((PORT_BASE + 2)))
ports_free "${ports[@]}"
bench_build apps/cachenode cmd/mcload cmd/mcfloor

user_args=()
[ "$(id -u)" -eq 0 ] && user_args=(-u nobody)
memcached -l 127.0.0.1 -p "${ports[0]}" -U 0 -t "$THREADS" -m "$MEMORY_MB" -c 1024 "${user_args[@]}" 2>"$work/memcached.log" &
server_pids=($!)
cachenode_args=(--admin "" --threads "$THREADS" --capacity "${MEMORY_MB}MB" --max-conns 1024)
"$work/cachenode" --listen "127.0.0.1:${ports[1]}" "${cachenode_args[@]}" 2>"$work/cachenode.log" &
server_pids+=($!)
if [ "$FLOOR" = 1 ]; then
  "$work/mcfloor" --listen "127.0.0.1:$((PORT_BASE + 3))" --threads "$THREADS" 2>"$work/mcfloor.log" &
  server_pids+=($!)
fi
if [ "$GOROUTINE" = 1 ]; then
  "$work/cachenode" --listen "127.0.0.1:$((PORT_BASE + 2))" --net goroutine "${cachenode_args[@]}" 2>"$work/goroutine.log" &
  server_pids+=($!)
fi
pids+=("${server_pids[@]}")
for port in "${ports[@]}"; do wait_port "$port"; done

# idle_ticks prints "idle total" clock ticks of all CPUs from /proc/stat.
idle_ticks() { awk '/^cpu / {t = 0; for (i = 2; i <= NF; i++) t += $i; print $5 + $6, t; exit}' /proc/stat; }

# measure SCENARIO PORT PID prints "ops/s microseconds-of-server-CPU-per-op".
measure() {
  local gen conns depth before after out ops cpu_ops secs per
  IFS=: read -r gen conns depth <<<"$1"
  before=$(cpu_ticks "$3")
  case $gen in
  mcload)
    out=$(timeout 300 "$work/mcload" -addr "127.0.0.1:$2" -conns "$conns" -pipeline "${depth:-1}" -duration "$DURATION" \
      -keys "$KEYS" -value "$VALUE" -get-ratio "$GET_RATIO" -json) || return 1
    ops=$(sed -n 's/.*"ops":\([0-9]*\).*/\1/p' <<<"$out")
    secs=$(sed -n 's/.*"seconds":\([0-9.]*\).*/\1/p' <<<"$out")
    grep -q '"errors":0,' <<<"$out" || { printf '%s\n' "$out" >&2; return 1; }
    cpu_ops=$((ops + KEYS)) # every run preloads the keys
    ;;
  memslap-get | memslap-set | memslap-mget)
    local test=${gen#memslap-}
    if [ "$test" = mget ]; then per=$MEMSLAP_MGET_KEYS; else per=$(((MEMSLAP_OPS + conns - 1) / conns)); fi
    out=$(timeout 300 memcslap --servers="127.0.0.1:$2" --test="$test" --concurrency="$conns" --execute-number="$per" 2>&1) || {
      printf '%s\n' "$out" >&2
      return 1
    }
    # "Time to get   150000 keys by   50 threads:   1.234 seconds."
    read -r ops secs < <(sed -n "s/^Time to $test *\([0-9]*\) keys by *[0-9]* threads: *\([0-9.]*\) seconds.*/\1 \2/p" <<<"$out")
    # Every get finds its key: fewer mean errors or misses.
    [ "${ops:-0}" -eq $((conns * per)) ] || { printf '%s\n' "$out" >&2; return 1; }
    cpu_ops=$ops
    [ "$test" = set ] || cpu_ops=$((ops + per)) # get and mget first store the keys
    ;;
  memtier)
    # Every key set first (one connection, in order), so every get hits.
    local common=(--server=127.0.0.1 --port="$2" --protocol=memcache_text --data-size="$VALUE"
      --key-minimum=1 --key-maximum="$KEYS" --hide-histogram)
    memtier_run "$work/memtier-load.json" 120 "${common[@]}" --threads=1 --clients=1 --pipeline=32 \
      --ratio=1:0 --key-pattern=P:P --requests=allkeys || return 1
    local loaded
    loaded=$(jq -r '.["ALL STATS"].Sets.Count' "$work/memtier-load.json")
    [ "$loaded" = "$KEYS" ] || { echo "memtier preload stored $loaded keys, not $KEYS" >&2; return 1; }
    memtier_run "$work/memtier.json" $((memtier_seconds + 60)) "${common[@]}" --threads="$MEMTIER_THREADS" --clients=$((conns / MEMTIER_THREADS)) \
      --pipeline="${depth:-1}" --ratio="$memtier_ratio" --key-pattern=R:R --test-time="$memtier_seconds" || return 1
    local misses
    read -r ops secs misses < <(jq -r '.["ALL STATS"] | "\(.Totals.Count) \(.Runtime["Total duration"] / 1000) \(.Gets["Misses/sec"])"' "$work/memtier.json")
    awk -v m="$misses" 'BEGIN { exit !(m == 0) }' || { echo "memtier: $misses get misses/s after every key was set" >&2; return 1; }
    cpu_ops=$((ops + KEYS))
    ;;
  *) die "unknown generator $gen in SCENARIOS" ;;
  esac
  after=$(cpu_ticks "$3")
  [ -n "$ops" ] && [ "$ops" -gt 0 ] || return 1
  awk -v n="$ops" -v s="$secs" -v t=$((after - before)) -v o="$cpu_ops" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%.0f %.2f\n", n / s, t * 1e6 / hz / o }'
}

# memtier_run JSON SECONDS MEMTIER-ARGS... runs memtier_benchmark for at
# most SECONDS, its JSON report written to JSON, and fails (saying why on
# stderr) when it exits non-zero or reports an error. An error reply is
# only logged by memtier ("response parsing failed"), and the connection
# then stalls: memtier never finishes, hence the tight limit.
memtier_run() {
  local json=$1 limit=$2 out rc=0
  shift 2
  rm -f "$json"
  out=$(timeout "$limit" "$memtier" "$@" --json-out-file="$json" 2>&1) || rc=$?
  out=$(tr '\r' '\n' <<<"$out" | grep -v '^\[RUN')
  if [ "$rc" -eq 0 ] && ! grep -qi error <<<"$out" &&
    [ "$(jq -r '.["ALL STATS"].Totals["Connection Errors"]' "$json" 2>/dev/null)" = 0 ]; then
    return 0
  fi
  {
    grep -i error <<<"$out" | sort | uniq -c
    [ "$rc" -ne 124 ] || echo "memtier_benchmark did not finish within ${limit}s"
    [ "$rc" -eq 124 ] || [ "$rc" -eq 0 ] || { echo "memtier_benchmark exited with $rc:" && tail -n 5 <<<"$out"; }
    echo "(memtier_benchmark $*)"
  } >&2
  return 1
}

# column ARRAY NAME prints NAME's value of every round from ARRAY[NAME,round]
# (rounds where a server failed have none).
column() {
  local -n arr=$1
  local r
  for r in $(seq "$ROUNDS"); do [ -z "${arr[$2,$r]:-}" ] || printf '%s\n' "${arr[$2,$r]}"; done
}

# med reads numbers and prints their median, or "-" when there are none.
med() {
  local v
  v=$(cat)
  if [ -n "$v" ]; then median <<<"$v"; else echo -; fi
}

summary=()
log "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
for scen in $SCENARIOS; do
  read -r idle0 total0 < <(idle_ticks)
  load0=$(cut -d' ' -f1 /proc/loadavg)
  declare -A rate=() cpu=() ratio_of=() cpu_ratio_of=() floor_ratio=() floor_cpu_ratio=() failed=()
  for round in $(seq "$ROUNDS"); do
    n=${#names[@]}
    for k in $(seq 0 $((n - 1))); do
      i=$(((k + round) % n))
      name=${names[$i]}
      # A failed measurement (errors, misses, a generator's timeout) is
      # counted and reported, and leaves that round out for that server.
      if res=$(measure "$scen" "${ports[$i]}" "${server_pids[$i]}" 2>"$work/measure.err"); then
        read -r "rate[$name,$round]" "cpu[$name,$round]" <<<"$res"
      else
        failed[$name]=$((${failed[$name]:-0} + 1))
        log "$scen round $round on $name FAILED: $(grep -v '^Time\|^---' "$work/measure.err" | head -c 300)"
      fi
    done
    line="round $round: $scen"
    for name in "${names[@]}"; do
      [ -n "${rate[$name,$round]:-}" ] || { line+=" | $name failed"; continue; }
      line+=" | $name ${rate[$name,$round]} ops/s, ${cpu[$name,$round]} us CPU/op"
      [ -n "${rate[memcached,$round]:-}" ] || continue
      ratio_of[$name,$round]=$(ratio "${rate[$name,$round]}" "${rate[memcached,$round]}")
      cpu_ratio_of[$name,$round]=$(ratio "${cpu[$name,$round]}" "${cpu[memcached,$round]}")
    done
    line+=" | cachenode/memcached ${ratio_of[cachenode,$round]:--}, CPU per op ${cpu_ratio_of[cachenode,$round]:--}"
    if [ "$FLOOR" = 1 ] && [ -n "${rate[cachenode,$round]:-}" ] && [ -n "${rate[floor,$round]:-}" ]; then
      floor_ratio[$round]=$(ratio "${rate[cachenode,$round]}" "${rate[floor,$round]}")
      floor_cpu_ratio[$round]=$(ratio "${cpu[cachenode,$round]}" "${cpu[floor,$round]}")
      line+=" | cachenode/floor ${floor_ratio[$round]}, CPU per op ${floor_cpu_ratio[$round]}"
    fi
    printf '%s\n' "$line"
  done
  read -r idle1 total1 < <(idle_ticks)
  idle=$(awk -v i=$((idle1 - idle0)) -v t=$((total1 - total0)) 'BEGIN { printf "%.0f", 100 * i / t }')
  row="$scen | $(column ratio_of cachenode | med) | $(column cpu_ratio_of cachenode | med)"
  if [ "$FLOOR" = 1 ]; then
    row+=" | $(printf '%s\n' "${floor_ratio[@]}" | med) | $(printf '%s\n' "${floor_cpu_ratio[@]}" | med)"
    row+=" | $(column ratio_of floor | med) | $(column cpu_ratio_of floor | med)"
  fi
  fails=""
  for name in "${names[@]}"; do
    row+=" | $(column rate "$name" | med) / $(column cpu "$name" | med)"
    [ -z "${failed[$name]:-}" ] || fails+=" $name ${failed[$name]}/$ROUNDS"
  done
  if [ "$GOROUTINE" = 1 ]; then
    row+=" | $(column ratio_of goroutine | med) | $(column cpu_ratio_of goroutine | med)"
  fi
  summary+=("$row | $load0-$(cut -d' ' -f1 /proc/loadavg) | $idle% | ${fails:- none}")
done

printf '\nmedians over %s rounds (%s threads each, %s MB, mcload and memtier %s per measurement, %s keys, %s-byte values, %s%% gets)\n' \
  "$ROUNDS" "$THREADS" "$MEMORY_MB" "$DURATION" "$KEYS" "$VALUE" "$(awk -v r="$GET_RATIO" 'BEGIN { print r * 100 }')"
header="scenario | cachenode/memcached ops/s (goal >= 1) | cachenode/memcached CPU per op (goal <= 1)"
[ "$FLOOR" = 1 ] && header+=" | cachenode/floor ops/s | cachenode/floor CPU per op | floor/memcached ops/s | floor/memcached CPU per op"
for name in "${names[@]}"; do header+=" | $name ops/s / us CPU per op"; done
[ "$GOROUTINE" = 1 ] && header+=" | goroutine layer/memcached ops/s | goroutine layer/memcached CPU per op"
printf '%s | load average start-end | idle CPU | failed rounds\n' "$header"
printf '%s\n' "${summary[@]}"
