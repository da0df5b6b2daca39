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
# npm registry).  Namespaces, veth and Samba: lib/samba_netns.sh.
# Server 10.213.3.1, client 10.213.3.2; smbd listens on the
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

MAC_S=02:00:0a:d5:03:01
MAC_C=02:00:0a:d5:03:02

WORK=$(mktemp -d -t smbscope-quic.XXXXXX)
chmod 0755 "$WORK"
# shellcheck source=lib/samba_netns.sh
. "$HERE/lib/samba_netns.sh"
log() { printf '[gen-quic] %s\n' "$*" >&2; }

cleanup() {
    set +e
    stop_started
    netns_down
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
ns_identity "$USER_NAME" 30213
# wait_quic NS PROTO PORT: wait_port, or say what is missing
wait_quic() { wait_port "$@" || { log "nothing listens on $2 $3 in $1"; return 1; }; }

# --- network
netns_up

# --- smbd on the server's loopback
d=$WORK/srv
mkdir -p "$d/share"
chown 30213:30213 "$d/share"
printf 'smbscope QUIC sample file, fixed content.\n' >"$d/share/hello.txt"
samba_server_conf "$d" SMBSCOPESRV <<EOF
    interfaces = lo
    bind interfaces only = yes
    smb ports = 445
    server min protocol = SMB2_02
    disable netbios = yes
    map to guest = never
[data]
    path = $d/share
    read only = no
    force user = $USER_NAME
EOF
printf '%s\n%s\n' "$USER_PASS" "$USER_PASS" | in_ns "$NS_S" smbpasswd -c "$d/smb.conf" -a -s "$USER_NAME" >/dev/null
smbd_up "$d/smb.conf" "$d/log/smbd.out" 445
c=$WORK/cli
samba_client_conf "$c" SMBSCOPECLI <<EOF
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
    wait_quic "$NS_S" udp "$port"
    rm -f "$WORK/$name.keylog"
    bg_ns "$NS_C" "$WORK/$name.cli.log" node "$WORK/node/quic_relay.mjs" client 4445 "$SRV4" "$port" "$SNI" "$alpn" "$WORK/$name.keylog" $zero_rtt
    local cli=$BG_PID
    wait_quic "$NS_C" tcp 4445
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
    wait_quic "$NS_S" udp 443
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
