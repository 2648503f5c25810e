#!/usr/bin/env bash
# Benchmarks apps/phonebook's cached read path on loopback with wrk:
# GET /get/John%20Doe with --memcached (the real Debian memcached) and the
# bolt store, a seeded name, against two anchors measured in the same run
# (cmd/anchor, same production timeouts):
#   bare: a Go net/http handler returning the same fixed JSON, with no
#         memcached round trip (the old yardstick; goal >= 0.7x);
#   mc:   a minimal Go handler answering from one gomemcache Get per
#         request, same memcached: the true limit of the lab's design
#         (a cached read needs that round trip).
# Each round runs anchor then phonebook back to back with the same wrk
# command; the ratio reported is the median over the rounds. Because the
# machine is shared, each run also reports the CPU time its servers used per
# request (phonebook counts its memcached too), which other load disturbs
# far less than requests per second.
#
# Environment: ROUNDS (5), DURATION seconds per wrk run (8), THREADS (2),
# CONNECTIONS (50), PORT_BASE (18280; uses PORT_BASE..PORT_BASE+3).
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
MCANCHOR_PORT=$((PORT_BASE + 3))

need_go
need_packages wrk memcached curl

bench_setup
ports_free "$PB_PORT" "$ANCHOR_PORT" "$MC_PORT" "$MCANCHOR_PORT"
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

# The mc anchor's reply: the same JSON, under a key of its own.
wait_port "$MC_PORT"
exec 3<>"/dev/tcp/127.0.0.1/$MC_PORT"
printf 'set anchor-john 0 0 %d\r\n%s\r\n' "${#body}" "$body" >&3
read -r stored <&3
exec 3<&-
[ "${stored%$'\r'}" = STORED ] || die "memcached answered '$stored' to the anchor's set"
"$work/anchor" --listen "127.0.0.1:$MCANCHOR_PORT" --memcached "127.0.0.1:$MC_PORT" --key anchor-john 2>"$work/mcanchor.log" &
pids+=($!)
mcanchor_pid=$!

wait_port "$PB_PORT"
wait_port "$ANCHOR_PORT"
wait_port "$MCANCHOR_PORT"

log "seeding John Doe"
curl -sf -o /dev/null -H 'Accept: application/json' \
  --data-urlencode 'name=John Doe' --data-urlencode 'number=+358408053254' \
  "http://127.0.0.1:$PB_PORT/add/handle/" || die "seeding failed: $(cat "$work/phonebook.log")"
for port in "$PB_PORT" "$ANCHOR_PORT" "$MCANCHOR_PORT"; do
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
mc_ratios=()
mc_cpu_ratios=()
printf '%-6s %10s %10s %12s %9s %9s %10s %10s %10s %8s %8s\n' round bare_rps mc_rps phonebook_rps vs_bare vs_mc bare_cpu_us mc_cpu_us pb_cpu_us cpu_bare cpu_mc
for r in $(seq "$ROUNDS"); do
  read -r a a_cpu < <(run "$ANCHOR_PORT" "$anchor_pid")
  read -r m m_cpu < <(run "$MCANCHOR_PORT" "$mcanchor_pid" "$mc_pid")
  read -r p p_cpu < <(run "$PB_PORT" "$pb_pid" "$mc_pid")
  ratios+=("$(ratio "$p" "$a")")
  cpu_ratios+=("$(ratio "$a_cpu" "$p_cpu")")
  mc_ratios+=("$(ratio "$p" "$m")")
  mc_cpu_ratios+=("$(ratio "$m_cpu" "$p_cpu")")
  printf '%-6s %10s %10s %12s %9s %9s %10s %10s %10s %8s %8s\n' "$r" "$a" "$m" "$p" "${ratios[-1]}" "${mc_ratios[-1]}" "$a_cpu" "$m_cpu" "$p_cpu" "${cpu_ratios[-1]}" "${mc_cpu_ratios[-1]}"
done
hits=$(curl -s "http://127.0.0.1:$PB_PORT/metrics" | awk '/^phonebook_cache_lookups_total/ {printf "%s=%s ", $1, $2}')
printf 'cache: %s\n' "$hits"
printf 'median phonebook/bare anchor requests/s: %s (no memcached round trip in the anchor)\n' "$(printf '%s\n' "${ratios[@]}" | lower_median)"
printf 'median phonebook/mc anchor requests/s: %s (one gomemcache Get per request: the lab design'"'"'s limit)\n' "$(printf '%s\n' "${mc_ratios[@]}" | lower_median)"
printf 'median anchor/phonebook CPU per request: bare %s, mc %s (1.0 = as cheap as the anchor)\n' \
  "$(printf '%s\n' "${cpu_ratios[@]}" | lower_median)" "$(printf '%s\n' "${mc_cpu_ratios[@]}" | lower_median)"
