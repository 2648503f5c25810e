#!/usr/bin/env bash
# Times the local twin's life with labctl: a cold `up` of all three
# environments (apps and plugin already built), scaling fibonacci 3 -> 5, and
# `destroy`, against an anchor measured in the same round: an `up` with
# nothing to change (the fixed cost of the engine, the plugin and the program).
# Uses a stack of its own (own stack file, state, backend); loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

rounds=${ROUNDS:-3}
PATH="$(scripts/install-pulumi.sh | tail -n 1):$PATH"
export PATH
bench_setup
trap 'labctl destroy >/dev/null 2>&1 || true; bench_cleanup' EXIT
mkdir -p "$work/stacks" "$work/backend"
export CLOUDLABS_STATE_DIR="$work/state" PULUMI_BACKEND_URL="file://$work/backend" PULUMI_CONFIG_PASSPHRASE=bench
bench_build cmd/labctl

labctl() { "$work/labctl" "$@" --stack bench --stacks-dir "$work/stacks"; }
timed() { # prints the seconds a labctl call takes
  local t0 t1
  t0=$(date +%s.%N)
  labctl "$@" >/dev/null 2>"$work/last.log" || { cat "$work/last.log" >&2; die "labctl $* failed"; }
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}'
}

log "warming up: build the apps and the plugin once"
cp stacks/Pulumi.local.yaml "$work/stacks/Pulumi.bench.yaml"
labctl up >/dev/null 2>&1
labctl destroy >/dev/null 2>&1

: >"$work/results"
for r in $(seq "$rounds"); do
  cp stacks/Pulumi.local.yaml "$work/stacks/Pulumi.bench.yaml"
  cold=$(timed up)
  anchor=$(timed up)
  scale=$(timed up -c fibonacci:nodes=5)
  destroy=$(timed destroy)
  printf 'round %d: cold up %.1fs, no-op up (anchor) %.1fs, scale 3->5 %.1fs, destroy %.1fs\n' "$r" "$cold" "$anchor" "$scale" "$destroy"
  echo "$cold $anchor $scale $destroy" >>"$work/results"
done
for col in 1 2 3 4; do awk -v c="$col" '{print $c}' "$work/results" | lower_median; done | paste -sd' ' |
  awk '{printf "median: cold up %.1fs (goal <= 20s, %.2fx the anchor), scale 3->5 %.1fs (goal <= 5s, %.2fx), destroy %.1fs (goal <= 5s, %.2fx), anchor %.1fs\n", $1, $1/$2, $3, $3/$2, $4, $4/$2, $2}'
