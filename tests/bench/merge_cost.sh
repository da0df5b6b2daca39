#!/bin/bash
# merge_cost.sh - smbscope merge's cost against the number of reports on
# degenerate inputs (README, smbscope merge): each shape at N and 2N (and
# 4N) reports; the CPU time of each size and its growth from the size
# before (about 2 when the cost is linear in the input, 4 when quadratic).
# With a second binary (the base), both are run side by side, once per
# round, and their reports compared byte for byte.
#
#   copies   N copies of one run's report (samples/smb445-list-shares.pcap:
#            its connections[] entry's copies are all of one time)
#   cut      N copies of each part of a generated capture of 2,000
#            connections cut in two (editcap -c 10000): tens of edge
#            connections a part, their entries joined
#   hashes   N reports whose UDP conversation set is 4,096 hashes sharing
#            their low 24 bits (a merge_state carries the hashes)
#   members  one report with an object of N member names of one g_str_hash
#            (refused past 1,024 members; json-glib's parse is quadratic)
#
# Usage: tests/bench/merge_cost.sh SMBSCOPE [BASE_SMBSCOPE]
# Env: BENCH_SHAPES (default "copies cut hashes members"), BENCH_REPEAT
# (rounds, default 1: the best CPU is kept), BENCH_SCALE (multiplies N).
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
shapes=${BENCH_SHAPES:-copies cut hashes members}

# inputs -------------------------------------------------------------------
"$new" -q -T json -o "$tmp/one.json" "$root/samples/smb445-list-shares.pcap" || true
python3 "$here/gen_capture.py" --samples "$root/samples" --many 2000 --rate 500 "$tmp/m2k.pcap" >/dev/null
editcap -c 10000 "$tmp/m2k.pcap" "$tmp/cut.pcap" >/dev/null
i=0
for f in "$tmp"/cut_*.pcap; do
    "$new" -q -T json -o "$tmp/part$i.json" "$f" || true
    i=$((i + 1))
done
python3 - "$root/tests/e2e" "$tmp" <<'EOF'
import itertools, json, sys
sys.path.insert(0, sys.argv[1])
from merge_check import redigest
tmp = sys.argv[2]
doc = json.load(open(tmp + "/one.json"))
for r in range(256):
    t = json.loads(json.dumps(doc))
    t["merge_state"]["state"]["census"]["udp_convs"] = {
        "exact": ["%016x" % ((r * 4096 + i + 1) << 24) for i in range(4096)]}
    json.dump(redigest(t), open("%s/hash%03d.json" % (tmp, r), "w"))
# "aB" and "b!" have one g_str_hash (h * 33 + c): 2^16 names of 16 pairs share it
names = ["".join(p) for p in itertools.product(["aB", "b!"], repeat=16)]
for n in (4096, 8192, 16384, 32768):
    t = json.loads(json.dumps(doc))
    t["merge_state"]["state"]["x"] = {k: 0 for k in names[:n]}
    json.dump(redigest(t), open("%s/members%d.json" % (tmp, n), "w"))
EOF

# args SHAPE N: the merge's report arguments
args() {
    case $1 in
    copies) for ((k = 0; k < $2; k++)); do echo "$tmp/one.json"; done ;;
    cut) for ((k = 0; k < $2; k++)); do echo "$tmp"/part*.json; done ;;
    hashes) ls "$tmp"/hash*.json | head -n "$2" ;;
    members) echo "$tmp/members$2.json" ;;
    esac
}

sizes() {
    case $1 in
    copies) echo $((256 * scale)) $((512 * scale)) $((1024 * scale)) ;;
    cut) echo $((32 * scale)) $((64 * scale)) $((128 * scale)) ;;
    hashes) echo $((16 * scale)) $((32 * scale)) $((64 * scale)) ;;
    members) echo 4096 8192 16384 ;;
    esac
}

# one BIN OUT SHAPE N: "cpu rss exit" of the best of the rounds
one() {
    local best="" line
    for ((r = 0; r < repeat; r++)); do
        # shellcheck disable=SC2046
        "$tmp/runstat" "$tmp/stat" "$tmp/err" "$1" merge -T json -o "$2" $(args "$3" "$4") >/dev/null || true
        line=$(cat "$tmp/stat")
        if [ -z "$best" ] || awk -v a="$line" -v b="$best" 'BEGIN { split(a, x, " "); split(b, y, " "); exit !(x[2] < y[2]) }'; then
            best=$line
        fi
    done
    echo "$best"
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for shape in $shapes; do
    prev_new="" prev_base=""
    for n in $(sizes "$shape"); do
        sn=$(one "$new" "$tmp/new.json" "$shape" "$n")
        cn=$(echo "$sn" | awk '{ print $2 }')
        growth_new=${prev_new:+$(awk -v a="$cn" -v b="$prev_new" 'BEGIN { printf "x%.2f", (b > 0 ? a / b : 0) }')}
        line=$(printf "%-8s %6d reports: new cpu %8.2f s %-6s rss %6.1f MiB exit %s" "$shape" \
            "$([ "$shape" = members ] && echo 1 || echo "$n")" "$cn" "$growth_new" \
            "$(echo "$sn" | awk '{ print $3 }')" "$(echo "$sn" | awk '{ print $4 }')")
        [ "$shape" = members ] && line="$line ($n member names)"
        if [ -n "$base" ]; then
            sb=$(one "$base" "$tmp/base.json" "$shape" "$n")
            cb=$(echo "$sb" | awk '{ print $2 }')
            growth_base=${prev_base:+$(awk -v a="$cb" -v b="$prev_base" 'BEGIN { printf "x%.2f", (b > 0 ? a / b : 0) }')}
            same=$(cmp -s "$tmp/new.json" "$tmp/base.json" && echo same || echo differ)
            line="$line | base cpu $(printf "%8.2f" "$cb") s ${growth_base:-} exit $(echo "$sb" | awk '{ print $4 }'), reports $same"
            prev_base=$cb
        fi
        echo "$line"
        prev_new=$cn
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
