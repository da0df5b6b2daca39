#!/bin/bash
# merge_cost.sh - smbscope merge's cost against the size of degenerate
# inputs (README, smbscope merge): each shape at N, 2N and 4N; the CPU time
# of each size and its growth from the size before (about 2 when the cost
# is linear in the input, 4 when quadratic).  With a second binary (the
# base), both are run side by side, once per round, each on reports it
# wrote itself (their merge_state formats may differ), and the merged
# reports' answers (all but merge_state) compared.
#
#   copies   N copies of one run's report (samples/smb445-list-shares.pcap:
#            its connections[] entry's copies are all of one time)
#   cut      N copies of each of the two parts of a generated capture of
#            2,000 connections cut with editcap -c 10000 (tens of edge
#            connections a part, their entries joined)
#   hashes   N reports whose UDP conversation set is 4,096 hashes sharing
#            their low 24 bits (a merge_state carries the hashes)
#   members  one report with an object of N member names of one g_str_hash
#            (refused past 1,024 members: json-glib's parse is quadratic)
#   parts    one generated capture of 30,000 connections, 4,000 open at
#            once, cut with editcap -c into N parts (N = 4, 8, 16): each cut
#            leaves thousands of edges, syn flows and tails, so each part's
#            state is about the same size whatever N, and the merge's CPU
#            should double with N (it tripled while the joins walked every
#            record for each edge)
#
# Usage: tests/bench/merge_cost.sh SMBSCOPE [BASE_SMBSCOPE]
# Env: BENCH_SHAPES (default "copies cut hashes members parts"), BENCH_REPEAT
# (rounds, default 1: the lowest CPU is kept), BENCH_SCALE (multiplies N).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
new=$(realpath "$1")
base=${2:+$(realpath "$2")}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -o "$tmp/runstat" "$here/runstat.c"
repeat=${BENCH_REPEAT:-1}
scale=${BENCH_SCALE:-1}
shapes=${BENCH_SHAPES:-copies cut hashes members parts}

python3 "$here/gen_capture.py" --samples "$root/samples" --many 2000 --rate 500 "$tmp/m2k.pcap" >/dev/null
editcap -c 10000 "$tmp/m2k.pcap" "$tmp/cut.pcap" >/dev/null
if [[ " $shapes " == *" parts "* ]]; then
    python3 "$here/gen_capture.py" --samples "$root/samples" --many 30000 --overlap 4000 "$tmp/m30k.pcap" >/dev/null
    total=$(capinfos -c -M "$tmp/m30k.pcap" | awk '/Number of packets/ { print $NF }')
    for n in 4 8 16; do
        mkdir -p "$tmp/parts$n"
        editcap -c $(((total + n - 1) / n)) "$tmp/m30k.pcap" "$tmp/parts$n/p.pcap" >/dev/null
    done
    rm -f "$tmp/m30k.pcap"
fi

# inputs BIN DIR: the reports, written by BIN
inputs() {
    mkdir -p "$2"
    "$1" -q -T json -o "$2/one.json" "$root/samples/smb445-list-shares.pcap" || true
    local i=0 f
    for f in "$tmp"/cut_*.pcap; do
        "$1" -q -T json -o "$2/part$i.json" "$f" || true
        i=$((i + 1))
    done
    python3 "$here/merge_cost_inputs.py" "$root/tests/e2e" "$2"
    for n in 4 8 16; do
        [ -d "$tmp/parts$n" ] || continue
        mkdir -p "$2/parts$n"
        for f in "$tmp/parts$n"/p_*.pcap; do
            "$1" -q -T json -o "$2/parts$n/$(basename "$f" .pcap).json" "$f" || true
        done
    done
}
inputs "$new" "$tmp/new"
if [ -n "$base" ]; then inputs "$base" "$tmp/base"; fi

# args DIR SHAPE N: the merge's report arguments
args() {
    case $2 in
    copies) for ((k = 0; k < $3; k++)); do echo "$1/one.json"; done ;;
    cut) for ((k = 0; k < $3; k++)); do echo "$1"/part*.json; done ;;
    hashes) ls "$1"/hash*.json | head -n "$3" ;;
    members) echo "$1/members$3.json" ;;
    parts) echo "$1/parts$3"/p_*.json ;;
    esac
}

sizes() {
    case $1 in
    copies) echo $((256 * scale)) $((512 * scale)) $((1024 * scale)) ;;
    cut) echo $((32 * scale)) $((64 * scale)) $((128 * scale)) ;;
    hashes) echo $((16 * scale)) $((32 * scale)) $((64 * scale)) ;;
    members) echo 4096 8192 16384 ;;
    parts) echo 4 8 16 ;;
    esac
}

# one BIN DIR OUT SHAPE N: "wall cpu rss exit" of the round of least CPU
one() {
    local best="" line
    for ((r = 0; r < repeat; r++)); do
        # shellcheck disable=SC2046
        "$tmp/runstat" "$tmp/stat" "$tmp/err" "$1" merge -T json -o "$3" $(args "$2" "$4" "$5") >/dev/null || true
        line=$(cat "$tmp/stat")
        if [ -z "$best" ] || awk -v a="$line" -v b="$best" 'BEGIN { split(a, x, " "); split(b, y, " "); exit !(x[2] < y[2]) }'; then
            best=$line
        fi
    done
    echo "$best"
}

# growth NOW BEFORE: "x2.03" (nothing without a size before)
growth() {
    if [ -n "$2" ]; then awk -v a="$1" -v b="$2" 'BEGIN { printf "x%.2f", (b > 0 ? a / b : 0) }'; fi
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for shape in $shapes; do
    prev_new="" prev_base=""
    for n in $(sizes "$shape"); do
        read -r _ cn rn xn <<<"$(one "$new" "$tmp/new" "$tmp/new.json" "$shape" "$n")"
        line=$(printf "%-8s N=%-6d new cpu %8.2f s %-6s rss %6.1f MiB exit %s" "$shape" "$n" "$cn" \
            "$(growth "$cn" "$prev_new")" "$rn" "$xn")
        if [ -n "$base" ]; then
            read -r _ cb rb xb <<<"$(one "$base" "$tmp/base" "$tmp/base.json" "$shape" "$n")"
            same=$(python3 "$here/merge_cost_inputs.py" --same "$tmp/new.json" "$tmp/base.json")
            line="$line | base cpu $(printf "%8.2f" "$cb") s $(printf "%-6s" "$(growth "$cb" "$prev_base")") rss $rb MiB exit $xb; answers $same"
            prev_base=$cb
        fi
        echo "$line"
        prev_new=$cn
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
