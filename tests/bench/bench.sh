#!/bin/bash
# bench.sh - smbscope against tshark and a bare libpcap loop, on generated
# captures of several sizes (issue 7).
#
# usage: tests/bench/bench.sh [SIZE...]      sizes in GiB, default: 0.25 0.5 1 2
#        tests/bench/bench.sh --many [N...]  N connections, default: 50000 100000 170000 1000000
#
# --many (issue 13): gen_capture.py --many N (one real negotiate-only SMB 3.1.1
# connection replicated N times, BENCH_MANY_GEN_ARGS, default "--rate 500"),
# then side by side on each file: pcap_loop, smbscope -T json and text
# (report written to a file: its size is reported), and on the counts in
# BENCH_MANY_TSHARK (default "170000 1000000") tshark -q -z conv,tcp once
# (the TCP conversation count: a fair proxy for the question).  Time per
# connection against N shows whether time is linear in the connection count.
#
# For each size: gen_capture.py writes the capture into a temporary
# directory (deleted at the end), then on that same file, in this order:
# pcap_loop (the floor: libpcap reading every record), smbscope (release
# build, --format json -q) and, on the sizes in BENCH_TSHARK_SIZES (default
# "0.25 1": tshark needs about a minute per GiB and 1.6 GB of memory),
# tshark answering the same question.  Each is measured like
# /usr/bin/time -v does (wait4 rusage): wall and CPU (user+system) seconds
# and peak RSS.
# Ratios are taken within one run, on the same file.
#
# Then: time and RSS against size (linearity), the fast-path check on the
# 0.25 GiB file (JSON identical with --no-fast-path), and instructions per
# packet from callgrind on a 16 MiB capture.
#
# pcap_loop and smbscope run BENCH_REPEAT times (default 3) and the fastest
# run is kept: this machine is shared, and other load only adds time.
#
# Environment: BENCH_MANY_GEN_ARGS, BENCH_MANY_TSHARK, BENCH_MANY_JOBS, BENCH_MANY_STRICT, BENCH_TSHARK_SIZES, BENCH_REPEAT, BENCH_TMP (parent of the temp dir),
# BENCH_SKIP_CALLGRIND=1, BENCH_SKIP_FASTPATH=1.
set -euo pipefail

many=""
if [ "${1:-}" = "--many" ]; then
    many=1
    shift
fi
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
sizes=("$@")
if [ ${#sizes[@]} -eq 0 ]; then
    if [ -n "$many" ]; then sizes=(50000 100000 170000 1000000); else sizes=(0.25 0.5 1 2); fi
fi
tshark_sizes=${BENCH_TSHARK_SIZES-0.25 1}
py=/usr/bin/python3


build=$root/build-release
if [ ! -d "$build" ]; then
    meson setup "$build" "$root" --buildtype=release -Dplugin=disabled >/dev/null
fi
meson compile -C "$build" >/dev/null
smbscope=$build/smbscope

tmp=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/smbscope-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cc -O2 -o "$tmp/pcap_loop" "$here/pcap_loop.c" -lpcap
cc -O2 -o "$tmp/runstat" "$here/runstat.c"

# measure LOG CMD...: run CMD (stdout discarded, stderr to LOG.err); prints
# "wall cpu rss_mib exit".  runstat reports wait4()'s rusage, the numbers
# /usr/bin/time -v prints, with microsecond resolution instead of 10 ms.
measure() {
    local log=$1; shift
    "$tmp/runstat" "$log" "$log.err" "$@" && cat "$log"
}

# best LOG CMD...: BENCH_REPEAT runs (default 3) of a fast tool, the one
# with the least wall time kept (other tenants of the machine only ever add
# time); peak RSS is the highest of the runs.
best() {
    local log=$1; shift
    local i line bw="" out="" rss=0
    for ((i = 0; i < ${BENCH_REPEAT:-3}; i++)); do
        line=$(measure "$log.$i" "$@")
        read -r w c m rc <<<"$line"
        rss=$(awk -v a="$rss" -v b="$m" 'BEGIN {print (b > a) ? b : a}')
        if [ -z "$bw" ] || awk -v a="$w" -v b="$bw" 'BEGIN {exit !(a < b)}'; then
            bw=$w
            out="$w $c"
            code=$rc
        fi
    done
    echo "$out $rss $code"
}

gib() { awk -v g="$1" 'BEGIN {printf "%d", g*1073741824}'; }

results=$tmp/results.tsv
printf "size_gib\tbytes\tpackets\ttool\twall_s\tcpu_s\trss_mib\texit\n" >"$results"
row() { printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$@" >>"$results"; }

if [ -n "$many" ]; then
    # shellcheck source=tests/bench/bench_many.sh
    . "$here/bench_many.sh"
    exit 0
fi

for g in "${sizes[@]}"; do
    cap=$tmp/bench-$g.pcap
    $py "$here/gen_capture.py" --samples "$root/samples" "$(gib "$g")" "$cap" >"$tmp/gen-$g.txt"
    bytes=$(stat -c %s "$cap")
    packets=$(awk '{print $4}' "$tmp/gen-$g.txt")
    cat "$cap" >/dev/null   # same (warm) page cache for every tool

    read -r w c m rc < <(best "$tmp/time-loop-$g" "$tmp/pcap_loop" "$cap")
    row "$g" "$bytes" "$packets" pcap_loop "$w" "$c" "$m" "$rc"
    read -r w c m rc < <(best "$tmp/time-smbscope-$g" "$smbscope" --format json -q "$cap")
    row "$g" "$bytes" "$packets" smbscope "$w" "$c" "$m" "$rc"
    read -r w c m rc < <(best "$tmp/time-slow-$g" "$smbscope" --format json -q --no-fast-path "$cap")
    row "$g" "$bytes" "$packets" smbscope-no-fast-path "$w" "$c" "$m" "$rc"
    for t in $tshark_sizes; do
        if [ "$t" = "$g" ]; then
            read -r w c m rc < <(measure "$tmp/time-tshark-$g" tshark -n -r "$cap" \
                -Y 'nbss.type != 0 || nbns || smb2.cmd == 0 || smb.cmd == 0x72' -T fields -e frame.number)
            row "$g" "$bytes" "$packets" tshark "$w" "$c" "$m" "$rc"
        fi
    done
    if [ "$g" = "0.25" ] && [ -z "${BENCH_SKIP_FASTPATH:-}" ]; then
        # only the big file: the samples are checked by meson test
        if $py "$root/tests/e2e/fastpath_check.py" --smbscope "$smbscope" --samples "$root/samples" "$cap" \
            >"$tmp/fastpath.txt" 2>&1; then
            echo "fast-path check: JSON identical with and without --no-fast-path on every sample and on the 0.25 GiB file"
        else
            echo "fast-path check FAILED:"; grep -v '^ok' "$tmp/fastpath.txt"
        fi
    fi
    rm -f "$cap"
done

echo
echo "Machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(lscpu | sed -n 's/^Model name: *//p')"
echo "Load average before the table: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
$py - "$results" <<'EOF'
import sys, csv
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
by = {}
for r in rows:
    by.setdefault(r["size_gib"], {})[r["tool"]] = r
print("| size GiB | packets | tool | wall s | CPU s | MB/s (wall) | peak RSS MiB |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    mbs = int(r["bytes"]) / 1e6 / max(float(r["wall_s"]), 1e-3)
    print("| %s | %s | %s | %s | %s | %.0f | %s |" % (r["size_gib"], r["packets"], r["tool"], r["wall_s"],
                                                  r["cpu_s"], mbs, r["rss_mib"]))
print()
print("Ratios on the same file in the same run (x = times faster; wall / CPU):")
for g, t in by.items():
    s = t.get("smbscope")
    if not s:
        continue
    parts = []
    for other, target in (("tshark", ">= 40"), ("pcap_loop", ">= 0.5")):
        o = t.get(other)
        if o:
            rw = float(o["wall_s"]) / max(float(s["wall_s"]), 1e-3)
            rc = float(o["cpu_s"]) / max(float(s["cpu_s"]), 1e-3)
            parts.append("vs %s %.2fx / %.2fx (target %s)" % (other, rw, rc, target))
    print("  %s GiB: %s; peak RSS %s MiB (target <= 64)" % (g, "; ".join(parts), s["rss_mib"]))
if "1" in by and "2" in by and "smbscope" in by["1"] and "smbscope" in by["2"]:
    a, b = by["1"]["smbscope"], by["2"]["smbscope"]
    print("  linearity: 2 GiB / 1 GiB = %.2f wall, %.2f CPU (target 2.0 +- 0.2)" % (
        float(b["wall_s"]) / float(a["wall_s"]), float(b["cpu_s"]) / float(a["cpu_s"])))
EOF

if [ -z "${BENCH_SKIP_CALLGRIND:-}" ] && command -v valgrind >/dev/null; then
    small=$tmp/callgrind.pcap
    $py "$here/gen_capture.py" --samples "$root/samples" 16M "$small" >"$tmp/gen-small.txt"
    packets=$(awk '{print $4}' "$tmp/gen-small.txt")
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" "$smbscope" --format json -q "$small" \
        >/dev/null 2>"$tmp/cg.err" || true
    total=$(sed -n 's/.*Collected : //p' "$tmp/cg.err")
    run=$(callgrind_annotate --inclusive=yes "$tmp/cg.out" 2>/dev/null | awk '/analysis_run_input/ && !done {gsub(",", "", $1); print $1; done = 1}')
    echo
    echo "callgrind, 16 MiB capture ($packets packets): $((total / packets)) instructions/packet in all," \
         "$(( ${run:-0} / packets )) in the packet loop (analysis_run_input), the rest is the report"
fi
