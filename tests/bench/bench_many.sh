# bench_many.sh - the many-connections case of bench.sh (bench.sh --many N...;
# sourced by bench.sh after its helpers: measure, best, row, $tmp, $smbscope).
#
# Per connection count N: one capture of N short SMB 3.1.1 connections
# (gen_capture.py --many), then on that file, in one run: pcap_loop,
# smbscope -T json and -T text (best of BENCH_REPEAT, the report written to a
# file whose size is kept), and tshark -q -z conv,tcp once on the counts in
# BENCH_MANY_TSHARK, and smbscope -T json --jobs N for N in BENCH_MANY_JOBS
# (default 2).  The connection counts each tool saw are checked equal, and
# issue 13's bounds (peak RSS 64 MiB, JSON 8 MiB, text 1 MiB) at every count,
# under the default policy and under the strictest one (BENCH_MANY_STRICT:
# every connection of the generated capture breaks two rules, so the
# violation lines are as many as the policy can make; tools *-strict).

many_gen_args=${BENCH_MANY_GEN_ARGS---rate 500}
many_tshark=${BENCH_MANY_TSHARK-170000 1000000}
many_jobs=${BENCH_MANY_JOBS-2}
many_strict=${BENCH_MANY_STRICT---require-signing --require-encryption --require-kerberos}
sizes_file=$tmp/sizes.tsv
: >"$sizes_file"

# to_file OUT CMD... (as a command line for runstat): CMD with its stdout in
# OUT (runstat discards stdout); exec keeps it one process, so the rusage is CMD's.
to_file=(sh -c 'out=$1; shift; exec "$@" >"$out"' sh)

for n in "${sizes[@]}"; do
    cap=$tmp/many-$n.pcap
    # shellcheck disable=SC2086
    $py "$here/gen_capture.py" --samples "$root/samples" --many "$n" $many_gen_args "$cap" >"$tmp/gen-$n.txt"
    bytes=$(stat -c %s "$cap")
    packets=$(awk '{print $4}' "$tmp/gen-$n.txt")
    cat "$cap" >/dev/null

    read -r w c m rc < <(best "$tmp/time-loop-$n" "$tmp/pcap_loop" "$cap")
    row "$n" "$bytes" "$packets" pcap_loop "$w" "$c" "$m" "$rc"
    for policy in default strict; do
        if [ "$policy" = default ]; then pol=(); sfx=; else read -r -a pol <<<"$many_strict"; sfx=-strict; fi
        [ "$policy" = strict ] && [ ${#pol[@]} -eq 0 ] && continue
        for fmt in json text; do
            out=$tmp/report-$n.$fmt
            read -r w c m rc < <(best "$tmp/time-$fmt$sfx-$n" "$smbscope" -T "$fmt" -q -o "$out" "${pol[@]}" "$cap")
            row "$n" "$bytes" "$packets" "smbscope-$fmt$sfx" "$w" "$c" "$m" "$rc"
            size=$(stat -c %s "$out")
            printf "%s\t%s\t%s\n" "$n" "$fmt$sfx" "$size" >>"$sizes_file"
            # issue 13's bounds, at every connection count and under every
            # policy: peak RSS <= 64 MiB, JSON <= 8 MiB, text <= 1 MiB (the
            # memory bound is checked here, in the bench, and by the untimed
            # test scale on a smaller capture)
            if awk -v m="$m" 'BEGIN {exit !(m > 64)}'; then
                echo "CHECK FAILED: smbscope -T $fmt ${pol[*]} peak RSS $m MiB > 64 MiB at $n connections"
            fi
            if [ "$fmt" = json ]; then limit=8388608; else limit=1048576; fi
            if [ "$size" -gt "$limit" ]; then
                echo "CHECK FAILED: smbscope -T $fmt ${pol[*]} report $size bytes > $limit at $n connections"
            fi
            if [ "$fmt" = text ]; then
                seen=$(sed -n 's/^ *SMB connections *\([0-9][0-9]*\) .*/\1/p' "$out" | head -1)
                [ "$seen" = "$n" ] || echo "CHECK FAILED: smbscope ${pol[*]} saw ${seen:-?} SMB connections of $n"
            fi
            rm -f "$out"
        done
    done
    # --jobs N (BENCH_MANY_JOBS, default 2; empty: none): each thread has a
    # whole analysis, so its peak RSS is the one nearest the 64 MiB bound
    for j in $many_jobs; do
        read -r w c m rc < <(best "$tmp/time-jobs$j-$n" "$smbscope" -T json -q -o /dev/null --jobs "$j" "$cap")
        row "$n" "$bytes" "$packets" "smbscope-json-jobs$j" "$w" "$c" "$m" "$rc"
        if awk -v m="$m" 'BEGIN {exit !(m > 64)}'; then
            echo "CHECK FAILED: smbscope -T json --jobs $j peak RSS $m MiB > 64 MiB at $n connections"
        fi
    done
    for t in $many_tshark; do
        if [ "$t" = "$n" ]; then
            read -r w c m rc < <(measure "$tmp/time-tshark-$n" "${to_file[@]}" "$tmp/conv-$n.txt" \
                tshark -n -q -r "$cap" -z conv,tcp)
            row "$n" "$bytes" "$packets" tshark-conv "$w" "$c" "$m" "$rc"
            seen=$(grep -c '<->' "$tmp/conv-$n.txt" || true)
            [ "$seen" = "$n" ] || echo "CHECK FAILED: tshark saw $seen TCP conversations of $n"
            printf "%s\t%s\t%s\n" "$n" tshark "$(stat -c %s "$tmp/conv-$n.txt")" >>"$sizes_file"
            rm -f "$tmp/conv-$n.txt"
        fi
    done
    rm -f "$cap"
done

echo
echo "Machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo); generator: --many N $many_gen_args"
echo "Load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
$py - "$results" "$sizes_file" <<'PYEOF'
import sys, csv
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
sizes = {}
for line in open(sys.argv[2]):
    n, what, b = line.split()
    sizes[(n, what)] = int(b)
print("| connections | packets | MB | tool | wall s | CPU s | CPU us/conn | peak RSS MiB | report bytes | exit |")
print("|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    n = r["size_gib"]
    what = {"smbscope-json": "json", "smbscope-text": "text", "smbscope-json-strict": "json-strict",
            "smbscope-text-strict": "text-strict", "tshark-conv": "tshark"}.get(r["tool"])
    rep = sizes.get((n, what), "")
    print("| %s | %s | %.0f | %s | %s | %s | %.2f | %s | %s | %s |" % (
        n, r["packets"], int(r["bytes"]) / 1e6, r["tool"], r["wall_s"], r["cpu_s"],
        float(r["cpu_s"]) * 1e6 / int(n), r["rss_mib"], rep, r["exit"]))
print()
print("Ratios on the same file in the same run (times the pcap_loop time / times faster than tshark; wall / CPU):")
by = {}
for r in rows:
    by.setdefault(r["size_gib"], {})[r["tool"]] = r
for n, t in by.items():
    parts = []
    loop = t.get("pcap_loop")
    for tool in ("smbscope-json", "smbscope-text"):
        s = t.get(tool)
        if not s or not loop:
            continue
        p = "%s %.1fx / %.1fx pcap_loop" % (tool, float(s["wall_s"]) / max(float(loop["wall_s"]), 1e-3),
                                           float(s["cpu_s"]) / max(float(loop["cpu_s"]), 1e-3))
        ts = t.get("tshark-conv")
        if ts:
            p += ", %.1fx / %.1fx faster than tshark" % (float(ts["wall_s"]) / float(s["wall_s"]),
                                                       float(ts["cpu_s"]) / float(s["cpu_s"]))
        parts.append(p)
    print("  %s connections: %s (target <= 3x pcap_loop)" % (n, "; ".join(parts)))
ns = sorted(by, key=int)
if len(ns) > 1:
    a = ns[0]
    for tool in ("smbscope-json", "smbscope-text"):
        line = []
        for n in ns[1:]:
            if tool in by[a] and tool in by[n]:
                k = int(n) / int(a)
                line.append("%sx conns: %.2fx CPU" % (round(k, 2), float(by[n][tool]["cpu_s"]) / float(by[a][tool]["cpu_s"])))
        print("  linearity %s against %s connections: %s" % (tool, a, ", ".join(line)))
PYEOF
