#!/usr/bin/env bash
# Flood-sized hostile captures through smbscope: packets, seconds, peak RSS,
# exit status, JSON validity, ESC bytes in the text report.
#
# usage: tests/bench/hostile.sh [BUILD_DIR] [SCALES]
#   BUILD_DIR  defaults to build (uses BUILD_DIR/smbscope; use a
#              release or debugoptimized build, not ASan, for the figures)
#   SCALES     space-separated scales of each case, default "0.25 1"
#              (1 = the full flood: 1,000,000 SYNs, 100,000 connections,
#              1 GiB after a lost first segment, ...); two scales show whether
#              time grows linearly.
# Environment:
#   HOSTILE_WORK   where captures are generated (default: a mktemp -d, removed
#                  at the end; the full set needs about 2 GiB)
#   RSS_BOUND_MIB  the documented bound on peak RSS with default caps (256)
#   COMPARE=1      also run tshark -q -z io,phs (every packet dissected: plain
#                  -q skips dissection) and tcpdump -r on the same files (as
#                  the user nobody when run as root) with the same measurements
#   CASES          the cases to run (default: all of gen_hostile.py's)
# Captures are generated here and never committed.  Exit 1 when a run
# crashes, prints invalid JSON, leaks an ESC byte into the text report, or
# goes over the RSS bound.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
scales=${2:-0.25 1}
bin=$build/smbscope; [ -x "$bin" ] || bin=$build/smbscope
gen=$top/tests/hostile/gen_hostile.py
bound=${RSS_BOUND_MIB:-256}
cases=${CASES:-syn-flood syn-flood-139 conns-100k missing-first-1g overlap-storm nbss-16m negotiate-65535 compound-deep control-names frag-flood}
[ -x "$bin" ] || { echo "hostile.sh: no $bin (meson compile -C $build first)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "hostile.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

if [ -n "${HOSTILE_WORK:-}" ]; then
  work=$HOSTILE_WORK; mkdir -p "$work"; keep=1
else
  work=$(mktemp -d -t smbscope-hostile.XXXXXX); keep=0
fi
chmod 755 "$work"
cleanup() { [ "$keep" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT

# measure LABEL CMD...: runs CMD with stdout to $work/out, prints
# "seconds rss_mib exit"
measure() {
  local tv=$work/time.txt
  /usr/bin/time -v -o "$tv" "$@" > "$work/out" 2> "$work/err"
  local rc=$?
  local rss secs
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tv")
  secs=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$tv" |
         awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
  rc=$(sed -n 's/.*Exit status: //p' "$tv"); [ -n "$rc" ] || rc=signal
  grep -q 'Command terminated by signal' "$tv" && rc="signal($(sed -n 's/.*terminated by signal //p' "$tv"))"
  echo "$secs $((rss / 1024)) $rc"
}

nobody=()
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
fi

status=0
printf '%-17s %6s %10s %9s %8s %8s %6s %5s %4s %s\n' case scale packets MiB seconds rss_MiB exit json esc note
for c in $cases; do
  for s in $scales; do
    f=$work/$c-$s.pcap
    read -r _ pkts bytes < <(/usr/bin/python3 "$gen" "$c" "$f" --scale "$s")
    chmod 644 "$f"
    read -r secs rss rc < <(measure "$bin" -q --format json "$f")
    json=ok
    # valid JSON, and every generated packet read
    /usr/bin/python3 -c 'import json,sys; d = json.load(open(sys.argv[1], encoding="utf-8"))
sys.exit(d["inputs"][0]["packets"] != int(sys.argv[2]))' "$work/out" "$pkts" 2>/dev/null || json=BAD
    grep -q 'AddressSanitizer\|runtime error' "$work/err" && json="$json+SAN"
    # text report: only where names are hostile, or the capture is small
    esc=-
    if [ "$c" = control-names ] || [ "$pkts" -lt 300000 ]; then
      "$bin" -q "$f" > "$work/text" 2>/dev/null
      esc=$(tr -cd '\033' < "$work/text" | wc -c)
    fi
    note=""
    case $rc in 0|1|2|3) ;; *) note="CRASH"; status=1 ;; esac
    [ "$json" = ok ] || { note="$note JSON"; status=1; }
    [ "$esc" = - ] || [ "$esc" = 0 ] || { note="$note ESC"; status=1; }
    [ "$rss" -le "$bound" ] || { note="$note RSS>${bound}MiB"; status=1; }
    printf '%-17s %6s %10s %9s %8s %8s %6s %5s %4s %s\n' "$c" "$s" "$pkts" "$((bytes / 1048576))" \
      "$secs" "$rss" "$rc" "$json" "$esc" "$note"
    if [ "${COMPARE:-0}" = 1 ]; then
      if command -v tshark >/dev/null; then
        read -r secs rss rc < <(measure timeout 1800 "${nobody[@]}" env HOME=/nonexistent tshark -n -q -z io,phs -r "$f")
        printf '%-17s %6s %10s %9s %8s %8s %6s\n' "  tshark io,phs" "$s" "$pkts" "" "$secs" "$rss" "$rc"
      fi
      if command -v tcpdump >/dev/null; then
        read -r secs rss rc < <(measure timeout 1800 "${nobody[@]}" tcpdump -n -r "$f")
        printf '%-17s %6s %10s %9s %8s %8s %6s\n' "  tcpdump -r" "$s" "$pkts" "" "$secs" "$rss" "$rc"
      fi
    fi
    rm -f "$f"
  done
done
echo "bound: peak RSS <= ${bound} MiB with the default caps"
exit $status
