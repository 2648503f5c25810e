#!/usr/bin/env bash
# Times the elastic pool of a twin stack that is up (labctl up), through
# the manager's API as an operator would:
#   grow:   POST /api/pool/grow -> the new member storing and serving a key
#   breach: a miss rate above the autoscaler's max -> the pool grown, with
#           the check interval at its default (1 min)
# Usage: STACK=local ROUNDS=5 BREACHES=2 scripts/bench-pool.sh
# It leaves the pool in manual mode at the size it found.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

need_packages jq curl
stack=${STACK:-local}
rounds=${ROUNDS:-5}
breaches=${BREACHES:-2}
labctl=${LABCTL:-.labctl/bin/labctl}
[ -x "$labctl" ] || die "$labctl not found: run scripts/up.sh first (or set LABCTL)"

outs=$("$labctl" outputs --stack "$stack" --json --show-secrets)
manager=$(jq -r '.managerUrl // empty' <<<"$outs")
token=$(jq -r '.managerToken // empty' <<<"$outs")
if [ -z "$manager" ] || [ -z "$token" ]; then
  die "stack $stack has no managerUrl/managerToken: is the cache pool up?"
fi

api() { # METHOD PATH [JSON]
  local args=(-fsS -X "$1" -H "Authorization: Bearer $token" --max-time 60)
  [ $# -lt 3 ] || args+=(-H 'Content-Type: application/json' -d "$3")
  curl "${args[@]}" "$manager$2"
}
members() { api GET /api/pool | jq -r '.nodes | length'; }
now_ms() { date +%s%3N; }

# serves HOST:PORT KEY: stores the key on the node and reads it back.
serves() {
  local host=${1%:*} port=${1##*:} line
  exec 3<>"/dev/tcp/$host/$port" || return 1
  printf 'set %s 0 60 2\r\nok\r\nget %s\r\n' "$2" "$2" >&3
  read -r -t 5 line <&3 || { exec 3<&-; return 1; }   # STORED
  read -r -t 5 line <&3 || { exec 3<&-; return 1; }   # VALUE ...
  exec 3<&-
  [[ $line == VALUE* ]]
}

# misses HOST:PORT SECONDS: gets of keys nobody stored, one connection.
misses() {
  local host=${1%:*} port=${1##*:} end=$(($(date +%s) + $2)) i=0 line
  exec 4<>"/dev/tcp/$host/$port"
  while [ "$(date +%s)" -lt "$end" ]; do
    printf 'get miss-%s-%d\r\n' "$RANDOM" "$i" >&4
    read -r -t 5 line <&4 || break
    i=$((i + 1))
  done
  exec 4<&-
}

median() { sort -n | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

start_size=$(members)
api PUT /api/policy '{"mode": "manual"}' >/dev/null
resize_to() { # N
  while [ "$(members)" -lt "$1" ]; do api POST /api/pool/grow >/dev/null; done
  while [ "$(members)" -gt "$1" ]; do api POST /api/pool/shrink >/dev/null; done
}
trap 'resize_to "$start_size" >/dev/null 2>&1 || true' EXIT
resize_to 2

log "grow -> serving keys, $rounds rounds (pool at 2)"
: >"${TMPDIR:-/tmp}/bench-pool-grow.$$"
for r in $(seq "$rounds"); do
  t0=$(now_ms)
  api POST /api/pool/grow >/dev/null
  new=$(api GET /api/pool | jq -r '.nodes[-1]')
  until serves "$new" "bench-$r"; do :; done
  t1=$(now_ms)
  echo $((t1 - t0)) >>"${TMPDIR:-/tmp}/bench-pool-grow.$$"
  log "round $r: $new serving after $((t1 - t0)) ms"
  api POST /api/pool/shrink >/dev/null
done
grow_median=$(median <"${TMPDIR:-/tmp}/bench-pool-grow.$$")
rm -f "${TMPDIR:-/tmp}/bench-pool-grow.$$"
log "grow -> serving: median ${grow_median} ms over $rounds rounds"

# The lab's plain grow rule: evictions are not required (the misses here
# are of keys nobody stored), nothing else changed from the defaults.
for b in $(seq "$breaches"); do
  resize_to 2
  api PUT /api/policy '{"mode": "auto", "max_miss_rate": 0.5, "min_miss_rate": 0, "expand_ratio": 2, "shrink_ratio": 0.5, "require_evictions": false}' >/dev/null
  first=$(api GET /api/pool | jq -r '.nodes[0]')
  log "breach $b: misses on $first until the pool grows (up to 4 min)"
  t0=$(now_ms)
  misses "$first" 240 &
  load=$!
  while [ "$(members)" -le 2 ] && kill -0 "$load" 2>/dev/null; do sleep 1; done
  t1=$(now_ms)
  kill "$load" 2>/dev/null || true
  wait "$load" 2>/dev/null || true
  size=$(members)
  api PUT /api/policy '{"mode": "manual"}' >/dev/null
  if [ "$size" -le 2 ]; then
    log "breach $b: no resize within 4 minutes"
  else
    log "breach $b: 2 -> $size nodes $(((t1 - t0) / 1000)) s after the misses began"
  fi
done
api GET /api/decisions | jq -r '.decisions[:6][] | "\(.at) \(.cause) \(.from_nodes)->\(.to_nodes) \(.outcome): \(.reason)"' >&2 || true
