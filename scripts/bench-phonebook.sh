#!/usr/bin/env bash
# Benchmarks apps/phonebook's cached read path on loopback with wrk:
# GET /get/John%20Doe with --memcached (the real Debian memcached) and the
# bolt store, a seeded name, against an anchor measured in the same run:
# a bare Go net/http handler returning the same fixed JSON
# (apps/phonebook/internal/anchor, same production timeouts). Goal >= 0.7x.
# Each round runs anchor then phonebook back to back with the same wrk
# command; the ratio reported is the median over the rounds.
#
# Environment: ROUNDS (3), DURATION seconds per wrk run (10), THREADS (2),
# CONNECTIONS (50), PORT_BASE (18280; uses PORT_BASE..PORT_BASE+2).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh disable=SC1091
. scripts/lib.sh

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-50}
PORT_BASE=${PORT_BASE:-18280}
PB_PORT=$PORT_BASE
ANCHOR_PORT=$((PORT_BASE + 1))
MC_PORT=$((PORT_BASE + 2))

need_go
need_packages wrk memcached curl

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

for port in "$PB_PORT" "$ANCHOR_PORT" "$MC_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port $port is already in use: set PORT_BASE"
  fi
done

log "building apps/phonebook and its anchor"
go build -o "$work/phonebook" ./apps/phonebook
go build -o "$work/anchor" ./apps/phonebook/internal/anchor

mc_user=()
[ "$(id -u)" = 0 ] && mc_user=(-u nobody)
memcached -l 127.0.0.1 -p "$MC_PORT" -U 0 -m 64 "${mc_user[@]}" 2>"$work/memcached.log" &
pids+=($!)
"$work/phonebook" --listen "127.0.0.1:$PB_PORT" --store "bolt://$work/contacts.db" \
  --memcached "127.0.0.1:$MC_PORT" 2>"$work/phonebook.log" &
pids+=($!)
body='{"name":"John Doe","number":"+358408053254"}'
"$work/anchor" --listen "127.0.0.1:$ANCHOR_PORT" --body "$body" 2>"$work/anchor.log" &
pids+=($!)

for port in "$PB_PORT" "$ANCHOR_PORT"; do
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && break
    sleep 0.1
  done
done

log "seeding John Doe"
curl -sf -o /dev/null -H 'Accept: application/json' \
  --data-urlencode 'name=John Doe' --data-urlencode 'number=+358408053254' \
  "http://127.0.0.1:$PB_PORT/add/handle/" || die "seeding failed: $(cat "$work/phonebook.log")"
for port in "$PB_PORT" "$ANCHOR_PORT"; do
  got=$(curl -s "http://127.0.0.1:$port/get/John%20Doe")
  [ "$got" = "$body" ] || die "server on port $port answered '$got', want '$body'"
done

# rps PORT runs wrk once and prints its requests per second, failing on
# errors or non-2xx answers so a broken server cannot look fast.
rps() {
  local out
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" "http://127.0.0.1:$1/get/John%20Doe")
  if grep -q -e 'Non-2xx' -e 'Socket errors' <<<"$out"; then
    printf '%s\n' "$out" >&2
    die "wrk saw errors against port $1"
  fi
  awk '/^Requests\/sec:/ {print $2}' <<<"$out"
}

median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

ratios=()
printf '%-6s %14s %14s %10s\n' round anchor_rps phonebook_rps ratio
for r in $(seq "$ROUNDS"); do
  a=$(rps "$ANCHOR_PORT")
  p=$(rps "$PB_PORT")
  ratio=$(awk -v p="$p" -v a="$a" 'BEGIN {printf "%.3f", p / a}')
  ratios+=("$ratio")
  printf '%-6s %14s %14s %10s\n' "$r" "$a" "$p" "$ratio"
done
hits=$(curl -s "http://127.0.0.1:$PB_PORT/metrics" | awk '/^phonebook_cache_lookups_total/ {printf "%s=%s ", $1, $2}')
printf 'cache: %s\n' "$hits"
printf 'median phonebook/anchor: %s (goal >= 0.7)\n' "$(printf '%s\n' "${ratios[@]}" | median)"
