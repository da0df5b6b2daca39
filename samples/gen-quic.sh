#!/bin/bash
# gen-quic.sh - make the SMB-over-QUIC sample captures: real smbclient talks to
# real smbd through a QUIC tunnel (a relay on each side, samples/quic_relay.mjs
# on the npm package @matrixai/quic 2.0.9, quiche inside), in two network
# namespaces joined by a veth pair.  Run as root:
#
#     sudo samples/gen-quic.sh            # all QUIC scenarios
#     sudo samples/gen-quic.sh NAME...    # only some (quic443 quic8443 quic-other-alpn quic-split-hello quic-0rtt)
#
# NS_S, NS_C, IF_S, IF_C, SRV4, CLI4 in the environment change the namespaces,
# interfaces and addresses (quic443-0rtt was made with 10.213.41.1/.2).
#
# Needs: samba smbclient tcpdump iproute2 openssl tshark, node 20 + npm (the
# npm registry).  Server 10.213.3.1, client 10.213.3.2; smbd listens on the
# server's loopback only, so the veth carries nothing but QUIC.  Each capture
# gets a key log beside it (NAME.keylog); quiche's server always sends a
# Retry and the client then sends a new ClientHello with a new random, while
# tshark keys TLS by the first random: the key log gets each secret under
# both randoms.  The trap deletes the namespaces and kills only the
# processes started here.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE}
NS_S=${NS_S:-sq-srv}
NS_C=${NS_C:-sq-cli}
IF_S=${IF_S:-sqs0}
IF_C=${IF_C:-sqc0}
SRV4=${SRV4:-10.213.3.1}
CLI4=${CLI4:-10.213.3.2}
USER_NAME=smbuser
USER_PASS='Sm6scope!pw'
SNI=files.smbscope.test
QUIC_PKG=@matrixai/quic@2.0.9

WORK=$(mktemp -d -t smbscope-quic.XXXXXX)
chmod 0755 "$WORK"
STARTED_PIDS=()
log() { printf '[gen-quic] %s\n' "$*" >&2; }

cleanup() {
    set +e
    local p
    for p in "${STARTED_PIDS[@]}"; do kill -TERM -- "-$p" 2>/dev/null; done
    sleep 0.5
    for p in "${STARTED_PIDS[@]}"; do kill -KILL -- "-$p" 2>/dev/null; done
    ip netns del "$NS_C" 2>/dev/null
    ip netns del "$NS_S" 2>/dev/null
    [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'log "FAILED (exit $?) at line $LINENO: $BASH_COMMAND"' ERR
trap 'exit 130' INT TERM

for tool in smbd smbclient tcpdump ip node npm openssl tshark setsid unshare; do
    command -v "$tool" >/dev/null || { echo "gen-quic.sh: $tool not found" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "gen-quic.sh: run as root" >&2; exit 2; }

# --- the relay and its QUIC library, installed in the work directory only
mkdir -p "$WORK/node"
(cd "$WORK/node" && npm init -y >/dev/null && npm install --no-audit --no-fund "$QUIC_PKG" >/dev/null)
cp "$HERE/quic_relay.mjs" "$WORK/node/"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -subj "/CN=$SNI" -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null

# --- identity: the sample user exists only in a private passwd (mount namespace)
mkdir -p "$WORK/etc"
{ grep '^root:' /etc/passwd; echo "$USER_NAME:x:30213:30213:smbscope sample user:/nonexistent:/usr/sbin/nologin"; } >"$WORK/etc/passwd"
{ grep '^root:' /etc/group; echo "$USER_NAME:x:30213:"; } >"$WORK/etc/group"
NS_WRAP='hostname "$1" && mount --bind "$0/passwd" /etc/passwd && mount --bind "$0/group" /etc/group && shift && exec "$@"'
ns_host() { if [ "$1" = "$NS_S" ]; then echo smbscopesrv; else echo smbscopecli; fi; }
in_ns() {
    local ns=$1; shift
    ip netns exec "$ns" unshare -m -u --propagation private sh -c "$NS_WRAP" "$WORK/etc" "$(ns_host "$ns")" "$@"
}
BG_PID=
bg_ns() {
    local ns=$1 logf=$2; shift 2
    setsid ip netns exec "$ns" unshare -m -u --propagation private \
        sh -c "$NS_WRAP" "$WORK/etc" "$(ns_host "$ns")" "$@" >"$logf" 2>&1 </dev/null &
    BG_PID=$!
    STARTED_PIDS+=("$BG_PID")
}
stop_pid() {
    local pid=$1 i
    kill -TERM -- "-$pid" 2>/dev/null || true
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    local n=() p
    for p in "${STARTED_PIDS[@]}"; do [ "$p" = "$pid" ] || n+=("$p"); done
    STARTED_PIDS=("${n[@]}")
}
wait_port() { # wait_port NS PROTO PORT
    local i flag=-Htln
    [ "$2" = udp ] && flag=-Huln
    for i in $(seq 100); do
        ip netns exec "$1" ss $flag "sport = :$3" | grep -q . && return 0
        sleep 0.1
    done
    log "nothing listens on $2 $3 in $1"; return 1
}

# --- network
ip netns del "$NS_C" 2>/dev/null || true
ip netns del "$NS_S" 2>/dev/null || true
ip netns add "$NS_S"
ip netns add "$NS_C"
ip link add "$IF_C" netns "$NS_C" address 02:00:0a:d5:03:02 type veth peer name "$IF_S" netns "$NS_S" address 02:00:0a:d5:03:01
for ns in "$NS_S" "$NS_C"; do
    if [ "$ns" = "$NS_S" ]; then ifc=$IF_S a4=$SRV4; else ifc=$IF_C a4=$CLI4; fi
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip netns exec "$ns" ip link set lo up
    ip netns exec "$ns" ip addr add "$a4/24" dev "$ifc"
    ip netns exec "$ns" ip link set "$ifc" up
done
ip netns exec "$NS_C" ip neigh replace "$SRV4" lladdr 02:00:0a:d5:03:01 dev "$IF_C" nud permanent
ip netns exec "$NS_S" ip neigh replace "$CLI4" lladdr 02:00:0a:d5:03:02 dev "$IF_S" nud permanent

# --- smbd on the server's loopback
d=$WORK/srv
mkdir -p "$d"/{lock,state,cache,private,pid,ncalrpc,log} "$d/share"
chown 30213:30213 "$d/share"
printf 'smbscope QUIC sample file, fixed content.\n' >"$d/share/hello.txt"
cat >"$d/smb.conf" <<EOF
[global]
    netbios name = SMBSCOPESRV
    workgroup = SMBSCOPE
    interfaces = lo
    bind interfaces only = yes
    smb ports = 445
    server min protocol = SMB2_02
    server role = standalone server
    passdb backend = tdbsam:$d/private/passdb.tdb
    lock directory = $d/lock
    state directory = $d/state
    cache directory = $d/cache
    private dir = $d/private
    pid directory = $d/pid
    ncalrpc dir = $d/ncalrpc
    log file = $d/log/%m.log
    load printers = no
    printing = bsd
    printcap name = /dev/null
    disable spoolss = yes
    disable netbios = yes
    map to guest = never
[data]
    path = $d/share
    read only = no
    force user = $USER_NAME
EOF
printf '%s\n%s\n' "$USER_PASS" "$USER_PASS" | in_ns "$NS_S" smbpasswd -c "$d/smb.conf" -a -s "$USER_NAME" >/dev/null
bg_ns "$NS_S" "$d/log/smbd.out" smbd -F --no-process-group -s "$d/smb.conf" --debug-stdout
wait_port "$NS_S" tcp 445
c=$WORK/cli
mkdir -p "$c"/{lock,state,cache,private,pid}
cat >"$c/smb.conf" <<EOF
[global]
    netbios name = SMBSCOPECLI
    workgroup = SMBSCOPE
    lock directory = $c/lock
    state directory = $c/state
    cache directory = $c/cache
    private dir = $c/private
    pid directory = $c/pid
    disable netbios = yes
EOF

# --- capture on the client's veth
CAP_PID=
cap_start() {
    bg_ns "$NS_C" "$WORK/$1.tcpdump" tcpdump -Z root -i "$IF_C" -U --immediate-mode -s 0 -w "$WORK/$1.pcap" udp
    CAP_PID=$BG_PID
    sleep 1
}
cap_stop() {
    sleep 0.5
    stop_pid "$CAP_PID"
    grep -q '^0 packets dropped by kernel' "$WORK/$1.tcpdump" || { log "tcpdump dropped packets"; cat "$WORK/$1.tcpdump" >&2; return 1; }
}

# Key log: add each secret under the first ClientHello's random (tshark keys
# by it; quiche's log has the second one after the Retry).
finish() { # finish NAME
    local name=$1 first
    first=$(tshark -n -r "$WORK/$name.pcap" -Y 'tls.handshake.type == 1' -T fields -e tls.handshake.random 2>/dev/null | head -1 | tr -d ':')
    [ -n "$first" ] || { log "$name: no ClientHello in the capture"; return 1; }
    awk -v r="$first" 'NF == 3 { print; if ($2 != r) print $1, r, $3 }' "$WORK/$name.keylog" >"$OUT/$name.keylog"
    cp "$WORK/$name.pcap" "$OUT/$name.pcap"
    log "$name: $(tshark -r "$OUT/$name.pcap" 2>/dev/null | wc -l) packets"
}

# smb_over_quic NAME PORT ALPN-LIST [0rtt]: one smbclient session through the tunnel
smb_over_quic() {
    local name=$1 port=$2 alpn=$3 zero_rtt=${4:-}
    bg_ns "$NS_S" "$WORK/$name.srv.log" node "$WORK/node/quic_relay.mjs" server "$SRV4" "$port" 127.0.0.1 445 smb "$WORK/key.pem" "$WORK/cert.pem"
    local srv=$BG_PID
    wait_port "$NS_S" udp "$port"
    rm -f "$WORK/$name.keylog"
    bg_ns "$NS_C" "$WORK/$name.cli.log" node "$WORK/node/quic_relay.mjs" client 4445 "$SRV4" "$port" "$SNI" "$alpn" "$WORK/$name.keylog" $zero_rtt
    local cli=$BG_PID
    wait_port "$NS_C" tcp 4445
    cap_start "$name"
    in_ns "$NS_C" smbclient -s "$c/smb.conf" //127.0.0.1/data -p 4445 -m SMB3 -U "$USER_NAME%$USER_PASS" \
        -c 'ls; get hello.txt /dev/null' >"$WORK/$name.smbclient" 2>&1 || { cat "$WORK/$name.smbclient" "$WORK/$name".*.log >&2; return 1; }
    sleep 0.5
    stop_pid "$cli"
    cap_stop "$name"
    stop_pid "$srv"
    finish "$name"
}

scenario_quic443() { smb_over_quic quic443-smb3_11 443 smb; }
scenario_quic8443() { smb_over_quic quic8443-smb3_11 8443 smb; }
# A resumed connection with 0-RTT packets (the relay's first connection, made
# before the capture starts, only fetches the session ticket).
scenario_quic-0rtt() { smb_over_quic quic443-0rtt 443 smb 0rtt; }
# A ClientHello longer than one Initial: quiche puts it in two packets.
scenario_quic-split-hello() {
    local pad n
    pad=$(printf 'x%.0s' $(seq 200))
    smb_over_quic quic443-split-hello 443 "smb,${pad}1,${pad}2,${pad}3,${pad}4,${pad}5,${pad}6"
}
# Another ALPN on the same port: QUIC, not SMB.
scenario_quic-other-alpn() {
    local name=quic443-other-alpn
    bg_ns "$NS_S" "$WORK/$name.srv.log" node "$WORK/node/quic_relay.mjs" server "$SRV4" 443 echo 0 smbscope-echo "$WORK/key.pem" "$WORK/cert.pem"
    local srv=$BG_PID
    wait_port "$NS_S" udp 443
    cap_start "$name"
    in_ns "$NS_C" node "$WORK/node/quic_relay.mjs" echo "$SRV4" 443 echo.smbscope.test smbscope-echo "$WORK/$name.keylog" \
        >"$WORK/$name.cli.log" 2>&1 || { cat "$WORK/$name".*.log >&2; return 1; }
    cap_stop "$name"
    stop_pid "$srv"
    finish "$name"
}

ALL=(quic443 quic8443 quic-split-hello quic-other-alpn quic-0rtt)
for s in "${@:-${ALL[@]}}"; do
    log "scenario $s"
    "scenario_$s"
done
log "done; rebuild samples/MANIFEST.tsv with tests/e2e/tshark_facts.py"
