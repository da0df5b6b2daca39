#!/bin/bash
# generate.sh - make the sample captures from a real Samba server and real
# clients (smbclient, nmblookup, impacket), inside two network namespaces
# joined by a veth pair.  Run as root from anywhere:
#
#     sudo samples/generate.sh            # all scenarios
#     sudo samples/generate.sh NAME...    # only the named scenarios
#
# Needs (Debian): samba smbclient tcpdump iproute2 python3-impacket.
# Nothing leaves the namespaces: server 10.213.0.1 / fd00:213::1, client
# 10.213.0.2 / fd00:213::2, and 10.213.0.9 is a silent, non-existent peer
# (static neighbour entry, so SYNs go on the wire and nobody answers).
# The trap deletes the namespaces and kills only the processes started here.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE}
NS_S=${NS_S:-smbscope-srv}
NS_C=${NS_C:-smbscope-cli}
IF_S=vs0
IF_C=vc0
SRV4=10.213.0.1
CLI4=10.213.0.2
GHOST4=10.213.0.9
BCAST4=10.213.0.255
SRV6=fd00:213::1
CLI6=fd00:213::2
USER_NAME=smbuser
USER_PASS='Sm6scope!pw'
CPU=0                      # everything pinned to one CPU: no veth reordering
PY=/usr/bin/python3

MAC_S=02:00:0a:d5:00:01
MAC_C=02:00:0a:d5:00:02
NETNS_OFFLOAD_OFF=1        # no TSO/GSO/GRO: the capture shows wire-sized segments

WORK=$(mktemp -d -t smbscope-gen.XXXXXX)
chmod 0755 "$WORK"   # smbd switches to the sample user to reach the share
# shellcheck source=lib/samba_netns.sh
. "$HERE/lib/samba_netns.sh"   # STARTED_PIDS: process-group leaders we started

log() { printf '[generate] %s\n' "$*" >&2; }

cleanup() {
    set +e
    stop_started
    netns_down
    [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'log "FAILED (exit $?) at line $LINENO: $BASH_COMMAND"' ERR
trap 'exit 130' INT TERM

for tool in smbd nmbd smbclient nmblookup tcpdump ip taskset unshare setsid; do
    command -v "$tool" >/dev/null || { echo "generate.sh: $tool not found" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "generate.sh: run as root" >&2; exit 2; }
$PY -c 'import impacket' 2>/dev/null || { echo "generate.sh: $PY cannot import impacket" >&2; exit 2; }

# --- identity: a private passwd/group bind-mounted over /etc inside a private
# mount namespace, so the host's user database is never touched; in_ns and
# bg_ns (lib/samba_netns.sh) run everything pinned to CPU (no veth reordering)
# under a fixed host name (it goes on the wire: NTLMSSP DNS computer name).
ns_identity "$USER_NAME" 30213
CPU_LIST=$CPU

# --- network ---------------------------------------------------------------
setup_net() {
    netns_up net.ipv4.tcp_timestamps=1 net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
    # a peer that never answers: frames go out, the MAC belongs to nobody
    ip netns exec "$NS_C" ip neigh replace "$GHOST4" lladdr 02:00:0a:d5:00:09 dev "$IF_C" nud permanent
    sleep 2   # let MLD/ND link-up chatter pass before any capture
}

# --- Samba configuration ---------------------------------------------------
# write_server_conf PORTS [extra global lines]
write_server_conf() {
    local ports=$1 extra=${2:-}
    local d=$WORK/srv
    mkdir -p "$d/share" "$d/secret"
    chown 30213:30213 "$d/share" "$d/secret"
    samba_server_conf "$d" SMBSCOPESRV <<EOF
    server string = smbscope sample server
    interfaces = $IF_S
    bind interfaces only = yes
    smb ports = $ports
    server min protocol = NT1
    server max protocol = SMB3_11
    log level = 1
    disable netbios = no
    dns proxy = no
    wins support = no
    local master = yes
    preferred master = yes
    os level = 33
    domain master = no
    map to guest = never
    usershare path =
    kernel oplocks = no
$extra
[data]
    path = $d/share
    read only = no
    force user = $USER_NAME
[secret]
    path = $d/secret
    read only = no
    force user = $USER_NAME
    smb encrypt = required
EOF
}

write_client_conf() {
    local d=$WORK/cli
    samba_client_conf "$d" SMBSCOPECLI <<EOF
    interfaces = $IF_C
    bind interfaces only = yes
    name resolve order = host bcast
    disable netbios = no
EOF
    # fixed content: 1 KiB text file and a 600 KiB pseudo-random file from a fixed seed
    $PY - "$d" <<'EOF'
import random, sys
d = sys.argv[1]
with open(d + "/hello.txt", "w") as f:
    f.write(("smbscope sample file, fixed content.\n" * 28)[:1024])
r = random.Random(213)
with open(d + "/bulk.bin", "wb") as f:
    f.write(bytes(r.getrandbits(8) for _ in range(600 * 1024)))
EOF
}

SMBD_PID=
NMBD_PID=
start_smbd() { # start_smbd PORTS [extra]
    write_server_conf "$@"
    rm -f "$WORK/srv/private/passdb.tdb"
    printf '%s\n%s\n' "$USER_PASS" "$USER_PASS" | in_ns "$NS_S" smbpasswd -c "$WORK/srv/smb.conf" -a -s "$USER_NAME" >/dev/null
    smbd_up "$WORK/srv/smb.conf" "$WORK/srv/log/smbd.out" "${1%% *}" || { log "smbd did not start"; return 1; }
}
stop_smbd() { [ -n "$SMBD_PID" ] && stop_pid "$SMBD_PID"; SMBD_PID=; }
start_nmbd() {
    [ -f "$WORK/srv/smb.conf" ] || write_server_conf 445
    bg_ns "$NS_S" "$WORK/srv/log/nmbd.out" nmbd -F --no-process-group -s "$WORK/srv/smb.conf" --debug-stdout
    NMBD_PID=$BG_PID
    wait_port "$NS_S" udp 137 nmbd && return 0
    log "nmbd did not start"; cat "$WORK/srv/log/nmbd.out" >&2; return 1
}
# nmbd ignores broadcast queries for names it is still registering (about 5 s
# of registration broadcasts): wait, uncaptured, until it answers one.
wait_nmbd_ready() {
    local i
    for i in $(seq 20); do
        in_ns "$NS_C" nmblookup -s "$WORK/cli/smb.conf" -B "$BCAST4" SMBSCOPESRV >/dev/null 2>&1 && return 0
        sleep 1
    done
    log "nmbd never answered a broadcast query"; return 1
}
stop_nmbd() { [ -n "$NMBD_PID" ] && stop_pid "$NMBD_PID"; NMBD_PID=; }

# --- capture ---------------------------------------------------------------
CAP_PID=
CAP_FILE=
CAP_ERR=
# cap_start NAME [tcpdump options...]: capture on the client's veth unless
# options say otherwise (-i any).  Default: immediate mode, full snaplen.
cap_start() {
    local name=$1; shift
    CAP_FILE=$WORK/$name
    CAP_ERR=$WORK/$name.err
    local iface=(-i "$IF_C") opts=("$@")
    case " ${opts[*]} " in *" -i "*) iface=();; esac
    case " ${opts[*]} " in *" --no-immediate "*)
        opts=("${opts[@]/--no-immediate/}");;
        *) opts+=(--immediate-mode);; esac
    local clean=() o
    for o in "${opts[@]}"; do [ -n "$o" ] && clean+=("$o"); done
    setsid ip netns exec "$NS_C" taskset -c 1 tcpdump -n -U -Z root "${iface[@]}" "${clean[@]}" -w "$CAP_FILE" \
        >"$CAP_ERR" 2>&1 </dev/null &
    CAP_PID=$!
    STARTED_PIDS+=("$CAP_PID")
    local i
    for i in $(seq 100); do grep -qs 'listening on' "$CAP_ERR" && break; sleep 0.05; done
    sleep 0.3
}
cap_stop() {
    sleep "${1:-0.5}"
    stop_pid "$CAP_PID" INT
    local dropped
    dropped=$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$CAP_ERR")
    CAP_DROPPED=${dropped:-0}
    if [ "${dropped:-0}" != 0 ]; then
        log "WARNING: $(basename "$CAP_FILE"): $dropped packets dropped by kernel"
    fi
    install -m 0644 "$CAP_FILE" "$OUT/$(basename "$CAP_FILE")"
    log "$(basename "$CAP_FILE"): $(grep -h 'captured' "$CAP_ERR" | tr '\n' ' ')"
}

# until_no_drops NAME TCPDUMP-OPTS... -- CMD...: capture CMD, again (up to 5
# times) while tcpdump reports packets dropped by the kernel.
until_no_drops() {
    local name=$1; shift
    local opts=() try
    while [ "$1" != "--" ]; do opts+=("$1"); shift; done
    shift
    for try in 1 2 3 4 5; do
        cap_start "$name" "${opts[@]}"
        "$@"
        cap_stop 2
        [ "$CAP_DROPPED" = 0 ] && return 0
        log "$name: retrying (try $try had drops)"
    done
    log "WARNING: $name kept with drops"
}

# --- clients ---------------------------------------------------------------
smbc() { # smbc TARGET_SHARE EXTRA_ARGS... -- COMMANDS
    local share=$1; shift
    local args=() cmds
    while [ "$1" != "--" ]; do args+=("$1"); shift; done
    shift; cmds=$1
    (cd "$WORK/cli" && in_ns "$NS_C" smbclient "$share" -s "$WORK/cli/smb.conf" \
        -U "$USER_NAME%$USER_PASS" "${args[@]}" -c "$cmds") >>"$WORK/client.log" 2>&1 || {
        log "smbclient $share ${args[*]} failed (see below)"; tail -5 "$WORK/client.log" >&2; return 1; }
}
STD_CMDS='ls; put hello.txt hello.txt; get hello.txt hello.back; mkdir newdir; ls; rmdir newdir; del hello.txt'

# --- scenarios -------------------------------------------------------------
sc_smb445() { # one per dialect: direct SMB on 445
    start_smbd "445 139 8445"
    local p f min
    for p in NT1 SMB2_02 SMB2_10 SMB3_00 SMB3_02 SMB3_11; do
        f=smb445-$(echo "$p" | tr 'A-Z' 'a-z').pcap
        min=SMB2_02; [ "$p" = NT1 ] && min=NT1
        cap_start "$f" "tcp port 445"
        smbc "//$SRV4/data" -p 445 -m "$p" --option="client min protocol=$min" -- "$STD_CMDS"
        cap_stop
    done
    stop_smbd
}
sc_nbt139() { # NBSS on 139, SMB1 and SMB 3.1.1
    start_smbd "445 139 8445"
    cap_start nbt139-nt1.pcap "tcp port 139"
    smbc "//$SRV4/data" -p 139 -m NT1 --option="client min protocol=NT1" -- "$STD_CMDS"
    cap_stop
    cap_start nbt139-smb3_11.pcap "tcp port 139"
    smbc "//$SRV4/data" -p 139 -m SMB3_11 -- "$STD_CMDS"
    cap_stop
    stop_smbd
}
sc_altport() { # direct SMB on 8445
    start_smbd "445 139 8445"
    cap_start smb8445-smb3_11.pcap "tcp port 8445"
    smbc "//$SRV4/data" -p 8445 -m SMB3_11 -- "$STD_CMDS"
    cap_stop
    stop_smbd
}
sc_protect() { # encryption / signing
    start_smbd "445 139 8445"
    cap_start smb445-encrypt.pcap "tcp port 445"
    smbc "//$SRV4/data" -p 445 -m SMB3_11 --client-protection=encrypt -- "$STD_CMDS"
    cap_stop
    cap_start smb445-share-encrypt.pcap "tcp port 445"
    smbc "//$SRV4/secret" -p 445 -m SMB3_11 -- "$STD_CMDS"
    cap_stop
    cap_start smb445-sign.pcap "tcp port 445"
    smbc "//$SRV4/data" -p 445 -m SMB3_11 --client-protection=sign -- "$STD_CMDS"
    cap_stop
    stop_smbd
}
sc_multiproto() { # SMB1 negotiate offering SMB2, answered 0x02FF, renegotiated
    start_smbd "445 139 8445"
    cap_start smb445-multiproto.pcap "tcp port 445"
    smbc "//$SRV4/data" -p 445 -m SMB3_11 --option="client min protocol=NT1" -- "$STD_CMDS"
    cap_stop
    stop_smbd
}
sc_nbns() { # NBNS queries and datagrams from a running nmbd
    write_server_conf "445 139"
    start_nmbd
    wait_nmbd_ready
    # only the client's conversations: nmbd's own start-up broadcasts are in nbdgm-nmbd-startup.pcap
    cap_start nbns-unicast.pcap "udp port 137 and host $CLI4"
    in_ns "$NS_C" nmblookup -s "$WORK/cli/smb.conf" -U "$SRV4" SMBSCOPESRV >>"$WORK/client.log" 2>&1
    cap_stop
    cap_start nbns-broadcast.pcap "udp port 137 and host $CLI4"
    in_ns "$NS_C" nmblookup -s "$WORK/cli/smb.conf" -B "$BCAST4" SMBSCOPESRV >>"$WORK/client.log" 2>&1
    cap_stop
    cap_start nbns-node-status.pcap "udp port 137 and host $CLI4"
    in_ns "$NS_C" nmblookup -s "$WORK/cli/smb.conf" -A "$SRV4" >>"$WORK/client.log" 2>&1
    cap_stop
    stop_nmbd
}
sc_nmbd_startup() { # nmbd start-up: registrations (137) and browser datagrams (138)
    write_server_conf "445 139"
    rm -rf "$WORK/srv/lock"/* "$WORK/srv/state"/* "$WORK/srv/cache"/*
    cap_start nbdgm-nmbd-startup.pcap "udp port 137 or udp port 138"
    start_nmbd
    sleep "${NMBD_WAIT:-25}"
    cap_stop 0
    stop_nmbd
}
sc_refused() { # NetBIOS attempts that are refused or unanswered
    stop_smbd; stop_nmbd
    # nothing listens on the server: SYN to 139 -> RST
    cap_start netbios-refused-tcp139.pcap "tcp port 139"
    in_ns "$NS_C" smbclient "//$SRV4/data" -p 139 -s "$WORK/cli/smb.conf" -N -c ls >>"$WORK/client.log" 2>&1 || true
    cap_stop
    # no nmbd: NBNS query -> ICMP port unreachable
    cap_start netbios-refused-udp137.pcap "udp port 137 or icmp"
    in_ns "$NS_C" nmblookup -s "$WORK/cli/smb.conf" -U "$SRV4" SMBSCOPESRV >>"$WORK/client.log" 2>&1 || true
    cap_stop
    # a silent host: SYN to 139 unanswered (the kernel retransmits)
    cap_start netbios-noanswer-tcp139.pcap "tcp port 139"
    in_ns "$NS_C" timeout -s INT 3.5 smbclient "//$GHOST4/data" -p 139 -s "$WORK/cli/smb.conf" -N -c ls \
        >>"$WORK/client.log" 2>&1 || true
    cap_stop
    # a silent host: NBNS query unanswered
    cap_start netbios-noanswer-udp137.pcap "udp port 137"
    in_ns "$NS_C" nmblookup -s "$WORK/cli/smb.conf" -U "$GHOST4" SMBSCOPESRV >>"$WORK/client.log" 2>&1 || true
    cap_stop
}
sc_negative() { # NBSS negative session response: calling name type 0x52
    start_smbd "445 139 8445"
    cap_start nbss-negative.pcap "tcp port 139"
    in_ns "$NS_C" $PY "$HERE/impacket_client.py" negative "$SRV4" >>"$WORK/client.log" 2>&1
    cap_stop
    stop_smbd
}
sc_impacket() { # other client implementation; NBSS on non-139 ports; *SMBSERVER NBSTAT
    start_smbd "445 139 8445"
    cap_start impacket-445.pcap "tcp port 445"
    in_ns "$NS_C" $PY "$HERE/impacket_client.py" direct "$SRV4" "$USER_NAME" "$USER_PASS" >>"$WORK/client.log" 2>&1
    cap_stop
    cap_start nbss-on-8445.pcap "tcp port 8445"
    in_ns "$NS_C" $PY "$HERE/impacket_client.py" nbss-port "$SRV4" 8445 "$USER_NAME" "$USER_PASS" >>"$WORK/client.log" 2>&1
    cap_stop
    cap_start nbss-on-445.pcap "tcp port 445"
    in_ns "$NS_C" $PY "$HERE/impacket_client.py" nbss-port "$SRV4" 445 "$USER_NAME" "$USER_PASS" >>"$WORK/client.log" 2>&1
    cap_stop
    # nmbd is not running: the NBSTAT query for *SMBSERVER meets ICMP port unreachable
    cap_start impacket-smbserver-139.pcap "udp port 137 or icmp or tcp port 139"
    in_ns "$NS_C" $PY "$HERE/impacket_client.py" smbserver "$SRV4" "$USER_NAME" "$USER_PASS" >>"$WORK/client.log" 2>&1
    cap_stop
    stop_smbd
}
sc_midstream() { # the capture starts while an SMB3 session is open (handshake unseen)
    start_smbd "445 139 8445"
    { echo ls; sleep 2; echo "put hello.txt hello.txt"; echo "get hello.txt hello.back"; echo ls; \
      echo "del hello.txt"; echo quit; } | (cd "$WORK/cli" && in_ns "$NS_C" smbclient "//$SRV4/data" \
        -s "$WORK/cli/smb.conf" -U "$USER_NAME%$USER_PASS" -p 445 -m SMB3_11) >>"$WORK/client.log" 2>&1 &
    local client=$!
    sleep 1
    cap_start smb445-midstream.pcap "tcp port 445"
    wait "$client" || true
    cap_stop
    stop_smbd
}
sc_mixed() { # name query, then a 139 session, then a 445 session
    start_smbd "445 139 8445"
    start_nmbd
    wait_nmbd_ready
    # the client's traffic only: nmbd's own start-up broadcasts would make it timing-dependent
    cap_start mixed-nbns-139-445.pcap "(udp port 137 and host $CLI4) or tcp port 139 or tcp port 445"
    in_ns "$NS_C" nmblookup -s "$WORK/cli/smb.conf" -U "$SRV4" SMBSCOPESRV >>"$WORK/client.log" 2>&1
    smbc "//$SRV4/data" -p 139 -m SMB3_11 -- "ls"
    smbc "//$SRV4/data" -p 445 -m SMB3_11 -- "ls"
    cap_stop
    stop_nmbd
    stop_smbd
}
sc_ipv6() {
    start_smbd "445 139 8445"
    cap_start smb445-ipv6.pcap "tcp port 445"
    smbc "//SMBSCOPESRV/data" -I "$SRV6" -p 445 -m SMB3_11 -- "$STD_CMDS"
    cap_stop
    stop_smbd
}
sc_linktypes() { # Linux cooked captures (SLL2 default on -i any, SLL v1) and a 96-byte snaplen
    start_smbd "445 139 8445"
    # -i any drops packets in immediate mode here: block mode, a big buffer, retries
    until_no_drops smb445-any-sll2.pcap --no-immediate -B 8192 -i any "tcp port 445" \
        -- smbc "//$SRV4/data" -p 445 -m SMB3_11 -- "$STD_CMDS"
    until_no_drops smb445-any-sll.pcap --no-immediate -B 8192 -i any -y LINUX_SLL "tcp port 445" \
        -- smbc "//$SRV4/data" -p 445 -m SMB3_11 -- "$STD_CMDS"
    until_no_drops smb445-snaplen96.pcap -s 96 "tcp port 445" \
        -- smbc "//$SRV4/data" -p 445 -m SMB3_11 -- "$STD_CMDS"
    stop_smbd
}
sc_bulk() { # 600 KiB put/get: PDUs span many segments (block mode: no drops)
    start_smbd "445 139 8445"
    until_no_drops smb445-bulk.pcap --no-immediate -B 8192 "tcp port 445" \
        -- smbc "//$SRV4/data" -p 445 -m SMB3_11 -- "put bulk.bin bulk.bin; get bulk.bin bulk.back; del bulk.bin"
    cmp -s "$WORK/cli/bulk.bin" "$WORK/cli/bulk.back" || log "WARNING: bulk transfer mismatch"
    stop_smbd
}
sc_formats() { # other file formats of the same bytes: pcapng (editcap) and gzip'd pcap
    [ -f "$OUT/smb445-smb3_11.pcap" ] || sc_smb445
    editcap -F pcapng "$OUT/smb445-smb3_11.pcap" "$OUT/smb445-smb3_11.pcapng"
    gzip -9 -n -c "$OUT/nbt139-smb3_11.pcap" >"$OUT/nbt139-smb3_11.pcap.gz"
    chmod 0644 "$OUT/smb445-smb3_11.pcapng" "$OUT/nbt139-smb3_11.pcap.gz"
    log "smb445-smb3_11.pcapng, nbt139-smb3_11.pcap.gz written"
}
sc_rdma() { # SMB Direct (iWARP, RoCEv2) hand-built around smb445-smb3_11.pcap's SMB2 messages (gen-rdma.py)
    [ -f "$OUT/smb445-smb3_11.pcap" ] || sc_smb445
    $PY "$HERE/gen-rdma.py" --source "$OUT/smb445-smb3_11.pcap" --out "$OUT"
    # A capture begun mid-connection: the TCP handshake and the MPA
    # request/reply (frames 1-5) cut away.  tshark's MPA dissector only
    # dissects FPDUs after a startup it saw, so MANIFEST.tsv takes this
    # file's facts from tshark's dissection of the frames it was cut from
    # (NAME.origin: source capture and first frame; tshark_facts.py checks
    # the frames are identical).
    local n; n=$(capinfos -c -M "$OUT/rdma-iwarp-5445.pcap" | awk '/Number of packets/ {print $NF}')
    editcap -r "$OUT/rdma-iwarp-5445.pcap" "$OUT/rdma-iwarp-midstream-5445.pcap" "6-$n"
    echo "rdma-iwarp-5445.pcap 6" >"$OUT/rdma-iwarp-midstream-5445.origin"
    log "rdma-iwarp-midstream-5445.pcap written"
}
sc_keepalive() { # idle SMB1 sessions: smbd sends NBSS keep-alives (0x85), on 445 (direct) and on 139
    start_smbd "445 139 8445" "    keepalive = 2"
    local port f
    for port in 445 139; do
        if [ "$port" = 445 ]; then f=smb445-nt1-keepalive.pcap; else f=nbt139-nt1-keepalive.pcap; fi
        cap_start "$f" "tcp port $port"
        # commands on stdin with a pause: the session idles for 5 s
        { echo ls; sleep 5; echo ls; echo quit; } | (cd "$WORK/cli" && in_ns "$NS_C" smbclient "//$SRV4/data" \
            -s "$WORK/cli/smb.conf" -U "$USER_NAME%$USER_PASS" -p "$port" -m NT1 --option="client min protocol=NT1") \
            >>"$WORK/client.log" 2>&1
        cap_stop
    done
    stop_smbd
}
sc_failures() { # a wrong password and a share listing (IPC$ + srvsvc over SMB 3.1.1)
    start_smbd "445 139 8445"
    cap_start smb445-logon-failure.pcap "tcp"
    in_ns "$NS_C" smbclient "//$SRV4/data" -s "$WORK/cli/smb.conf" -U "$USER_NAME%wrong-password" -p 445 -c ls \
        >>"$WORK/client.log" 2>&1 || true
    cap_stop
    cap_start smb445-list-shares.pcap "tcp"
    in_ns "$NS_C" smbclient -L "//$SRV4" -s "$WORK/cli/smb.conf" -U "$USER_NAME%$USER_PASS" -p 445 \
        >>"$WORK/client.log" 2>&1
    cap_stop
    stop_smbd
}
sc_reorder() { # bulk transfer with smbd and the client on DIFFERENT CPUs: veth may deliver out of order
    local CPU=1 try n=0
    [ "$(nproc)" -ge 2 ] || { log "reorder needs 2 CPUs"; return 0; }
    start_smbd "445 139 8445"          # smbd on CPU 1
    CPU=0                               # client on CPU 0
    for try in 1 2 3 4 5 6 7 8; do
        cap_start smb445-bulk-reordered.pcap --no-immediate -B 8192 "tcp port 445"
        smbc "//$SRV4/data" -p 445 -m SMB3_11 -- "put bulk.bin bulk.bin; get bulk.bin bulk.back; del bulk.bin"
        cap_stop 2
        n=$(tshark -n -r "$OUT/smb445-bulk-reordered.pcap" -Y tcp.analysis.out_of_order 2>/dev/null | wc -l)
        log "reorder try $try: $n out-of-order segments (drops: $CAP_DROPPED)"
        [ "$n" -gt 0 ] && [ "$CAP_DROPPED" = 0 ] && break
        n=0
    done
    [ "$n" -gt 0 ] || { log "no reordering happened: smb445-bulk-reordered.pcap not kept"; rm -f "$OUT/smb445-bulk-reordered.pcap"; }
    stop_smbd
}

ALL=(smb445 nbt139 altport protect multiproto nbns nmbd_startup refused negative impacket mixed ipv6 linktypes bulk keepalive failures midstream formats rdma)

main() {
    setup_net
    write_client_conf
    : >"$WORK/client.log"
    local s
    for s in "${@:-${ALL[@]}}"; do
        log "scenario $s"
        "sc_$s"
    done
    # the manifest: every fact from tshark's dissection of every capture
    if command -v tshark >/dev/null; then
        local f n
        for f in "$OUT"/*.pcap "$OUT"/*.pcapng "$OUT"/*.pcap.gz; do   # a clean sample has no hole in any TCP stream
            [ -e "$f" ] || continue   # OUT=DIR with some scenarios only
            n=$(tshark -n -r "$f" -Y 'tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment' 2>/dev/null | wc -l)
            [ "$n" = 0 ] || log "WARNING: $(basename "$f"): $n frames with TCP holes"
        done
        (cd "$OUT" && LC_ALL=C "$HERE/../tests/e2e/tshark_facts.py" $(ls *.pcap *.pcapng *.pcap.gz 2>/dev/null | LC_ALL=C sort)) >"$OUT/MANIFEST.tsv.new"
        mv "$OUT/MANIFEST.tsv.new" "$OUT/MANIFEST.tsv"
        log "MANIFEST.tsv: $(($(wc -l <"$OUT/MANIFEST.tsv") - 1)) rows"
    else
        log "tshark not found: MANIFEST.tsv not rebuilt"
    fi
    log "done; captures in $OUT"
}
main "$@"
