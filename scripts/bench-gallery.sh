#!/usr/bin/env bash
# Benchmarks apps/gallery's cached read path (issue 11): POST /api/key/<key>
# of one valid 100 KB PNG from a gallery with a pool of cachenode nodes
# (--nodes; after one warming read every read is a cache hit) against the
# anchor, a gallery on the same PostgreSQL and bucket with no cache (neither
# --nodes nor --manager: its pool has no nodes, so every read is the key's
# row from PostgreSQL and then the object from versitygw). Goal: cached >=
# 3x uncached requests/s.
#
# Everything is private to the run and stopped on exit: a PostgreSQL cluster
# (initdb, trust, no fsync; as the postgres user when root, like
# internal/testing/testkit), versitygw's posix backend over a scratch folder,
# NODES cachenode nodes and the two galleries. Load comes from `labctl
# sweep` (the project's closed-loop generator) with CONCURRENCY workers. sweep
# sends a fixed number of requests, so a probe of each gallery (which also
# warms it) sizes its measurements to last about DURATION seconds. ROUNDS
# rounds alternate which gallery goes first. Reported per round and as
# medians over rounds: req/s, p50 and p99 of each gallery and the ratio
# cached / uncached req/s (the goal's); then the cached gallery's
# hit/miss/error counts and how busy the machine was (load average, share
# of idle CPU). Because the machine is shared, each measurement also reports
# the CPU time its servers used per request (cached: the gallery and the
# nodes; uncached: the gallery, versitygw and every PostgreSQL process),
# which other load disturbs far less than requests per second.
#
# Environment: ROUNDS (5), DURATION seconds per measurement (5), CONCURRENCY
# (20), NODES (2), IMAGE_BYTES (102400), PORT_BASE (18300; uses PORT_BASE to
# PORT_BASE+3+NODES).

# shellcheck disable=SC2154 # work and pids come from bench_setup (scripts/lib.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh disable=SC1091
. scripts/lib.sh

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5}
CONCURRENCY=${CONCURRENCY:-20}
NODES=${NODES:-2}
IMAGE_BYTES=${IMAGE_BYTES:-102400}
PORT_BASE=${PORT_BASE:-18300}
[ "$ROUNDS" -ge 1 ] || die "ROUNDS=$ROUNDS: want at least 1"
[ "$NODES" -ge 1 ] || die "NODES=$NODES: want at least 1 (the uncached gallery is the anchor)"
PG_PORT=$PORT_BASE
S3_PORT=$((PORT_BASE + 1))
CACHED_PORT=$((PORT_BASE + 2))
UNCACHED_PORT=$((PORT_BASE + 3))
node_ports=()
for i in $(seq "$NODES"); do node_ports+=($((PORT_BASE + 3 + i))); done
KEY=bench-100k
BUCKET=gallery-bench

need_go
need_packages postgresql curl jq python3
pg_bin=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
[ -x "$pg_bin/initdb" ] || die "PostgreSQL's initdb not found under /usr/lib/postgresql/*/bin: apt-get install -y postgresql-15"
vgw="$(scripts/install-go-tools.sh versitygw | tail -n 1)/versitygw"

bench_setup
ports_free "$PG_PORT" "$S3_PORT" "$CACHED_PORT" "$UNCACHED_PORT" "${node_ports[@]}"
bench_build apps/gallery apps/cachenode cmd/labctl

# wait_up PORT PID NAME waits up to 60 s (the machine may be busy) for
# 127.0.0.1:PORT, failing with NAME's log as soon as PID has exited.
wait_up() {
  for _ in $(seq 600); do
    port_open "$1" && return 0
    kill -0 "$2" 2>/dev/null || die "$3 exited: $(tail -n 20 "$work/$3.log")"
    sleep 0.1
  done
  die "$3 does not listen on 127.0.0.1:$1 after 60s: $(tail -n 20 "$work/$3.log")"
}

# PostgreSQL refuses to run as root; the postgres user must reach its data
# folder. runuser passes the TERM of bench_cleanup on to the server.
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  as_pg=(runuser -u postgres --)
  chmod 755 "$work"
fi
mkdir -m 700 "$work/pg"
[ "$(id -u)" -eq 0 ] && chown postgres: "$work/pg"
log "starting PostgreSQL ($pg_bin), versitygw, $NODES cachenode node(s)"
"${as_pg[@]}" "$pg_bin/initdb" -D "$work/pg" -A trust -U postgres -N -E UTF8 --locale C >"$work/initdb.log" 2>&1 ||
  die "initdb failed: $(cat "$work/initdb.log")"
"${as_pg[@]}" "$pg_bin/postgres" -D "$work/pg" -k "$work/pg" -h 127.0.0.1 -p "$PG_PORT" -F 2>"$work/postgres.log" &
pids+=($!)
pg_pid=$!

mkdir "$work/s3"
export GALLERY_S3_ACCESS_KEY=gallerybench GALLERY_S3_SECRET_KEY=gallerybench-secret-key
"$vgw" --access "$GALLERY_S3_ACCESS_KEY" --secret "$GALLERY_S3_SECRET_KEY" --port "127.0.0.1:$S3_PORT" --quiet \
  posix "$work/s3" >"$work/versitygw.log" 2>&1 &
pids+=($!)
s3_pid=$!

nodes=()
node_pids=()
for i in "${!node_ports[@]}"; do
  "$work/cachenode" --listen "127.0.0.1:${node_ports[$i]}" --admin-listen "" 2>"$work/cachenode-$i.log" &
  pids+=($!)
  node_pids+=($!)
  wait_up "${node_ports[$i]}" "$!" "cachenode-$i"
  nodes+=("127.0.0.1:${node_ports[$i]}")
done
wait_up "$S3_PORT" "$s3_pid" versitygw
wait_up "$PG_PORT" "$pg_pid" postgres
for _ in $(seq 120); do
  "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" && break
  sleep 0.5
done
"$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" || die "PostgreSQL is not ready: $(tail -n 20 "$work/postgres.log")"

# Both galleries: same database, bucket and defaults; no background gc (it
# would list the bucket during the first measurement). The cached one makes
# the bucket, so it starts first.
gallery_args=(--database "postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
  --s3-endpoint "http://127.0.0.1:$S3_PORT" --bucket "$BUCKET" --gc-at-start=false)
nodes_csv=$(
  IFS=,
  echo "${nodes[*]}"
)
log "starting the galleries: cached (--nodes $nodes_csv) and uncached (no --nodes, no --manager)"
# A TTL well past the run's length: an expiry would put store reads into the
# cached measurement.
"$work/gallery" --listen "127.0.0.1:$CACHED_PORT" "${gallery_args[@]}" --create-bucket \
  --nodes "$nodes_csv" --cache-ttl 2h 2>"$work/cached.log" &
pids+=($!)
cached_pid=$!
wait_up "$CACHED_PORT" "$cached_pid" cached
"$work/gallery" --listen "127.0.0.1:$UNCACHED_PORT" "${gallery_args[@]}" 2>"$work/uncached.log" &
pids+=($!)
uncached_pid=$!
wait_up "$UNCACHED_PORT" "$uncached_pid" uncached

# A valid PNG of about IMAGE_BYTES: seeded noise (which does not compress),
# RGB, rows sized to reach the target.
python3 - "$IMAGE_BYTES" "$work/image.png" <<'PY'
import random, struct, sys, zlib
target, path = int(sys.argv[1]), sys.argv[2]
width = 128
height = max(1, target // (1 + 3 * width))
rng = random.Random(11)
raw = b"".join(b"\0" + rng.randbytes(3 * width) for _ in range(height))
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
       + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b""))
open(path, "wb").write(png)
PY
image_size=$(stat -c %s "$work/image.png")
log "uploading a ${image_size}-byte PNG as key $KEY through the cached gallery (it invalidates the pool)"
got=$(curl -sS -F "key=$KEY" -F "file=@$work/image.png;type=image/png" "http://127.0.0.1:$CACHED_PORT/api/upload")
[ "$got" = '{"success":"true"}' ] || die "upload answered '$got'"

# read_image PORT checks that the gallery on PORT returns the uploaded bytes.
read_image() {
  curl -sS -X POST "http://127.0.0.1:$1/api/key/$KEY" | jq -r .content | base64 -d >"$work/got.png"
  cmp -s "$work/image.png" "$work/got.png" || die "the gallery on port $1 did not return the uploaded image"
}
cache_results() {
  curl -s "http://127.0.0.1:$CACHED_PORT/metrics" |
    awk '/^gallery_cache_results_total/ {match($0, /result="[a-z]+"/); n[substr($0, RSTART + 8, RLENGTH - 9)] += $2}
         END {printf "%d %d %d\n", n["hit"], n["miss"], n["error"]}'
}
hits() { cache_results | cut -d' ' -f1; }
read_image "$UNCACHED_PORT"
# The warming read fills the cache; the next must hit. A memcached call
# over --cache-timeout (100 ms: a loaded machine can take that long to
# schedule a node) counts as an error and the store answers instead, so a
# few tries are allowed.
for _ in $(seq 10); do
  read_image "$CACHED_PORT"
  [ "$(hits)" -ge 1 ] && break
done
read -r warm_hits warm_misses warm_errors < <(cache_results)
[ "$warm_hits" -ge 1 ] || die "10 reads through the cached gallery, no cache hit: misses $warm_misses, errors $warm_errors"
log "warming reads: hits $warm_hits, misses $warm_misses, errors $warm_errors"

# sweep PORT REQUESTS runs labctl sweep once and prints "rps p50_ms p99_ms",
# failing on any failed request (timeouts, errors, non-2xx).
sweep() {
  local out
  out=$("$work/labctl" sweep --target "http://127.0.0.1:$1" --path "/api/key/$KEY" --method POST \
    --concurrency "$CONCURRENCY" --requests "$2" --timeout 10s --json --out "$work/sweep" 2>>"$work/sweep.log") ||
    die "labctl sweep against port $1 failed: $(tail -n 5 "$work/sweep.log")"
  jq -e '.levels[0].result | .failed == 0 and .responses > 0' >/dev/null <<<"$out" ||
    die "labctl sweep against port $1 saw failures: $(jq -c '.levels[0].result | {failed, errors, error_examples}' <<<"$out")"
  jq -r '.levels[0].result | "\(.rps) \(.latency.p50_ms) \(.latency.p99_ms)"' <<<"$out"
}

# Probe each gallery with 100 requests (this also opens its connections
# and pools), then send enough per measurement for DURATION seconds at the
# rate seen.
names=(uncached cached)
declare -A port_of=([uncached]=$UNCACHED_PORT [cached]=$CACHED_PORT) requests=()
for i in 0 1; do
  res=$(sweep "${port_of[${names[$i]}]}" 100) || exit 1
  read -r rps _ <<<"$res"
  requests[${names[$i]}]=$(awk -v r="$rps" -v d="$DURATION" 'BEGIN {n = int(r * d); print (n < 100) ? 100 : n}')
  log "probe ${names[$i]}: $(printf '%.0f' "$rps") req/s -> ${requests[${names[$i]}]} requests per measurement"
done

# proc_tree PID prints PID and its descendants (PostgreSQL: runuser, the
# postmaster, a backend per connection).
proc_tree() {
  local c
  echo "$1"
  for c in $(pgrep -P "$1"); do proc_tree "$c"; done
}

# server_pids NAME prints the processes serving NAME's reads: the gallery
# and its cache nodes, or the gallery, versitygw and PostgreSQL.
server_pids() {
  if [ "$1" = cached ]; then
    printf '%s\n' "$cached_pid" "${node_pids[@]}"
  else
    printf '%s\n' "$uncached_pid" "$s3_pid"
    proc_tree "$pg_pid"
  fi
}

# ticks PID... prints the CPU clock ticks (user + system, with reaped
# children's) the processes have used; lib.sh's cpu_ticks, but a process
# gone since (a PostgreSQL backend) is skipped rather than fatal.
ticks() {
  local p
  for p in "$@"; do cat "/proc/$p/stat" 2>/dev/null || true; done |
    awk '{sub(/^.*\) /, ""); t += $12 + $13 + $14 + $15} END {print t + 0}'
}

# measure NAME prints "rps p50_ms p99_ms cpu_us_per_request", the CPU being
# what NAME's server processes used per request during the measurement (a
# cost the machine's load disturbs far less than rates).
measure() {
  local before after res procs=()
  mapfile -t procs < <(server_pids "$1")
  before=$(ticks "${procs[@]}")
  res=$(sweep "${port_of[$1]}" "${requests[$1]}") || return 1
  mapfile -t procs < <(server_pids "$1")
  after=$(ticks "${procs[@]}")
  awk -v res="$res" -v t=$((after - before)) -v n="${requests[$1]}" -v hz="$(getconf CLK_TCK)" \
    'BEGIN {printf "%s %.0f\n", res, t / hz * 1e6 / n}'
}

# idle_ticks prints "idle total" clock ticks of all CPUs from /proc/stat.
idle_ticks() { awk '/^cpu / {t = 0; for (i = 2; i <= NF; i++) t += $i; print $5 + $6, t; exit}' /proc/stat; }

read -r hits0 misses0 errors0 < <(cache_results)
load0=$(cut -d' ' -f1-3 /proc/loadavg)
read -r idle0 total0 < <(idle_ticks)
declare -A rps=() p50=() p99=() cpu=()
ratios=()
cpu_ratios=()
format='%-6s %13s %8s %8s %10s %11s %8s %8s %10s %8s %10s\n'
# shellcheck disable=SC2059 # the format is the table's, shared by its rows
printf "$format" round uncached_rps p50_ms p99_ms cpu_us/req cached_rps p50_ms p99_ms cpu_us/req ratio cpu_ratio
for r in $(seq "$ROUNDS"); do
  for k in 0 1; do
    n=${names[$(((k + r + 1) % 2))]} # round 1 uncached first, round 2 cached first, ...
    res=$(measure "$n") || exit 1
    read -r "rps[$n,$r]" "p50[$n,$r]" "p99[$n,$r]" "cpu[$n,$r]" <<<"$res"
  done
  ratios+=("$(ratio "${rps[cached,$r]}" "${rps[uncached,$r]}")")
  cpu_ratios+=("$(ratio "${cpu[uncached,$r]}" "${cpu[cached,$r]}")")
  # shellcheck disable=SC2059
  printf "$format" "$r" \
    "$(printf '%.0f' "${rps[uncached,$r]}")" "${p50[uncached,$r]}" "${p99[uncached,$r]}" "${cpu[uncached,$r]}" \
    "$(printf '%.0f' "${rps[cached,$r]}")" "${p50[cached,$r]}" "${p99[cached,$r]}" "${cpu[cached,$r]}" \
    "${ratios[-1]}" "${cpu_ratios[-1]}"
done
read -r idle1 total1 < <(idle_ticks)
read -r hits1 misses1 errors1 < <(cache_results)
load1=$(cut -d' ' -f1-3 /proc/loadavg)

# column ARRAY NAME prints NAME's value of every round from ARRAY[NAME,round].
column() {
  local -n arr=$1
  local r
  for r in $(seq "$ROUNDS"); do printf '%s\n' "${arr[$2,$r]}"; done
}

median_ratio=$(printf '%s\n' "${ratios[@]}" | median)
printf '\n%s-byte PNG, POST /api/key/%s, labctl sweep at concurrency %s, about %s s per measurement, %s rounds; %s cachenode node(s)\n' \
  "$image_size" "$KEY" "$CONCURRENCY" "$DURATION" "$ROUNDS" "$NODES"
printf 'medians over rounds:\n'
for n in uncached cached; do
  printf '  %-8s %8.0f req/s  p50 %7.2f ms  p99 %7.2f ms  %5.0f us CPU per request\n' "$n" \
    "$(column rps "$n" | median)" "$(column p50 "$n" | median)" "$(column p99 "$n" | median)" "$(column cpu "$n" | median)"
done
printf 'cached gallery during the rounds: %s cache hits, %s misses, %s errors (each miss or error is a store read)\n' \
  $((hits1 - hits0)) $((misses1 - misses0)) $((errors1 - errors0))
printf 'machine: %s CPUs, load average %s at the first round, %s after the last; idle CPU during the rounds %s%%\n' \
  "$(nproc)" "$load0" "$load1" "$(awk -v i=$((idle1 - idle0)) -v t=$((total1 - total0)) 'BEGIN {printf "%.0f", 100 * i / t}')"
verdict=missed
awk -v m="$median_ratio" 'BEGIN {exit !(m >= 3)}' && verdict=met
printf 'median uncached/cached CPU per request: %s (the servers'"'"' CPU; the load generator'"'"'s is in neither)\n' \
  "$(printf '%s\n' "${cpu_ratios[@]}" | median)"
printf 'median cached/uncached req/s: %s (goal >= 3: %s)\n' "$median_ratio" "$verdict"
