#!/usr/bin/env bash
# Benchmarks apps/phonebook's cached read path on loopback with wrk:
# GET /get/John%20Doe with --memcached (the real Debian memcached) and the
# bolt store, a seeded name, against an anchor measured in the same run:
# a bare Go net/http handler returning the same fixed JSON
# (cmd/anchor, same production timeouts). Goal >= 0.7x.
# Each round runs anchor then phonebook back to back with the same wrk
# command; the ratio reported is the median over the rounds. Because the
# machine is shared, each run also reports the CPU time its servers used per
# request (phonebook counts its memcached too), which other load disturbs
# far less than requests per second.
#
# Environment: ROUNDS (5), DURATION seconds per wrk run (8), THREADS (2),
# CONNECTIONS (50), PORT_BASE (18280; uses PORT_BASE..PORT_BASE+2).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh disable=SC1091
. scripts/lib.sh

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-8}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-50}
PORT_BASE=${PORT_BASE:-18280}
PB_PORT=$PORT_BASE
ANCHOR_PORT=$((PORT_BASE + 1))
MC_PORT=$((PORT_BASE + 2))

need_go
need_packages wrk memcached curl

bench_setup
ports_free "$PB_PORT" "$ANCHOR_PORT" "$MC_PORT"
bench_build apps/phonebook cmd/anchor

mc_user=()
[ "$(id -u)" = 0 ] && mc_user=(-u nobody)
memcached -l 127.0.0.1 -p "$MC_PORT" -U 0 -m 64 "${mc_user[@]}" 2>"$work/memcached.log" &
pids+=($!)
mc_pid=$!
"$work/phonebook" --listen "127.0.0.1:$PB_PORT" --store "bolt://$work/contacts.db" \
  --memcached "127.0.0.1:$MC_PORT" 2>"$work/phonebook.log" &
pids+=($!)
pb_pid=$!
body='{"name":"John Doe","number":"+358408053254"}'
"$work/anchor" --listen "127.0.0.1:$ANCHOR_PORT" --body "$body" 2>"$work/anchor.log" &
pids+=($!)
anchor_pid=$!

wait_port "$PB_PORT"
wait_port "$ANCHOR_PORT"

log "seeding John Doe"
curl -sf -o /dev/null -H 'Accept: application/json' \
  --data-urlencode 'name=John Doe' --data-urlencode 'number=+358408053254' \
  "http://127.0.0.1:$PB_PORT/add/handle/" || die "seeding failed: $(cat "$work/phonebook.log")"
for port in "$PB_PORT" "$ANCHOR_PORT"; do
  got=$(curl -s "http://127.0.0.1:$port/get/John%20Doe")
  [ "$got" = "$body" ] || die "server on port $port answered '$got', want '$body'"
done

# run PORT PID... runs wrk once and prints "rps cpu_us_per_request", the
# CPU time being what the processes PID... used during the run.
run() {
  local port=$1 rps before after
  shift
  before=$(cpu_ticks "$@")
  rps=$(wrk_rps -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" "http://127.0.0.1:$port/get/John%20Doe")
  after=$(cpu_ticks "$@")
  awk -v r="$rps" -v b="$before" -v a="$after" -v hz="$(getconf CLK_TCK)" -v d="$DURATION" \
    'BEGIN {printf "%s %.2f\n", r, (a - b) / hz * 1e6 / (r * d)}'
}

ratios=()
cpu_ratios=()
printf '%-6s %12s %12s %8s %14s %14s %9s\n' round anchor_rps phonebook_rps ratio anchor_cpu_us phonebook_cpu_us cpu_ratio
for r in $(seq "$ROUNDS"); do
  read -r a a_cpu < <(run "$ANCHOR_PORT" "$anchor_pid")
  read -r p p_cpu < <(run "$PB_PORT" "$pb_pid" "$mc_pid")
  ratio=$(ratio "$p" "$a")
  cpu_ratio=$(ratio "$a_cpu" "$p_cpu")
  ratios+=("$ratio")
  cpu_ratios+=("$cpu_ratio")
  printf '%-6s %12s %12s %8s %14s %14s %9s\n' "$r" "$a" "$p" "$ratio" "$a_cpu" "$p_cpu" "$cpu_ratio"
done
hits=$(curl -s "http://127.0.0.1:$PB_PORT/metrics" | awk '/^phonebook_cache_lookups_total/ {printf "%s=%s ", $1, $2}')
printf 'cache: %s\n' "$hits"
printf 'median phonebook/anchor requests/s: %s (goal >= 0.7)\n' "$(printf '%s\n' "${ratios[@]}" | lower_median)"
printf 'median anchor/phonebook CPU per request: %s (same meaning: 1.0 = as cheap as the anchor)\n' "$(printf '%s\n' "${cpu_ratios[@]}" | lower_median)"
