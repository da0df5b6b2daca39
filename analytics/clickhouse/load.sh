#!/usr/bin/env bash
# load.sh - analyse captures with smbscope and load their ndjson events into
# ClickHouse (schema.sql): one smbscope run per capture, streamed into one
# table, so many sensors and many captures land in one place, each row tagged
# with observer.name (the sensor) and smbscope.input (the capture file).
#
#   load.sh [-s SMBSCOPE] [-o OBSERVER] [-t TABLE] [-c CLIENT] CAPTURE... [-- SMBSCOPE-OPTION...]
#   load.sh -n [-t TABLE] [-c CLIENT] NDJSON...
#
#   -s SMBSCOPE  the smbscope command (default: smbscope)
#   -o OBSERVER  observer.name of the events (default: smbscope's, the host name)
#   -t TABLE     the table (default: smbscope.events)
#   -c CLIENT    the ClickHouse client command, split on spaces
#                (default: clickhouse-client; e.g. 'clickhouse-client --host db1')
#   -- ...       smbscope options for every run: the policy (--allow-smb1,
#                --require-signing, ...), --tls-keylog FILE; one policy per table
#   -n           the files are ndjson smbscope wrote (-T ndjson -o FILE, e.g. a
#                live sensor's): loaded as they are, smbscope.input their name;
#                a line that is not a whole object (one being written) is skipped
#
# Exit status: 0 when every capture was analysed (whatever its verdict: pass,
# fail or inconclusive) and loaded; 1 otherwise (the others are still loaded,
# and of a capture smbscope cannot read, its summary: smbscope.verdict error).
set -u -o pipefail
smbscope=smbscope observer='' table=smbscope.events client=clickhouse-client ndjson=''
usage() { sed -n '7,20p' "$0" >&2; exit 1; }
while getopts s:o:t:c:nh opt; do
    case $opt in
    n) ndjson=1 ;;
    s) smbscope=$OPTARG ;;
    o) observer=$OPTARG ;;
    t) table=$OPTARG ;;
    c) client=$OPTARG ;;
    *) usage ;;
    esac
done
shift $((OPTIND - 1))
captures=() options=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do captures+=("$1"); shift; done
[ $# -gt 0 ] && shift && options=("$@")
[ ${#captures[@]} -gt 0 ] || usage
read -r -a client_cmd <<< "$client"
[ -n "$observer" ] && options=(--observer-name "$observer" "${options[@]}")

# A name as a JSON string: quotes and backslashes escaped; a name with control
# characters is refused rather than written wrong.
json_string() {
    case $1 in *[[:cntrl:]]*) return 1 ;; esac
    local s=${1//\\/\\\\}
    printf '"%s"' "${s//\"/\\\"}"
}

# One smbscope run per capture, all streamed into one INSERT; each event is
# one JSON object per line and smbscope.input goes first.  Unknown keys (the
# array keys schema.sql leaves out) are skipped.
analyse() {
    local status=0 capture name rc
    for capture in "${captures[@]}"; do
        if ! name=$(json_string "$capture"); then
            echo "load.sh: $capture: control characters in the name, not loaded" >&2
            status=1
            continue
        fi
        if [ -n "$ndjson" ]; then
            cat -- "$capture"
        else
            "$smbscope" -q -T ndjson "${options[@]}" -- "$capture"
        fi | PREFIX="{\"smbscope.input\":$name," awk '/^\{.*\}$/ { print ENVIRON["PREFIX"] substr($0, 2) }'
        rc=${PIPESTATUS[0]}
        # 0 pass, 1 fail, 3 inconclusive are verdicts; 2 or a signal is an error.
        if [ -n "$ndjson" ] && [ "$rc" -ne 0 ]; then
            echo "load.sh: $capture: cannot be read" >&2
            status=1
        elif [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ] && [ "$rc" -ne 3 ]; then
            echo "load.sh: $capture: smbscope exited with $rc" >&2
            status=1
        fi
    done
    return $status
}

analyse | "${client_cmd[@]}" --input_format_skip_unknown_fields=1 --query "INSERT INTO $table FORMAT JSONEachRow"
rcs=("${PIPESTATUS[@]}")
[ "${rcs[1]}" -eq 0 ] || echo "load.sh: loading into $table failed" >&2
[ "${rcs[0]}" -eq 0 ] && [ "${rcs[1]}" -eq 0 ]
