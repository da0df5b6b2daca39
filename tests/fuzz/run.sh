#!/usr/bin/env bash
# Run every libFuzzer harness found in a build directory for SECONDS each and
# print executions per second and findings.
#
# usage: tests/fuzz/run.sh SECONDS [BUILD_DIR]
#   BUILD_DIR defaults to build-fuzz, configured with
#   CC=clang meson setup build-fuzz -Dfuzz=true -Dplugin=disabled
# Corpora live in BUILD_DIR/fuzz-corpus/<harness> (seeded from the unit-test
# vectors, and from samples/ by seeds.sh), crashes in
# BUILD_DIR/fuzz-findings/<harness>.  Every harness gets the dictionary
# dict/smb.dict.  Exit 1 if any harness found something.
set -uo pipefail
secs=${1:?usage: run.sh SECONDS [BUILD_DIR]}
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${2:-$top/build-fuzz}
vectors=$top/tests/unit/vectors

[ -d "$build/tests/fuzz" ] || { echo "run.sh: no harnesses in $build/tests/fuzz (configure with -Dfuzz=true)" >&2; exit 2; }

seed() { # harness corpus-dir
  case $1 in
    fuzz_framer)
      # 4 configuration bytes, then a real stream
      for f in "$vectors"/stream/*.bin; do
        for cfg in 00 03 13 06; do
          { printf "\\x$cfg\\x02\\x01\\x01"; head -c 6000 "$f"; } > "$2/$(basename "$f" .bin)-$cfg"
        done
      done ;;
    fuzz_nbss)
      for f in "$vectors"/stream/*.bin; do head -c 200 "$f" > "$2/$(basename "$f" .bin)"; done ;;
    fuzz_nbns)
      cp "$vectors"/nbns/*.bin "$vectors"/nbds/*.bin "$2"/ 2>/dev/null ;;
  esac
}

# seeds cut from the real captures (fuzz_smb, fuzz_gss and fuzz_pipeline
# have no others)
[ -d "$top/samples" ] && "$top/tests/fuzz/seeds.sh" "$top/samples" "$build/fuzz-seeds" >/dev/null

status=0
printf '%-14s %8s %12s %10s %8s  %s\n' harness seconds executions exec/s findings coverage
for exe in "$build"/tests/fuzz/fuzz_*; do
  [ -x "$exe" ] && [ -f "$exe" ] || continue
  name=$(basename "$exe")
  corpus=$build/fuzz-corpus/$name
  findings=$build/fuzz-findings/$name
  mkdir -p "$corpus" "$findings"
  if [ -z "$(ls -A "$corpus")" ]; then
    seed "$name" "$corpus"
    [ -d "$build/fuzz-seeds/$name" ] && cp "$build/fuzz-seeds/$name"/* "$corpus"/
  fi
  log=$build/fuzz-findings/$name.log
  "$exe" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    -dict="$top/tests/fuzz/dict/smb.dict" -close_fd_mask=2 \
    -artifact_prefix="$findings/" "$corpus" >"$log" 2>&1
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  took=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -E '(DONE|#[0-9]+).*cov:' "$log" | tail -1 | sed -n 's/.*\(cov: [0-9]*\) \(ft: [0-9]*\).*/\1 \2/p')
  n=$(find "$findings" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  printf '%-14s %8s %12s %10s %8s  %s\n' "$name" "$secs" "${runs:-?}" "${took:-?}" "$n" "${cov:-?}"
  if [ "$n" -gt 0 ] || grep -q 'ERROR: libFuzzer\|ERROR: AddressSanitizer\|runtime error' "$log"; then
    status=1
    echo "  see $log"
  fi
done
exit $status
