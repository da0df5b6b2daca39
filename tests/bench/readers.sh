#!/bin/bash
# readers.sh - capture readers and decompression side by side (issue 12).
#
# usage: tests/bench/readers.sh [SIZE]      SIZE as gen_capture.py takes it, default 1G
#
# One generated capture (gen_capture.py), compressed with gzip -6, zstd -3 and
# lz4 -1, all in the page cache (each file is read once first).  Then, in one
# run, BENCH_REPEAT times each (default 5, the fastest kept: this machine is
# shared and other load only adds time):
#
#   cat FILE > /dev/null            the floor for reading the bytes
#   read_loop FILE                  our reader alone (every record, no analysis), large reads
#   SMBSCOPE_READER=mmap|libpcap    the same over a map of the file, and through libpcap
#   smbscope FILE                   the whole analysis
#   igzip -dc / zstd -dc / lz4 -dc  the decompressors alone
#   read_loop / smbscope on FILE.gz, .zst, .lz4 (decompression on its own
#                                   thread; _nothread: SMBSCOPE_DECOMPRESS_THREAD=0)
#
# Each line: wall seconds, CPU seconds (user+system, from wait4's rusage) and
# the ratio to its reference.  When other tenants keep the machine busy the
# wall times spread; the CPU times do not, so both are printed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
size=${1:-1G}
repeat=${BENCH_REPEAT:-5}

build=$root/build-release
if [ ! -d "$build" ]; then
    meson setup "$build" "$root" --buildtype=release -Dplugin=disabled >/dev/null
fi
meson compile -C "$build" >/dev/null
smbscope=$build/smbscope
read_loop=$build/tests/read_loop

tmp=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/smbscope-readers.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cc -O2 -o "$tmp/runstat" "$here/runstat.c"

f=$tmp/bulk.pcap
/usr/bin/python3 "$here/gen_capture.py" --samples "$root/samples" "$size" "$f" >&2
gzip -6 -c "$f" > "$f.gz"
zstd -q -3 -c "$f" > "$f.zst"
lz4 -q -1 -c "$f" > "$f.lz4"
for x in "$f" "$f.gz" "$f.zst" "$f.lz4"; do cat "$x" > /dev/null; done

# best NAME CMD...: fastest of $repeat runs; prints "wall cpu".
best() {
    local name=$1; shift
    local bw= bc=
    for _ in $(seq "$repeat"); do
        "$tmp/runstat" "$tmp/m" "$tmp/m.err" "$@" > /dev/null || true
        read -r wall cpu _ _ < "$tmp/m"
        if [ -z "$bw" ] || awk "BEGIN{exit !($wall < $bw)}"; then bw=$wall; fi
        if [ -z "$bc" ] || awk "BEGIN{exit !($cpu < $bc)}"; then bc=$cpu; fi
    done
    echo "$name $bw $bc"
}

{
    best cat bash -c 'cat "$0" > /dev/null' "$f"
    best read_loop "$read_loop" "$f"
    best read_loop_mmap env SMBSCOPE_READER=mmap "$read_loop" "$f"
    best read_loop_libpcap env SMBSCOPE_READER=libpcap "$read_loop" "$f"
    best smbscope "$smbscope" --format json -q -o /dev/null "$f"
    best smbscope_libpcap env SMBSCOPE_READER=libpcap "$smbscope" --format json -q -o /dev/null "$f"
    best igzip_dc bash -c 'igzip -dc "$0" > /dev/null' "$f.gz"
    best read_loop_gz "$read_loop" "$f.gz"
    best read_loop_gz_nothread env SMBSCOPE_DECOMPRESS_THREAD=0 "$read_loop" "$f.gz"
    best smbscope_gz "$smbscope" --format json -q -o /dev/null "$f.gz"
    best zstd_dc bash -c 'zstd -qdc "$0" > /dev/null' "$f.zst"
    best read_loop_zst "$read_loop" "$f.zst"
    best read_loop_zst_nothread env SMBSCOPE_DECOMPRESS_THREAD=0 "$read_loop" "$f.zst"
    best smbscope_zst "$smbscope" --format json -q -o /dev/null "$f.zst"
    best lz4_dc bash -c 'lz4 -qdc "$0" > /dev/null' "$f.lz4"
    best read_loop_lz4 "$read_loop" "$f.lz4"
    best smbscope_lz4 "$smbscope" --format json -q -o /dev/null "$f.lz4"
} > "$tmp/results"

ref() { awk -v n="$1" '$1 == n { print $2, $3 }' "$tmp/results"; }
printf '%-20s %9s %9s   %s\n' what wall_s cpu_s "ratio to the reference (wall, cpu)"
while read -r name wall cpu; do
    case $name in
        read_loop|read_loop_mmap|read_loop_libpcap|smbscope|smbscope_libpcap) r=cat ;;
        read_loop_gz*|smbscope_gz) r=igzip_dc ;;
        read_loop_zst*|smbscope_zst) r=zstd_dc ;;
        read_loop_lz4|smbscope_lz4) r=lz4_dc ;;
        *) r= ;;
    esac
    if [ -n "$r" ]; then
        read -r rw rc <<< "$(ref "$r")"
        ratio=$(awk -v a="$wall" -v b="$rw" -v c="$cpu" -v d="$rc" 'BEGIN{printf "%.2fx %s, %.2fx", a/b, "'"$r"'", c/d}')
    else
        ratio=reference
    fi
    printf '%-20s %9.3f %9.3f   %s\n' "$name" "$wall" "$cpu" "$ratio"
done < "$tmp/results"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); inflate: $(grep -q HAVE_ISAL "$build/build.ninja" && echo isa-l || echo zlib)"
