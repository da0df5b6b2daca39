#!/bin/bash
# compare_reports.sh OLD NEW [CAPTURE...] - an answer-preserving change check
# for speed work: OLD and NEW smbscope binaries analyse every capture of
# samples/ and of ../shared/corpus (if present), plus the captures given, and
# their reports (text, JSON, JSON with --connections all, ndjson) must be
# byte-identical once run-dependent members (timing, the binary's own
# version) are removed.  A QUIC sample is read with its .keylog.
# Exit 0 when every report is equal, 1 otherwise (the diffs are printed).
set -uo pipefail
old=$1 new=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
caps=()
for f in "$root"/samples/*.pcap*; do caps+=("$f"); done
if [ -d "$root/../shared/corpus" ]; then
    while IFS= read -r f; do caps+=("$f"); done < <(find "$root/../shared/corpus" -type f \( -name '*.pcap*' -o -name '*.cap' \) | sort)
fi
caps+=("$@")
# members whose value depends on the run, not on the capture
scrub() { sed -E 's/"(elapsed_s|elapsed_us|wall_s|cpu_s|started|finished|duration_s|version|smbscope_version|digest|run_seconds|@timestamp)": *[^,}]*/"\1": X/g'; }
bad=0 n=0
for f in "${caps[@]}"; do
    extra=()
    [ -f "${f%.pcap}.keylog" ] && extra=(--tls-keylog "${f%.pcap}.keylog")
    for mode in "-T text" "-T json" "-T json --connections all" "-T ndjson"; do
        # shellcheck disable=SC2086
        "$old" $mode -q "${extra[@]}" -o "$tmp/old" "$f" >/dev/null 2>"$tmp/old.err"; ro=$?
        # shellcheck disable=SC2086
        "$new" $mode -q "${extra[@]}" -o "$tmp/new" "$f" >/dev/null 2>"$tmp/new.err"; rn=$?
        n=$((n + 1))
        if [ $ro != $rn ] || ! cmp -s <(scrub <"$tmp/old") <(scrub <"$tmp/new") || ! cmp -s "$tmp/old.err" "$tmp/new.err"; then
            echo "DIFFERS: $f ($mode): exit $ro -> $rn"
            diff <(scrub <"$tmp/old") <(scrub <"$tmp/new") | head -20
            bad=1
        fi
    done
done
echo "compare_reports: $n reports, $([ $bad = 0 ] && echo identical || echo DIFFERENT)"
exit $bad
