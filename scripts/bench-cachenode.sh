#!/usr/bin/env bash
# Benchmarks apps/cachenode against the real memcached (Debian's 1.6) on
# loopback under the same independent load: cmd/mcload, a closed-loop text
# protocol client (one request in flight per connection, no pipelining),
# 90% get / 10% set, 100-byte values, 10k keys preloaded, 50 connections.
# Both servers get the same threads (-t / --threads) and memory (-m /
# --capacity). Each round measures both, alternating which goes first; the
# reported ratio (cachenode / memcached ops/s) is the median over rounds.
# Goal: >= 0.9x. It also reports each server's CPU time per operation
# (user + system, from /proc), which the shared machine's load disturbs
# far less than throughput.
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

bench_setup
ports_free "$MC_PORT" "$CN_PORT"
bench_build apps/cachenode cmd/mcload

user_args=()
[ "$(id -u)" -eq 0 ] && user_args=(-u nobody)
memcached -l 127.0.0.1 -p "$MC_PORT" -U 0 -t "$THREADS" -m "$MEMORY_MB" -c 1024 "${user_args[@]}" 2>"$work/memcached.log" &
mc_pid=$!
pids+=("$mc_pid")
"$work/cachenode" --listen "127.0.0.1:$CN_PORT" --admin "" --threads "$THREADS" \
  --capacity "${MEMORY_MB}MB" --max-conns 1024 2>"$work/cachenode.log" &
cn_pid=$!
pids+=("$cn_pid")
wait_port "$MC_PORT"
wait_port "$CN_PORT"

# load PORT PID: prints "ops/s microseconds-of-server-CPU-per-op".
load() {
  local before after out ops rate
  before=$(cpu_ticks "$2")
  out=$(timeout 120 "$work/mcload" -addr "127.0.0.1:$1" -conns "$CONNS" -duration "$DURATION" \
    -keys "$KEYS" -value "$VALUE" -get-ratio "$GET_RATIO" -json)
  after=$(cpu_ticks "$2")
  ops=$(sed -n 's/.*"ops":\([0-9]*\).*/\1/p' <<<"$out")
  rate=$(sed -n 's/.*"ops_per_sec":\([0-9.]*\).*/\1/p' <<<"$out")
  [ -n "$ops" ] && [ "$ops" -gt 0 ] || return 1
  awk -v r="$rate" -v t=$((after - before)) -v o="$ops" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%.0f %.2f\n", r, t * 1e6 / hz / o }'
}

ratios=()
cpu_ratios=()
for round in $(seq "$ROUNDS"); do
  if [ $((round % 2)) -eq 1 ]; then
    mc=$(load "$MC_PORT" "$mc_pid") || die "load on memcached failed"
    cn=$(load "$CN_PORT" "$cn_pid") || die "load on cachenode failed"
  else
    cn=$(load "$CN_PORT" "$cn_pid") || die "load on cachenode failed"
    mc=$(load "$MC_PORT" "$mc_pid") || die "load on memcached failed"
  fi
  read -r mc_rate mc_cpu <<<"$mc"
  read -r cn_rate cn_cpu <<<"$cn"
  ratio=$(ratio "$cn_rate" "$mc_rate")
  cpu_ratio=$(ratio "$mc_cpu" "$cn_cpu")
  ratios+=("$ratio")
  cpu_ratios+=("$cpu_ratio")
  printf 'round %d: memcached %s ops/s (%s us CPU/op), cachenode %s ops/s (%s us CPU/op), ratio %s, CPU ratio %s\n' \
    "$round" "$mc_rate" "$mc_cpu" "$cn_rate" "$cn_cpu" "$ratio" "$cpu_ratio"
done

printf 'median ratio cachenode/memcached ops/s: %s (goal >= 0.9); median memcached/cachenode CPU per op: %s\n' \
  "$(printf '%s\n' "${ratios[@]}" | median)" "$(printf '%s\n' "${cpu_ratios[@]}" | median)"
printf '(%s rounds of %s, %s conns, %s threads, %s MB, %s%% gets, %s-byte values, %s keys)\n' \
  "$ROUNDS" "$DURATION" "$CONNS" "$THREADS" "$MEMORY_MB" "$(awk -v r="$GET_RATIO" 'BEGIN { print r * 100 }')" "$VALUE" "$KEYS"
