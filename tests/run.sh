#!/usr/bin/env bash
# The whole test suite: a normal build and an ASan/UBSan build, each running
# every meson test.  Ends with one line "N passed, N failed".
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

builds=(build build-asan)
setup_args_build=()
setup_args_build_asan=(-Db_sanitize=address,undefined -Db_lundef=false -Dplugin=disabled)
# The plugin runs inside tshark, which is not sanitized: its tests belong to the plain build.
test_args_build=()
test_args_build_asan=(--no-suite plugin --no-suite plugin-slow)

status=0
setup_log=$(mktemp)
trap 'rm -f "$setup_log"' EXIT
for b in "${builds[@]}"; do
  var="setup_args_${b//-/_}[@]"
  if [ ! -f "$b/build.ninja" ]; then
    meson setup "$b" "${!var}" >"$setup_log" 2>&1 || { cat "$setup_log"; status=1; continue; }
  fi
  meson compile -C "$b" || { status=1; continue; }
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    targs="test_args_${b//-/_}[@]"
    meson test -C "$b" --print-errorlogs --num-processes 2 "${!targs}" || status=1
done

python3 - "${builds[@]}" <<'PY'
import json, sys, os
passed = failed = skipped = 0
for b in sys.argv[1:]:
    log = os.path.join(b, 'meson-logs', 'testlog.json')
    if not os.path.exists(log):
        failed += 1
        continue
    for line in open(log):
        line = line.strip()
        if not line:
            continue
        r = json.loads(line).get('result')
        if r in ('OK', 'EXPECTEDFAIL'):
            passed += 1
        elif r == 'SKIP':
            skipped += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
PY
py=$?
[ $py -ne 0 ] && status=1
exit $status
