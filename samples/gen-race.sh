#!/bin/bash
# gen-race.sh - real captures of a client racing TCP 139 against 445 (what a
# client with NetBIOS over TCP/IP enabled does).  smbclient without -p tries
# 445 first and opens 139 when 445 has not answered within a few ms; this
# kernel has no netem to slow a link, so an nftables rule in the server's
# namespace drops the SYNs to 445 and 139 is then answered, refused (TCP
# reset) or dropped too.  Run as root:
#
#     sudo samples/gen-race.sh
#
# Needs (Debian): samba smbclient tcpdump iproute2 nftables (tshark for the
# MANIFEST.tsv rows).
#
# Writes samples/race-139-{answered,refused,dropped}.pcap (OUT=DIR: into DIR,
# whose MANIFEST.tsv, if any, gets the rows).  Nothing leaves the namespaces
# sv-srv (10.213.1.1) and sv-cli (10.213.1.2) (NS_S, NS_C, SRV4, CLI4 in the
# environment change them); the trap deletes them and kills only the
# processes started here.  Namespaces, veth and Samba: lib/samba_netns.sh.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE}
NS_S=${NS_S:-sv-srv}
NS_C=${NS_C:-sv-cli}
IF_S=svs0 IF_C=svc0 MAC_S=02:00:0a:d5:01:01 MAC_C=02:00:0a:d5:01:02
SRV4=${SRV4:-10.213.1.1}
CLI4=${CLI4:-10.213.1.2}
PASS='Sm6scope!pw'
WORK=$(mktemp -d -t smbscope-race.XXXXXX)
chmod 0755 "$WORK"
NETNS_OFFLOAD_OFF=1
# shellcheck source=lib/samba_netns.sh
. "$HERE/lib/samba_netns.sh"

log() { printf '[gen-race] %s\n' "$*" >&2; }
cleanup() {
    set +e
    stop_started
    netns_down
    rm -rf "$WORK"
}
trap cleanup EXIT
for t in smbd smbclient tcpdump nft ip setsid; do
    command -v "$t" >/dev/null || { echo "gen-race.sh: $t not found" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "gen-race.sh: run as root" >&2; exit 2; }

netns_up

# Samba: a private configuration, one user, SMB on 445 and 139 (a user in a
# private passwd, bind-mounted inside a private mount namespace)
ns_identity smbuser 30213
mkdir -p "$WORK/srv/share"
chown 30213:30213 "$WORK/srv/share"
samba_server_conf "$WORK/srv" SMBSCOPESRV <<EOF
    interfaces = $IF_S
    bind interfaces only = yes
    smb ports = 445 139
[data]
    path = $WORK/srv/share
    read only = no
    force user = smbuser
EOF
samba_client_conf "$WORK/cli" SMBSCOPECLI <<EOF
    name resolve order = host
EOF
printf '%s\n%s\n' "$PASS" "$PASS" | in_ns "$NS_S" smbpasswd -c "$WORK/srv/smb.conf" -a -s smbuser >/dev/null
smbd_up "$WORK/srv/smb.conf" "$WORK/smbd.out" 139

# scenario NAME NFT-RULE-FOR-139: SYNs to 445 are always dropped
scenario() {
    local name=$1 rule139=$2
    ip netns exec "$NS_S" nft -f - <<EOF
table inet smbscope_race
delete table inet smbscope_race
table inet smbscope_race {
    chain input {
        type filter hook input priority 0; policy accept;
        tcp dport 445 drop
        $rule139
    }
}
EOF
    local pcap="$OUT/$name.pcap"
    setsid ip netns exec "$NS_C" tcpdump -i "$IF_C" -U --immediate-mode -s 0 -w "$pcap" 'tcp port 445 or tcp port 139' \
        >"$WORK/tcpdump.out" 2>&1 </dev/null &
    local cap=$!
    STARTED_PIDS+=($cap)
    sleep 1
    # smbclient gives up by itself when neither port answers; bound it anyway
    in_ns "$NS_C" timeout 8 smbclient -s "$WORK/cli/smb.conf" "//$SRV4/data" -U "smbuser%$PASS" -c ls \
        >"$WORK/$name.client" 2>&1 || true
    sleep 0.5
    stop_pid "$cap" INT
    log "$name: $(tcpdump -nr "$pcap" 2>/dev/null | wc -l) packets; client said: $(tail -1 "$WORK/$name.client")"
}
scenario race-139-answered ""
scenario race-139-refused "tcp dport 139 reject with tcp reset"
scenario race-139-dropped "tcp dport 139 drop"

# MANIFEST.tsv rows of these captures, from tshark (the other rows stay)
if command -v tshark >/dev/null && [ -f "$OUT/MANIFEST.tsv" ]; then
    rows=$(cd "$OUT" && LC_ALL=C "$HERE/../tests/e2e/tshark_facts.py" --no-header race-139-*.pcap)
    { head -1 "$OUT/MANIFEST.tsv"; { tail -n +2 "$OUT/MANIFEST.tsv" | grep -v '^race-139-'; printf '%s\n' "$rows"; } |
        LC_ALL=C sort -s -t "$(printf '\t')" -k1,1; } >"$OUT/MANIFEST.tsv.new"
    mv "$OUT/MANIFEST.tsv.new" "$OUT/MANIFEST.tsv"
    log "MANIFEST.tsv: race rows from tshark"
fi
