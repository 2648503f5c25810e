#!/usr/bin/env bash
# Benchmarks apps/cachenode against the real memcached (Debian's 1.6) on
# loopback under the same independent load: cmd/mcload, a closed-loop text
# protocol client (one request in flight per connection, no pipelining),
# 90% get / 10% set, 100-byte values, 10k keys preloaded, 50 connections.
# Both servers get the same threads (-t / --threads) and memory (-m /
# --capacity). Each round measures both, alternating which goes first; the
# reported ratio (cachenode / memcached ops/s) is the median over rounds.
# Goal: >= 0.9x.
#
# Environment: ROUNDS (9), DURATION per measurement (4s), CONNS (50),
# THREADS (2), MEMORY_MB (64), KEYS (10000), VALUE (100), GET_RATIO (0.9),
# PORT_BASE (18211; uses PORT_BASE and PORT_BASE+1).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh disable=SC1091
. scripts/lib.sh

ROUNDS=${ROUNDS:-9}
DURATION=${DURATION:-4s}
CONNS=${CONNS:-50}
THREADS=${THREADS:-2}
MEMORY_MB=${MEMORY_MB:-64}
KEYS=${KEYS:-10000}
VALUE=${VALUE:-100}
GET_RATIO=${GET_RATIO:-0.9}
PORT_BASE=${PORT_BASE:-18211}
MC_PORT=$PORT_BASE
CN_PORT=$((PORT_BASE + 1))

need_go
need_packages memcached

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
  for _ in $(seq 100); do
    port_open "$1" && return 0
    sleep 0.1
  done
  die "nothing listens on 127.0.0.1:$1 after 10s"
}

for port in "$MC_PORT" "$CN_PORT"; do
  port_open "$port" && die "port $port is already in use: set PORT_BASE"
done

log "building apps/cachenode and cmd/mcload"
go build -o "$work/cachenode" ./apps/cachenode
go build -o "$work/mcload" ./cmd/mcload

user_args=()
[ "$(id -u)" -eq 0 ] && user_args=(-u nobody)
memcached -l 127.0.0.1 -p "$MC_PORT" -U 0 -t "$THREADS" -m "$MEMORY_MB" -c 1024 "${user_args[@]}" 2>"$work/memcached.log" &
pids+=($!)
"$work/cachenode" --listen "127.0.0.1:$CN_PORT" --admin "" --threads "$THREADS" \
  --capacity "${MEMORY_MB}MB" --max-conns 1024 2>"$work/cachenode.log" &
pids+=($!)
wait_port "$MC_PORT"
wait_port "$CN_PORT"

load() {
  timeout 120 "$work/mcload" -addr "127.0.0.1:$1" -conns "$CONNS" -duration "$DURATION" \
    -keys "$KEYS" -value "$VALUE" -get-ratio "$GET_RATIO" -json |
    sed -n 's/.*"ops_per_sec":\([0-9.]*\).*/\1/p'
}

ratios=()
for round in $(seq "$ROUNDS"); do
  if [ $((round % 2)) -eq 1 ]; then
    mc=$(load "$MC_PORT"); cn=$(load "$CN_PORT")
  else
    cn=$(load "$CN_PORT"); mc=$(load "$MC_PORT")
  fi
  if [ -z "$mc" ] || [ -z "$cn" ]; then die "a load run failed (see mcload output)"; fi
  ratio=$(awk -v a="$cn" -v b="$mc" 'BEGIN { printf "%.3f", a / b }')
  ratios+=("$ratio")
  printf 'round %d: memcached %.0f ops/s, cachenode %.0f ops/s, ratio %s\n' "$round" "$mc" "$cn" "$ratio"
done

median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
printf 'median ratio cachenode/memcached: %s (goal >= 0.9; %s rounds of %s, %s conns, %s threads, %s MB, %s%% gets)\n' \
  "$median" "$ROUNDS" "$DURATION" "$CONNS" "$THREADS" "$MEMORY_MB" "$(awk -v r="$GET_RATIO" 'BEGIN { print r * 100 }')"
