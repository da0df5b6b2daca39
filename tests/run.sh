#!/usr/bin/env bash
# The whole test suite (README.md, "Tests"):
#   build       the normal build (with the Wireshark plugin when it can be built)
#   build-asan  ASan+UBSan, -fno-sanitize-recover=all: every sanitizer report
#               ends the process; also the runner self-test (suite selftest)
#               and fuzz_pipeline's seeds and regressions replayed
#   build-fuzz  clang, -Dfuzz=true: each libFuzzer harness for a fixed number
#               of executions over its seeds and regressions (suite fuzz;
#               fuzz_pipeline with --full only)
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
# -O1 and line tables only (-g1: a sanitizer report still names function,
# file and line): the optimisation level ASan's authors advise, and half the
# compile time of -O2 -g for the same test run time (the tests start smbscope
# thousands of times: their time is the sanitizers' start-up and exit).
# The sanitizer runtimes linked statically: each start of smbscope looks up
# fewer symbols (a sixth less CPU per run; the same runtimes and checks).
setup_args_build_asan=(-Db_sanitize=address,undefined -Db_lundef=false -Dplugin=disabled
                       -Doptimization=1 '-Dc_args=-fno-sanitize-recover=all -g1'
                       '-Dc_link_args=-static-libasan -static-libubsan')
# The fuzz build at -O1 with line tables only (tests/fuzz/meson.build): the
# flags OSS-Fuzz compiles its harnesses with, and half the compile of -O2 -g
# for a few thousand executions a harness.
setup_args_build_fuzz=(-Dfuzz=true -Dplugin=disabled -Doptimization=1 -Ddebug=false)
# The plugin runs inside tshark, which is not sanitized: its tests belong to
# the plain build.  The fuzz build runs its harnesses only (the rest of it
# is the plain build again, compiled by clang).
# Suite sanitized: tests whose every check is on smbscope's own output (no
# RSS limit, timing, threads or plugin), run in build-asan only, where the
# same checks run and the sanitizers watch them: formats (every capture
# format, compression and reader), the merge-* cut sweeps of IP, 802.11
# and SMB Direct fragments, hostile-sweep (smbscope over the damaged copies; the plain build
# runs hostile-sweep-plugin, tshark with the plugin over the same copies).
# Three tests at a time on the 2 cores, not two: the plain build's tests
# wait on their children, files and servers, and once the fuzz build no
# longer filled those gaps two left cores idle (process accounting over a
# CI run, 2026-12-03: about 134 of 952 core-seconds; the phase 476 s with
# two, 452-466 s in the next CI runs with three and the other cuts).
test_args_build=(--no-suite sanitized --num-processes 3)
# build-asan: the unit tests, the runner self-test, the hostile inputs, the
# suite sanitized, and the suite asan -- end-to-end tests that take smbscope
# through a transport, an encapsulation, the public corpus or the command
# line in seconds.  The other end-to-end tests (merge, jobs, fleet, follow,
# scale, ...), the plugin (inside tshark, which is not sanitized) and the
# analytics suite (ClickHouse's SQL against smbscope's JSON) run in the
# plain build only: a sanitized smbscope costs six to seven times a plain one
# for each of the thousands of runs they make (0.09-0.11 s a start against
# 0.015 s: ASan's set-up and LeakSanitizer's check at exit), for the same
# code on other inputs.
test_args_build_asan=(--suite unit --suite selftest --suite hostile --suite sanitized --suite asan
                      --no-suite plugin)
test_args_build_fuzz=(--suite fuzz)

# The one place that sets the environment of every test run.  A sanitizer
# report must abort: by default ASan and UBSan exit with status 1, which
# smbscope uses for "policy violated" and tests accept.
test_env() {
  export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1:print_summary=1
  export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1
  export LSAN_OPTIONS=print_suppressions=0
  # tshark on malloc's transparent huge pages (tests/bin/tshark says why)
  export PATH="$top/tests/bin:$PATH"
  # tshark's answers, shared by all the tests of this run (tests/e2e/tshark_cache.py)
  export SMBSCOPE_TSHARK_CACHE=$top/build/tshark-cache
  # Read by the tests that have an exhaustive mode (the suite slow).
  export SMBSCOPE_FULL=$full
  [ "$full" = 1 ] && export SMBSCOPE_VALGRIND=1
  return 0
}

extra_results=$(mktemp)    # results of steps that are not meson tests
logs=$(mktemp -d)          # setup and compile output, one file per build
phases=$(mktemp)           # wall and CPU time of each phase (printed last)
background=""              # the compiles beside the tests (below)
trap '[ -n "$background" ] && { pkill -P "$background"; kill "$background"; } 2>/dev/null
      rm -rf "$extra_results" "$logs" "$phases"' EXIT
note() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$extra_results"; } # result name why

# timed NAME COMMAND...: run COMMAND in this shell; note its wall time and the
# CPU time (user+sys) of the processes it waited for.  CPU over wall is what
# the phase had of the 2 cores: below 2, the machine was shared or idle.
cpu_now() {
  local f=$logs/times.$BASHPID   # (in $(...) below, BASHPID is another)
  times >"$f"
  cpu=$(awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); n += t[1] * 60 + t[2] } }
             END { printf "%.1f", n }' "$f")
}
timed() {
  local name=$1 t0 c0 rc; shift
  t0=$EPOCHREALTIME; cpu_now; c0=$cpu
  "$@"; rc=$?
  cpu_now
  awk -v n="$name" -v t0="$t0" -v t1="$EPOCHREALTIME" -v c0="$c0" -v c1="$cpu" \
    'BEGIN { printf "%s\t%.0f\t%.0f\n", n, t1 - t0, c1 - c0 }' >>"$phases"
  return $rc
}

# configure DIR [setup args...]: when not yet configured.  build DIR
# [ninja targets...]: compile them (default: everything).  A failure counts
# as one failed test named after the build.
configure() {
  local b=$1; shift
  rm -f "$b/meson-logs/testlog.json"
  [ -f "$b/build.ninja" ] && return 0
  meson setup "$b" "$@" >"$logs/$b" 2>&1 || { cat "$logs/$b"; note FAIL "$b" "meson setup failed"; return 1; }
}
build() {
  local b=$1; shift
  meson compile -C "$b" "$@" >"$logs/$b" 2>&1 || { tail -40 "$logs/$b"; note FAIL "$b" "compile failed"; return 1; }
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

# What build-fuzz's tests need, and only that: the harnesses and seeds of
# the tests this run runs (not fuzz_pipeline's without --full, and so not
# the whole analyzer compiled once more; the rest of that build is the plain
# build again, compiled by clang).
fuzz_targets() {
  python3 - "$1" "$full" <<'PY'
import json, os, sys
info = os.path.join(sys.argv[1], "meson-info")
names = {t["id"]: t["name"] for t in json.load(open(os.path.join(info, "intro-targets.json")))}
wanted = {names[d] for t in json.load(open(os.path.join(info, "intro-tests.json")))
          if "smbscope:fuzz" in t["suite"] and (sys.argv[2] == "1" or "smbscope:slow" not in t["suite"])
          for d in t["depends"]}
for name in sorted(wanted):
    print("tests/fuzz/" + name)
PY
}

# A cache lives for one run only.
rm -rf build/tshark-cache
ran=()
# libFuzzer needs clang (.ci/deps.sh installs it).
fuzz=0
if command -v clang >/dev/null; then
  fuzz=1
elif [ "${CI:-}" = true ]; then
  note FAIL build-fuzz "clang not installed"
else
  note SKIP build-fuzz "clang not installed: fuzz harnesses not run"
fi

# The plain build is configured and compiled first; then its tests run
# while build-asan and build-fuzz are configured and compiled in the
# background at the lowest priority (nice 19): they get the CPU the tests
# leave idle and nothing else, so the tests run as they would alone.
# build-fuzz compiles the harnesses of its tests only.  $logs/NAME.ok: the
# build is ready.
compile_others() {
  renice -n 19 -p "$BASHPID" >/dev/null
  timed "build-asan: configure (nice 19, beside the tests)" \
    configure build-asan "${setup_args_build_asan[@]}" && touch "$logs/build-asan.cfg"
  if [ "$fuzz" = 1 ]; then
    CC=clang timed "build-fuzz: configure (nice 19, beside the tests)" \
      configure build-fuzz "${setup_args_build_fuzz[@]}" && touch "$logs/build-fuzz.cfg"
  fi
  if [ -f "$logs/build-asan.cfg" ]; then
    timed "build-asan: compile (nice 19, beside the tests)" build build-asan && touch "$logs/build-asan.ok"
  fi
  touch "$logs/build-asan.done"
  renice -n 19 -p "$BASHPID" >/dev/null   # again: waiting() may have raised it
  if [ -f "$logs/build-fuzz.cfg" ]; then
    mapfile -t targets < <(fuzz_targets build-fuzz)
    timed "build-fuzz: compile harnesses (nice 19, beside the tests)" build build-fuzz "${targets[@]}" &&
      touch "$logs/build-fuzz.ok"
  fi
  touch "$logs/build-fuzz.done"
}
# waiting FILE: until the background compile makes FILE.  Nothing else runs
# then: the compile gets the priority of everything else on the machine (on
# a shared machine, nice 19 would leave it the CPU of no one).  Wall time
# only: the CPU is the compile's own line.
unnice() {
  local c
  renice -n 0 -p "$1" >/dev/null 2>&1
  for c in $(pgrep -P "$1"); do unnice "$c"; done
}
waiting() {
  unnice "$background"
  while [ ! -e "$logs/$1" ] && kill -0 "$background" 2>/dev/null; do sleep 1; done
}
timed "build: configure" configure build "${setup_args_build[@]}" && touch "$logs/build.cfg"
[ -f "$logs/build.cfg" ] && timed "build: compile" build build && touch "$logs/build.ok"
compile_others &
background=$!
for b in build build-asan build-fuzz; do
  case $b in
    build-asan) timed "build-asan: wait for its compile" waiting build-asan.done ;;
    build-fuzz) timed "build-fuzz: wait for its compile" waiting build-fuzz.done; wait "$background" ;;
  esac
  [ -f "$logs/$b.ok" ] || continue
  targs="test_args_${b//-/_}[@]"
  timed "$b: tests" run_tests "$b" "${!targs}"
  ran+=("$b")
done

# Tests of the suite slow not run by this (default) run, by name (each
# build defines the plain build's too: named once).
not_run=""
if [ "$full" = 0 ]; then
  not_run=$(for b in build build-fuzz; do
              [ -f "$b/build.ninja" ] && meson test -C "$b" --list --suite slow 2>/dev/null
            done | sed -n 's/^smbscope:[^ ]* \/ //p' | awk '!seen[$0]++' | tr '\n' ' ')
fi

python3 - "$started" "$extra_results" "$phases" "$not_run" "${ran[@]}" <<'PY'
import json, os, sys, time
started, extra, phases, not_run, builds = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
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
print("phases (wall, CPU user+sys; the compiles beside the tests overlap them):")
for line in open(phases):
    name, wall, cpu = line.rstrip("\n").split("\t")
    print("  %5s s  cpu %5s s  %s" % (wall, cpu, name))
took = int(time.time()) - started
print("total time: %d min %02d s" % (took // 60, took % 60))
print("%d passed, %d failed, %d skipped" % (len(passed), len(failed), len(skipped)))
sys.exit(1 if failed else 0)
PY
