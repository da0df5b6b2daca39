#!/bin/bash
# bench_jobs.sh - --jobs 1 against --jobs N on one capture file (the
# flow-hash split, analyzer/merge/split.h) and on its editcap parts (one
# analysis per input), side by side with pcap_loop; interleaved rounds
# (every tool once per round, so load changes hit them alike), the best
# wall time of BENCH_REPEAT rounds (default 5) kept with its CPU time, peak
# RSS the highest; the load average before and after is printed.
#
# Usage: tests/bench/bench_jobs.sh SMBSCOPE CAPTURE... (release build;
# e.g. gen_capture.py --many 170000 many.pcap, gen_capture.py 1G bulk.pcap)
# Env: BENCH_REPEAT, BENCH_JOBS (default 2), BENCH_PARTS (default 4; 0: none).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
smbscope=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -o "$tmp/pcap_loop" "$here/pcap_loop.c" -lpcap
cc -O2 -o "$tmp/runstat" "$here/runstat.c"
jobs=${BENCH_JOBS:-2}
parts=${BENCH_PARTS:-4}

# run NAME CMD...: one measured run ("wall cpu rss_mib exit") appended to NAME's log
run() {
    local name=$1; shift
    "$tmp/runstat" "$tmp/one" "$tmp/one.err" "$@" >/dev/null
    cat "$tmp/one" >>"$tmp/$name.log"
}

# report NAME LABEL: the best wall of the rounds, its CPU, the highest RSS
report() {
    awk -v label="$2" 'NR == 1 || $1 < w { w = $1; c = $2 } $3 > m { m = $3 } { rc = $4 }
        END { printf "%-34s wall %6.3f s  cpu %6.3f s  rss %6.1f MiB  exit %s\n", label, w, c, m, rc }' "$tmp/$1.log"
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for cap in "$@"; do
    base=$(basename "$cap")
    cat "$cap" >/dev/null
    list=()
    if [ "$parts" -gt 0 ]; then
        packets=$(capinfos -c -M "$cap" | awk '/Number of packets/ {print $NF}')
        editcap -c $(((packets + parts - 1) / parts)) "$cap" "$tmp/part-$base" >/dev/null
        mapfile -t list < <(ls "$tmp"/part-"${base%.*}"*)
    fi
    for ((r = 0; r < ${BENCH_REPEAT:-5}; r++)); do
        run "loop-$base" "$tmp/pcap_loop" "$cap"
        run "one-$base" "$smbscope" -q -T json -o /dev/null "$cap"
        run "split-$base" "$smbscope" -q -T json -o /dev/null --jobs "$jobs" "$cap"
        if [ "${#list[@]}" -gt 0 ]; then
            run "parts1-$base" "$smbscope" -q -T json -o /dev/null "${list[@]}"
            run "partsN-$base" "$smbscope" -q -T json -o /dev/null --jobs "$jobs" "${list[@]}"
        fi
    done
    echo "== $base ($(stat -c %s "$cap") bytes)"
    report "loop-$base" "pcap_loop"
    report "one-$base" "smbscope --jobs 1"
    report "split-$base" "smbscope --jobs $jobs (flow-hash split)"
    if [ "${#list[@]}" -gt 0 ]; then
        report "parts1-$base" "$parts parts, --jobs 1"
        report "partsN-$base" "$parts parts, --jobs $jobs"
    fi
    rm -f "$tmp"/part-*
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
