#!/usr/bin/env bash
# One libFuzzer harness as a meson test (suite fuzz, tests/fuzz/meson.build):
#   1. every committed regression input of the harness, run once each
#      (tests/fuzz/regressions/NAME-*, NAME being the harness without fuzz_);
#   2. RUNS executions from its seed corpus (cut from samples/ by seeds.sh),
#      with a fixed libFuzzer seed, so a run is repeatable; RUNS 0: the
#      harness is linked with replay_main.c (build-asan), not libFuzzer, and
#      runs each seed once.
# Any crash, leak, timeout, out-of-memory or sanitizer report fails the test.
# New inputs go to a scratch directory, never into the seeds or the tree.
#
# usage: check.sh HARNESS RUNS SEEDS_DIR REGRESSIONS_DIR DICT
set -uo pipefail
exe=${1:?usage: check.sh HARNESS RUNS SEEDS_DIR REGRESSIONS_DIR DICT}
runs=$2 seeds=$3 regressions=$4 dict=$5
name=$(basename "$exe")
short=${name#fuzz_}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
common=(-rss_limit_mb=2048 -timeout=20 -artifact_prefix="$work/" -print_final_stats=1)

shopt -s nullglob
regs=("$regressions/$short"-*)
if [ ${#regs[@]} -gt 0 ]; then
  echo "== $name: ${#regs[@]} regression inputs"
  "$exe" "${common[@]}" "${regs[@]}" || { echo "FAIL: $name on a regression input"; exit 1; }
fi

mkdir -p "$work/new" "$seeds/$name"
n_seeds=$(find "$seeds/$name" -type f | wc -l)
if [ "$runs" = 0 ]; then
  echo "== $name: each of $n_seeds seeds once (replay_main.c, no mutations)"
else
  echo "== $name: $runs executions from $n_seeds seeds"
fi
"$exe" "${common[@]}" -runs="$runs" -seed=1 -dict="$dict" "$work/new" "$seeds/$name" >"$work/log" 2>&1
status=$?
if [ "$status" -eq 0 ]; then
  grep -E '^(stat::|Done|INFO: seed corpus|replayed)' "$work/log"
else
  head -c 20000 "$work/log"
  echo "FAIL: $name exited $status (the inputs, shown below, are kept only in this log)"
  for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
    echo "input $(basename "$f"): $(od -An -tx1 -N64 "$f" | tr -s ' \n' ' ')"
  done
  exit 1
fi
