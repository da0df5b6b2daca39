#!/bin/bash
# live_check.sh - live capture against real Samba in network namespaces.
#
#     live_check.sh SMBSCOPE SAMPLES_DIR
#
# A server namespace (smbd, no nmbd: NBNS queries are refused by ICMP) and a
# client namespace (smbclient, nmblookup) joined by a veth pair; while the
# clients run (an NBNS query, SMB over NBT on 139, SMB 3.1.1 and SMB1 on 445,
# SMB on 445 over IPv6), captures run side by side on the server:
#   ref     tcpdump -i VETH -w ref.pcap           the reference
#   veth    smbscope -i VETH -Z nobody -w FILE    json report
#   any     smbscope -i any -T ndjson             events as they happen
#   no139   smbscope -i VETH 'not port 139'       json report
#   count   smbscope -i VETH -c 5 -s 96 -p -w     stops by itself; short snapshots
#   every   smbscope -i VETH -i lo --report-every 1s -w   interval reports (ndjson), two interfaces
#   caps    smbscope -i VETH -c 3 as nobody with CAP_NET_RAW/CAP_NET_ADMIN only
# then SIGINT (SIGTERM for any) ends them; the checks compare each with smbscope's analysis of
# ref.pcap (same connections, transports, dialects, NetBIOS flows), read
# /proc for -Z, and have tshark read the -w file.
#
# Needs root, ip netns, smbd, smbclient, nmblookup and tcpdump: exits 77
# (skip) without them, but fails under CI=true when Samba is missing
# (.ci/deps.sh installs it).  Addresses: 10.213.2.0/24, fd00:213:2::/64;
# namespaces sl-*.  Everything started here is stopped by PID (smbd by its
# process group).  Namespaces, veth and Samba: samples/lib/samba_netns.sh.
set -uo pipefail

SMBSCOPE=$(readlink -f "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
CHECK="$HERE/live_compare.py"
PY=/usr/bin/python3

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, live capture)"
for t in smbd smbclient nmblookup; do
    if ! command -v "$t" >/dev/null; then
        [ "${CI:-}" = true ] && { echo "FAIL: $t missing under CI (.ci/deps.sh installs samba and smbclient)"; exit 1; }
        skip "$t not installed (apt-get install samba smbclient)"
    fi
done
for t in ip tcpdump tshark; do command -v "$t" >/dev/null || skip "$t not installed"; done
ip netns list >/dev/null 2>&1 || skip "no network namespaces here"

# Namespaces, addresses: the environment may change them (NS_S, NS_C, SRV4,
# CLI4, SRV6, CLI6).
NS_S=${NS_S:-sl-srv-$$}
NS_C=${NS_C:-sl-cli-$$}
SRV4=${SRV4:-10.213.2.1} CLI4=${CLI4:-10.213.2.2} SRV6=${SRV6:-fd00:213:2::1} CLI6=${CLI6:-fd00:213:2::2}
IF_S=vs0 IF_C=vc0 MAC_S=02:00:0a:d5:02:01 MAC_C=02:00:0a:d5:02:02
WORK=$(mktemp -d -t smbscope-live.XXXXXX)
chmod 0777 "$WORK"   # -Z nobody writes its report and -w file here
PIDS=()
# shellcheck source=../../samples/lib/samba_netns.sh
. "$HERE/../../samples/lib/samba_netns.sh"

cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    sleep 0.3
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    stop_started
    netns_down
    [ -n "${KEEP_WORK:-}" ] && echo "work dir kept: $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; exit 1; }

# --- network: two namespaces, a veth pair, static neighbours -------------
netns_up net.ipv4.icmp_ratelimit=0 || fail "namespaces and veth"

# --- Samba: a guest share, every state directory private -----------------
mkdir -p "$WORK/srv/share"
chmod 0777 "$WORK/srv/share"
samba_server_conf "$WORK/srv" SLSRV <<EOF
    interfaces = $IF_S
    bind interfaces only = yes
    smb ports = 445 139
    server min protocol = NT1
    map to guest = bad user
    guest account = nobody
[data]
    path = $WORK/srv/share
    guest ok = yes
    read only = yes
EOF
samba_client_conf "$WORK/cli" SLCLI <<EOF
    name resolve order = host
EOF
smbd_up "$WORK/srv/smb.conf" "$WORK/smbd.out" 445 || fail "smbd did not start"

# --- captures --------------------------------------------------------------
started() { # started PID: wait until PID has a socket open (the capture is active)
    local i
    for i in $(seq 300); do
        kill -0 "$1" 2>/dev/null || return 1
        ls -l "/proc/$1/fd" 2>/dev/null | grep -q 'socket:' && return 0
        sleep 0.05
    done
    return 1
}
SS() { exec ip netns exec "$NS_S" "$SMBSCOPE" -q "$@"; }   # always with &: the job is smbscope itself
ip netns exec "$NS_S" tcpdump -n -i vs0 -U --immediate-mode -w "$WORK/ref.pcap" 2>"$WORK/ref.err" &
P_REF=$!; PIDS+=($P_REF)
SS -i vs0 -Z nobody -T json -o "$WORK/veth.json" -w "$WORK/veth.pcapng" 2>"$WORK/veth.err" &
P_VETH=$!; PIDS+=($P_VETH)
SS -i any -T ndjson --observer-name live-test -o "$WORK/any.ndjson" 2>"$WORK/any.err" &
P_ANY=$!; PIDS+=($P_ANY)
SS -i vs0 -B 4096 -T json -o "$WORK/no139.json" 'not port 139' 2>"$WORK/no139.err" &
P_NO139=$!; PIDS+=($P_NO139)
SS -i vs0 -T json -o "$WORK/count.json" -c 5 -s 96 -p -w "$WORK/count.pcapng" 2>"$WORK/count.err" &
P_COUNT=$!; PIDS+=($P_COUNT)
# not root: nobody with only CAP_NET_RAW and CAP_NET_ADMIN can capture
CAPS=(--reuid=nobody --regid="$(id -g nobody)" --clear-groups --inh-caps=+net_raw,+net_admin
      --ambient-caps=+net_raw,+net_admin)
exec_caps() { exec ip netns exec "$NS_S" setpriv "${CAPS[@]}" "$SMBSCOPE" -q "$@"; }
exec_caps -i vs0 -T json -o "$WORK/caps.json" -c 3 2>"$WORK/caps.err" &
P_CAPS=$!; PIDS+=($P_CAPS)
SS -i vs0 --report-every 1s -T text -o "$WORK/every.txt" 2>"$WORK/every-text.err" &
P_ETXT=$!; PIDS+=($P_ETXT)
SS -i vs0 --report-every 1s -T json -o "$WORK/every.jsons" 2>"$WORK/every-json.err" &
P_EJSON=$!; PIDS+=($P_EJSON)
SS -i vs0 -i lo -T ndjson --report-every 1s -o "$WORK/every.ndjson" -w "$WORK/every.pcapng" 2>"$WORK/every.err" &
P_EVERY=$!; PIDS+=($P_EVERY)
# (count and caps are left out: they may have seen their few packets and ended already)
for p in $P_REF $P_VETH $P_ANY $P_NO139 $P_EVERY $P_ETXT $P_EJSON; do
    started "$p" || { head -v "$WORK"/*.err; ps -o pid,stat,args -p "$p"; fail "capture $p did not start"; }
done
for i in $(seq 50); do grep -q 'listening on' "$WORK/ref.err" && break; sleep 0.05; done
sleep 0.3   # filters attached

# -Z nobody: every id of the running capture is nobody's (and its group's).
# It drops them once its capture is open, after the socket started() saw:
# until then (a moment, longer on a loaded machine) they are root's.
NOBODY_UID=$(id -u nobody) NOBODY_GID=$(id -g nobody)
for i in $(seq 300); do
    grep -Eq "^Uid:[[:space:]]+$NOBODY_UID[[:space:]]+$NOBODY_UID[[:space:]]+$NOBODY_UID[[:space:]]+$NOBODY_UID\b" \
        "/proc/$P_VETH/status" 2>/dev/null && break
    sleep 0.05
done
grep -E '^(Uid|Gid|Groups):' "/proc/$P_VETH/status" >"$WORK/veth.ids"
"$PY" - "$WORK/veth.ids" "$NOBODY_UID" "$NOBODY_GID" <<'EOF' || fail "-Z nobody: $(tr '\n' ' ' <"$WORK/veth.ids")"
import sys
ids = dict(l.split(":", 1) for l in open(sys.argv[1]))
uid, gid = sys.argv[2], sys.argv[3]
ok = set(ids["Uid"].split()) == {uid} and set(ids["Gid"].split()) == {gid} and set(ids["Groups"].split()) <= {gid}
sys.exit(0 if ok else 1)
EOF
echo "ok   -Z nobody: uid $NOBODY_UID, gid $NOBODY_GID, groups $(grep Groups "$WORK/veth.ids" | cut -f2)"

# --- traffic ---------------------------------------------------------------
CL() { ip netns exec "$NS_C" "$@" >>"$WORK/clients.out" 2>&1; }
CL nmblookup -s "$WORK/cli/smb.conf" -U "$SRV4" SLSRV
CL smbclient -s "$WORK/cli/smb.conf" -N -p 139 "//$SRV4/data" -c ls
CL smbclient -s "$WORK/cli/smb.conf" -N -p 445 -m SMB3 "//$SRV4/data" -c ls
CL smbclient -s "$WORK/cli/smb.conf" -N -p 445 -m NT1 --option='client min protocol=NT1' "//$SRV4/data" -c ls
CL smbclient -s "$WORK/cli/smb.conf" -N -p 445 -m SMB3 "//$SRV6/data" -c ls
sleep 1.3   # connections close (FIN) before the captures end; one --report-every interval passes
# ... and every capture has read what the kernel holds for it: a capture
# ends at its signal without reading its ring again, and on a loaded
# machine one may not have run since the last FIN.  Caught up: each of its
# threads asleep (in poll; the ring is empty) at three looks in a row.
asleep() {
    local t
    for t in /proc/"$1"/task/*/stat; do
        [ "$(sed 's/.*) //' "$t" 2>/dev/null | cut -d' ' -f1)" = S ] || return 1
    done
}
for p in $P_REF $P_VETH $P_ANY $P_NO139 $P_EVERY $P_ETXT $P_EJSON; do
    n=0
    for i in $(seq 300); do
        if asleep "$p"; then n=$((n + 1)); else n=0; fi
        [ $n -ge 3 ] && break
        sleep 0.05
    done
done

# ndjson is flushed per event: the events are in the file before capture ends
LINES_BEFORE=$(grep -c '"smb-connection"' "$WORK/any.ndjson")

# -c 5 ended by itself, with its report and the verdict's exit status
wait "$P_COUNT"; RC_COUNT=$?
wait "$P_CAPS"; RC_CAPS=$?
for p in $P_REF $P_VETH $P_NO139 $P_EVERY $P_ETXT $P_EJSON; do kill -INT "$p"; done
kill -TERM "$P_ANY"
wait "$P_REF"
wait "$P_VETH"; RC_VETH=$?
wait "$P_ANY"; RC_ANY=$?
wait "$P_NO139"; RC_NO139=$?
wait "$P_EVERY"; RC_EVERY=$?
wait "$P_ETXT"; RC_ETXT=$?
wait "$P_EJSON"; RC_EJSON=$?
PIDS=()   # only smbd is left (STARTED_PIDS)

"$SMBSCOPE" -q -T json -r "$WORK/ref.pcap" >"$WORK/ref.json" 2>"$WORK/ref-analysis.err"
RC_REF=$?
tshark -n -r "$WORK/veth.pcapng" -T fields -e frame.number >"$WORK/veth.tshark" 2>"$WORK/veth.tshark.err"
RC_TSHARK=$?
"$SMBSCOPE" -q -T json -r "$WORK/veth.pcapng" >"$WORK/veth-file.json" 2>>"$WORK/ref-analysis.err"
tshark -n -r "$WORK/count.pcapng" -T fields -e frame.cap_len >"$WORK/count.tshark" 2>>"$WORK/veth.tshark.err"
tshark -n -r "$WORK/every.pcapng" -T fields -e frame.interface_name >"$WORK/every.tshark" 2>>"$WORK/veth.tshark.err"
"$SMBSCOPE" -q -T json -r "$WORK/every.pcapng" >"$WORK/every-file.json" 2>>"$WORK/ref-analysis.err"

"$PY" "$CHECK" --work "$WORK" --rc "ref=$RC_REF" --rc "veth=$RC_VETH" --rc "any=$RC_ANY" --rc "no139=$RC_NO139" \
    --rc "count=$RC_COUNT" --rc "caps=$RC_CAPS" --rc "every=$RC_EVERY" --rc "etxt=$RC_ETXT" --rc "ejson=$RC_EJSON" --rc "tshark=$RC_TSHARK" --ndjson-before "$LINES_BEFORE"
RC=$?
[ $RC = 0 ] || { echo "--- clients"; cat "$WORK/clients.out"; cat "$WORK"/*.err; }
exit $RC
