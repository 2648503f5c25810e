#!/usr/bin/env bash
# Benchmarks apps/fibonacci on loopback with wrk, POSTing the lab's
# {"fibonacci_number": 20}, against two anchors measured in the same run:
#   (a) the lab's original Flask service (apps/fibonacci/testdata/flask, run
#       with Debian's python3-flask `flask run`): goal fibonacci >= 30x;
#   (b) a bare Go net/http handler returning the same fixed reply
#       (cmd/anchor, built the same way): goal >= 0.85x.
# The machine is shared, so its load drifts: runs are short and paired
# (anchor and fibonacci back to back, alternating which goes first; then
# fibonacci and Flask back to back), and each goal is judged on the median
# of the pairs' ratios.
#
# Environment: ROUNDS anchor pairs (9), FLASK_ROUNDS Flask pairs (3),
# DURATION seconds per wrk run (3), THREADS (2), CONNECTIONS (50),
# PORT_BASE (18180; uses PORT_BASE..PORT_BASE+2). About 75 s by default.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh disable=SC1091
. scripts/lib.sh

ROUNDS=${ROUNDS:-9}
FLASK_ROUNDS=${FLASK_ROUNDS:-3}
DURATION=${DURATION:-3}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-50}
PORT_BASE=${PORT_BASE:-18180}
FIB_PORT=$PORT_BASE
ANCHOR_PORT=$((PORT_BASE + 1))
FLASK_PORT=$((PORT_BASE + 2))

need_go
need_packages wrk python3-flask curl

bench_setup
ports_free "$FIB_PORT" "$ANCHOR_PORT" "$FLASK_PORT"
bench_build apps/fibonacci cmd/anchor

want='{"fibonacci_number": 20, "value": 6765}'
"$work/fibonacci" --listen "127.0.0.1:$FIB_PORT" 2>"$work/fibonacci.log" &
pids+=($!)
"$work/anchor" --listen "127.0.0.1:$ANCHOR_PORT" --body "$want" 2>"$work/anchor.log" &
pids+=($!)
FLASK_APP=apps/fibonacci/testdata/flask/restserver.py \
  /usr/bin/python3 -m flask run --host 127.0.0.1 --port "$FLASK_PORT" >"$work/flask.log" 2>&1 &
pids+=($!)

for port in "$FIB_PORT" "$ANCHOR_PORT" "$FLASK_PORT"; do
  got=""
  for _ in $(seq 100); do
    got=$(curl -s -X POST -H 'Content-Type: application/json' \
      "http://127.0.0.1:$port/fibonacci" -d '{"fibonacci_number": 20}' || true)
    [ -n "$got" ] && break
    sleep 0.1
  done
  [ "$got" = "$want" ] || die "server on port $port answered '$got', want '$want'"
done

cat >"$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"fibonacci_number": 20}'
wrk.headers["Content-Type"] = "application/json"
LUA

# rps PORT runs wrk once and prints its requests per second.
rps() {
  wrk_rps -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$work/post.lua" "http://127.0.0.1:$1/fibonacci"
}

anchor_ratios=()
printf '%-6s %14s %14s %10s\n' pair anchor_rps fibonacci_rps ratio
for r in $(seq "$ROUNDS"); do
  if [ $((r % 2)) -eq 1 ]; then
    a=$(rps "$ANCHOR_PORT")
    f=$(rps "$FIB_PORT")
  else
    f=$(rps "$FIB_PORT")
    a=$(rps "$ANCHOR_PORT")
  fi
  ra=$(ratio "$f" "$a")
  anchor_ratios+=("$ra")
  printf '%-6s %14s %14s %10s\n' "$r" "$a" "$f" "$ra"
done

flask_ratios=()
printf '%-6s %14s %14s %10s\n' pair flask_rps fibonacci_rps ratio
for r in $(seq "$FLASK_ROUNDS"); do
  f=$(rps "$FIB_PORT")
  p=$(rps "$FLASK_PORT")
  rp=$(ratio "$f" "$p" 1)
  flask_ratios+=("$rp")
  printf '%-6s %14s %14s %10s\n' "$r" "$p" "$f" "$rp"
done
printf 'median fibonacci/anchor: %s (goal >= 0.85)\n' "$(printf '%s\n' "${anchor_ratios[@]}" | lower_median)"
printf 'median fibonacci/flask:  %s (goal >= 30)\n' "$(printf '%s\n' "${flask_ratios[@]}" | lower_median)"
printf 'load average after the run: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
