#!/usr/bin/env bash
# The whole test suite (README.md, "Tests"):
#   build       the normal build (with the Wireshark plugin when it can be built)
#   build-asan  ASan+UBSan, -fno-sanitize-recover=all: every sanitizer report
#               ends the process; also the runner self-test (suite selftest)
#   build-fuzz  clang, -Dfuzz=true: each libFuzzer harness for a fixed number
#               of executions over its seeds and regressions (suite fuzz)
# Ends with the skipped tests by name, the total time and, last, the line
# "N passed, N failed, N skipped".
#
# usage: bash tests/run.sh [--full]
#   --full  also the slow exhaustive tests (suite slow: every rate of the
#           hostile sweep, the plugin under valgrind over every sample, ...)
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

full=0
case ${1:-} in
  --full) full=1 ;;
  '') ;;
  *) echo "usage: bash tests/run.sh [--full]" >&2; exit 2 ;;
esac
started=$(date +%s)

setup_args_build=()
setup_args_build_asan=(-Db_sanitize=address,undefined -Db_lundef=false -Dplugin=disabled
                       -Dc_args=-fno-sanitize-recover=all)
setup_args_build_fuzz=(-Dfuzz=true -Dplugin=disabled)
# The plugin runs inside tshark, which is not sanitized: its tests belong to
# the plain build.  The fuzz build runs its harnesses only (the rest of it
# is the plain build again, compiled by clang).
test_args_build=()
# The analytics suite checks ClickHouse's SQL against smbscope's JSON: nothing
# in it depends on the sanitizers, and the smbscope runs it makes (the samples
# analysed together, merge of per-sample reports) are the merge tests' runs,
# which the ASan build does run.
test_args_build_asan=(--no-suite plugin --no-suite plugin-gui --no-suite analytics)
test_args_build_fuzz=(--suite fuzz)

# The one place that sets the environment of every test run.  A sanitizer
# report must abort: by default ASan and UBSan exit with status 1, which
# smbscope uses for "policy violated" and tests accept.
test_env() {
  export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1:print_summary=1
  export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1
  export LSAN_OPTIONS=print_suppressions=0
  # tshark's answers, shared by all the tests of this run (tests/e2e/tshark_cache.py)
  export SMBSCOPE_TSHARK_CACHE=$top/build/tshark-cache
  # Read by the tests that have an exhaustive mode (the suite slow).
  export SMBSCOPE_FULL=$full
  [ "$full" = 1 ] && export SMBSCOPE_VALGRIND=1
  return 0
}

extra_results=$(mktemp)    # results of steps that are not meson tests
setup_log=$(mktemp)
trap 'rm -f "$extra_results" "$setup_log"' EXIT
note() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$extra_results"; } # result name why

# configure DIR [setup args...]: when not yet configured.  build DIR
# [setup args...]: configure and compile everything.  A failure counts as
# one failed test named after the build.
configure() {
  local b=$1; shift
  rm -f "$b/meson-logs/testlog.json"
  [ -f "$b/build.ninja" ] && return 0
  meson setup "$b" "$@" >"$setup_log" 2>&1 || { cat "$setup_log"; note FAIL "$b" "meson setup failed"; return 1; }
}
build() {
  configure "$@" || return 1
  meson compile -C "$1" >"$setup_log" 2>&1 || { tail -40 "$setup_log"; note FAIL "$1" "compile failed"; return 1; }
}

# run_tests DIR [meson test args...]: the one way tests are run.
run_tests() {
  local b=$1; shift
  (
    test_env
    slow=(--no-suite slow)
    [ "$full" = 1 ] && slow=()
    meson test -C "$b" --print-errorlogs --num-processes 2 "${slow[@]}" "$@"
  )
}

# A cache lives for one run only.
rm -rf build/tshark-cache
ran=()
for b in build build-asan; do
  var="setup_args_${b//-/_}[@]"
  build "$b" "${!var}" || continue
  targs="test_args_${b//-/_}[@]"
  run_tests "$b" "${!targs}"
  ran+=("$b")
done

# libFuzzer needs clang (.ci/deps.sh installs it).
if command -v clang >/dev/null; then
  # meson test builds what the fuzz tests need (the harnesses), not the rest
  if CC=clang configure build-fuzz "${setup_args_build_fuzz[@]}"; then
    run_tests build-fuzz "${test_args_build_fuzz[@]}"
    ran+=(build-fuzz)
  fi
elif [ "${CI:-}" = true ]; then
  note FAIL build-fuzz "clang not installed"
else
  note SKIP build-fuzz "clang not installed: fuzz harnesses not run"
fi

# Tests of the suite slow not run by this (default) run, by name.
not_run=""
if [ "$full" = 0 ] && [ -f build/build.ninja ]; then
  not_run=$(meson test -C build --list --suite slow 2>/dev/null | sed -n 's/^smbscope:[^ ]* \/ //p' | tr '\n' ' ')
fi

python3 - "$started" "$extra_results" "$not_run" "${ran[@]}" <<'PY'
import json, os, sys, time
started, extra, not_run, builds = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
passed, failed, skipped, durations = [], [], [], []
for b in builds:
    log = os.path.join(b, "meson-logs", "testlog.json")
    if not os.path.exists(log):
        failed.append((b, "no test log"))
        continue
    for line in open(log):
        if not line.strip():
            continue
        t = json.loads(line)
        name = "%s: %s" % (b, t["name"].split(" / ")[-1])
        durations.append((t.get("duration", 0), name))
        out = [l.strip() for l in (t.get("stdout") or "").splitlines() if l.strip()]
        why = next((l for l in reversed(out) if "skip" in l.lower()), out[-1] if out else "")
        if t["result"] in ("OK", "EXPECTEDFAIL"):
            passed.append(name)
        elif t["result"] == "SKIP":
            skipped.append((name, why[:160]))
        else:
            failed.append((name, t["result"]))
for line in open(extra):
    result, name, why = line.rstrip("\n").split("\t")
    (skipped if result == "SKIP" else failed).append((name, why))
print()
print("slowest tests:")
for d, name in sorted(durations, reverse=True)[:8]:
    print("  %6.1f s  %s" % (d, name))
if not_run.strip():
    print("not run (tests/run.sh --full only): " + not_run.strip())
for name, why in failed:
    print("FAILED   %s: %s" % (name, why))
for name, why in skipped:
    print("SKIPPED  %s: %s" % (name, why))
took = int(time.time()) - started
print("total time: %d min %02d s" % (took // 60, took % 60))
print("%d passed, %d failed, %d skipped" % (len(passed), len(failed), len(skipped)))
sys.exit(1 if failed else 0)
PY
