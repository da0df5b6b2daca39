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
# Writes samples/race-139-{answered,refused,dropped}.pcap.  Nothing leaves
# the namespaces sv-srv (10.213.1.1) and sv-cli (10.213.1.2); the trap deletes
# them and kills only the processes started here.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE}
NS_S=sv-srv
NS_C=sv-cli
SRV4=10.213.1.1
CLI4=10.213.1.2
PASS='Sm6scope!pw'
WORK=$(mktemp -d -t smbscope-race.XXXXXX)
chmod 0755 "$WORK"
PIDS=()

log() { printf '[gen-race] %s\n' "$*" >&2; }
cleanup() {
    set +e
    for p in "${PIDS[@]}"; do kill -TERM -- "-$p" 2>/dev/null; done
    sleep 0.3
    for p in "${PIDS[@]}"; do kill -KILL -- "-$p" 2>/dev/null; done
    ip netns del "$NS_C" 2>/dev/null
    ip netns del "$NS_S" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
for t in smbd smbclient tcpdump nft ip setsid; do
    command -v "$t" >/dev/null || { echo "gen-race.sh: $t not found" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "gen-race.sh: run as root" >&2; exit 2; }

ip netns del "$NS_C" 2>/dev/null || true
ip netns del "$NS_S" 2>/dev/null || true
ip netns add "$NS_S"
ip netns add "$NS_C"
ip link add svc0 netns "$NS_C" address 02:00:0a:d5:01:02 type veth peer name svs0 netns "$NS_S" address 02:00:0a:d5:01:01
for ns in "$NS_S" "$NS_C"; do
    if [ "$ns" = "$NS_S" ]; then ifc=svs0 a=$SRV4; else ifc=svc0 a=$CLI4; fi
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip netns exec "$ns" ip link set lo up
    ip netns exec "$ns" ip addr add "$a/24" dev "$ifc"
    ip netns exec "$ns" ethtool -K "$ifc" tso off gso off gro off 2>/dev/null || true
    ip netns exec "$ns" ip link set "$ifc" up
done
ip netns exec "$NS_C" ip neigh replace "$SRV4" lladdr 02:00:0a:d5:01:01 dev svc0 nud permanent
ip netns exec "$NS_S" ip neigh replace "$CLI4" lladdr 02:00:0a:d5:01:02 dev svs0 nud permanent

# Samba: a private configuration, one user, SMB on 445 and 139 (a user in a
# private passwd, bind-mounted inside a private mount namespace)
mkdir -p "$WORK/etc" "$WORK/srv"/{lock,state,cache,private,pid,ncalrpc,log,share} "$WORK/cli"/{lock,state,cache,private,pid}
{ grep '^root:' /etc/passwd; echo "smbuser:x:30213:30213::/nonexistent:/usr/sbin/nologin"; } >"$WORK/etc/passwd"
{ grep '^root:' /etc/group; echo "smbuser:x:30213:"; } >"$WORK/etc/group"
chown 30213:30213 "$WORK/srv/share"
cat >"$WORK/srv/smb.conf" <<EOF
[global]
    netbios name = SMBSCOPESRV
    workgroup = SMBSCOPE
    interfaces = svs0
    bind interfaces only = yes
    smb ports = 445 139
    server role = standalone server
    passdb backend = tdbsam:$WORK/srv/private/passdb.tdb
    lock directory = $WORK/srv/lock
    state directory = $WORK/srv/state
    cache directory = $WORK/srv/cache
    private dir = $WORK/srv/private
    pid directory = $WORK/srv/pid
    ncalrpc dir = $WORK/srv/ncalrpc
    log file = $WORK/srv/log/%m.log
    load printers = no
    printcap name = /dev/null
    disable spoolss = yes
[data]
    path = $WORK/srv/share
    read only = no
    force user = smbuser
EOF
cat >"$WORK/cli/smb.conf" <<EOF
[global]
    netbios name = SMBSCOPECLI
    workgroup = SMBSCOPE
    lock directory = $WORK/cli/lock
    state directory = $WORK/cli/state
    cache directory = $WORK/cli/cache
    private dir = $WORK/cli/private
    pid directory = $WORK/cli/pid
    name resolve order = host
EOF
WRAP='hostname "$1" && mount --bind "$0/passwd" /etc/passwd && mount --bind "$0/group" /etc/group && shift && exec "$@"'
in_ns() { local ns=$1 h=$2; shift 2; ip netns exec "$ns" unshare -m -u --propagation private sh -c "$WRAP" "$WORK/etc" "$h" "$@"; }
printf '%s\n%s\n' "$PASS" "$PASS" | in_ns "$NS_S" smbscopesrv smbpasswd -c "$WORK/srv/smb.conf" -a -s smbuser >/dev/null
setsid ip netns exec "$NS_S" unshare -m -u --propagation private sh -c "$WRAP" "$WORK/etc" smbscopesrv \
    smbd -F --no-process-group -s "$WORK/srv/smb.conf" --debug-stdout >"$WORK/smbd.out" 2>&1 </dev/null &
PIDS+=($!)
for i in $(seq 100); do ip netns exec "$NS_S" ss -Htln "sport = :139" | grep -q . && break; sleep 0.1; done

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
    setsid ip netns exec "$NS_C" tcpdump -i svc0 -U --immediate-mode -s 0 -w "$pcap" 'tcp port 445 or tcp port 139' \
        >"$WORK/tcpdump.out" 2>&1 </dev/null &
    local cap=$!
    PIDS+=($cap)
    sleep 1
    # smbclient gives up by itself when neither port answers; bound it anyway
    in_ns "$NS_C" smbscopecli timeout 8 smbclient -s "$WORK/cli/smb.conf" "//$SRV4/data" -U "smbuser%$PASS" -c ls \
        >"$WORK/$name.client" 2>&1 || true
    sleep 0.5
    kill -INT -- "-$cap" 2>/dev/null || true
    wait "$cap" 2>/dev/null || true
    log "$name: $(tcpdump -nr "$pcap" 2>/dev/null | wc -l) packets; client said: $(tail -1 "$WORK/$name.client")"
}
scenario race-139-answered ""
scenario race-139-refused "tcp dport 139 reject with tcp reset"
scenario race-139-dropped "tcp dport 139 drop"

# MANIFEST.tsv rows of these captures, from tshark (the other rows stay)
if command -v tshark >/dev/null; then
    rows=$(cd "$OUT" && LC_ALL=C "$HERE/../tests/e2e/tshark_facts.py" --no-header race-139-*.pcap)
    { head -1 "$OUT/MANIFEST.tsv"; { tail -n +2 "$OUT/MANIFEST.tsv" | grep -v '^race-139-'; printf '%s\n' "$rows"; } |
        LC_ALL=C sort -s -t "$(printf '\t')" -k1,1; } >"$OUT/MANIFEST.tsv.new"
    mv "$OUT/MANIFEST.tsv.new" "$OUT/MANIFEST.tsv"
    log "MANIFEST.tsv: race rows from tshark"
fi
