#!/usr/bin/env bash
# Is labctl's load generator the bottleneck? Against the same fast target
# (nginx serving a 15-byte static file, one worker, on 127.0.0.1), compare the
# requests/s `labctl sweep` drives at concurrency 100 with what wrk drives.
# Goal: labctl >= 0.8 x wrk. Runs ROUNDS rounds (default 5), alternating the
# two tools, and prints each round's ratio and the median. Bounded: about
# 15 s per round. Also shows labctl --std-client (Go's net/http) for contrast.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh disable=SC1091
. scripts/lib.sh

ROUNDS=${ROUNDS:-5}
CONC=100
WRK_SECONDS=4
LABCTL_REQUESTS=${LABCTL_REQUESTS:-250000}

need_go
need_packages nginx wrk
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

bench_setup
port=""
for p in $(seq 18100 18199); do
  if ! port_open "$p"; then port=$p; break; fi
done
[ -n "$port" ] || die "no free port in 18100-18199"

bench_build cmd/labctl

mkdir -p "$work/www" "$work/logs"
printf 'hello cloudlabs' >"$work/www/index.html"
cat >"$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/logs/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 10000000;
  server { listen 127.0.0.1:$port; root $work/www; }
}
CONF
"$NGINX" -c "$work/nginx.conf" -p "$work" &
pids+=($!)
wait_port "$port"
url="http://127.0.0.1:$port"

# wrk's best of one and two threads: on 2 shared cores one thread often
# wins (the other core is nginx's), so the anchor is the stronger of the two.
wrk_best_rps() {
  local t1 t2
  t1=$(wrk -t1 -c"$CONC" -d"${WRK_SECONDS}s" "$url/" | wrk_rate)
  t2=$(wrk -t2 -c"$CONC" -d"${WRK_SECONDS}s" "$url/" | wrk_rate)
  awk -v a="$t1" -v b="$t2" 'BEGIN {print (a > b) ? a : b}'
}
labctl_rps() { # extra flags...
  local out="$work/sweep"
  "$work/labctl" sweep --target "$url" --path / --concurrency "$CONC" --requests "$LABCTL_REQUESTS" \
    --timeout 10s --out "$out" "$@" >/dev/null 2>&1
  awk -F, 'NR == 2 {print $6}' "$out/results.csv"
}

log "warm-up"
wrk -t2 -c"$CONC" -d1s "$url/" >/dev/null

ratios=()
printf '%-6s %12s %12s %12s %8s\n' round wrk_rps labctl_rps std_rps ratio
for r in $(seq "$ROUNDS"); do
  w=$(wrk_best_rps)
  l=$(labctl_rps)
  s=$(LABCTL_REQUESTS=100000 labctl_rps --std-client)
  ratio=$(ratio "$l" "$w")
  ratios+=("$ratio")
  printf '%-6s %12.0f %12.0f %12.0f %8s\n' "$r" "$w" "$l" "$s" "$ratio"
done
median=$(printf '%s\n' "${ratios[@]}" | median)
echo "median ratio labctl/wrk at concurrency $CONC: $median (goal >= 0.8)"
