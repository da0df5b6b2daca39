# samba_netns.sh - real Samba in network namespaces: what samples/generate.sh,
# samples/gen-race.sh, samples/gen-quic.sh and tests/live/live_check.sh share.
# Source it (bash); it runs nothing by itself.
#
#   netns_up [SYSCTL=VALUE...]  two namespaces joined by a veth pair, addresses,
#                               static neighbours both ways (no ARP/ND chatter)
#   netns_down                  delete both namespaces
#   ns_identity USER UID        a private passwd/group holding USER, bind-mounted
#                               over /etc inside a private mount namespace by
#                               in_ns/bg_ns: the host's user database is never
#                               touched
#   in_ns NS CMD...             run CMD in NS (with that identity once made, under
#                               a fixed host name: it goes on the wire in NTLMSSP)
#   bg_ns NS LOG CMD...         the same in the background in its own process
#                               group; the leader in BG_PID and STARTED_PIDS
#   stop_pid PID [SIG]          stop a process group started here, politely first
#   stop_started                stop every process group still in STARTED_PIDS
#   wait_port NS tcp|udp PORT [PROGRAM]  until something (PROGRAM) listens
#   samba_server_conf DIR NAME  DIR/smb.conf of a standalone server whose state
#   samba_client_conf DIR NAME  (or a client's) lives in DIR; more [global]
#                               lines and the shares come on standard input
#   smbd_up CONF LOG PORT    smbd in NS_S with CONF; waits for PORT
#
# The caller sets WORK, NS_S, NS_C, IF_S, IF_C, SRV4, CLI4, MAC_S, MAC_C and
# may set SRV6 and CLI6 (IPv6 on the veth; without them IPv6 is disabled),
# BCAST4 (the IPv4 broadcast address), NETNS_OFFLOAD_OFF=1 (no TSO/GSO/GRO:
# wire-sized segments in the capture) and CPU_LIST (in_ns/bg_ns pin to it).

STARTED_PIDS=(${STARTED_PIDS[@]+"${STARTED_PIDS[@]}"})
BG_PID=

netns_up() {
    ip netns del "$NS_C" 2>/dev/null || true
    ip netns del "$NS_S" 2>/dev/null || true
    ip netns add "$NS_S"
    ip netns add "$NS_C"
    ip link add "$IF_C" netns "$NS_C" address "$MAC_C" type veth peer name "$IF_S" netns "$NS_S" address "$MAC_S"
    local ns ifc a4 a6 v6
    if [ -n "${SRV6:-}" ]; then
        v6=(net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
            net.ipv6.conf.default.router_solicitations=0 net.ipv6.conf.all.router_solicitations=0)
    else
        v6=(net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1)
    fi
    for ns in "$NS_S" "$NS_C"; do
        if [ "$ns" = "$NS_S" ]; then ifc=$IF_S a4=$SRV4 a6=${SRV6:-}; else ifc=$IF_C a4=$CLI4 a6=${CLI6:-}; fi
        ip netns exec "$ns" sysctl -qw "${v6[@]}" "$@"
        ip netns exec "$ns" ip link set lo up
        ip netns exec "$ns" ip addr add "$a4/24" ${BCAST4:+brd "$BCAST4"} dev "$ifc"
        [ -z "$a6" ] || ip netns exec "$ns" ip -6 addr add "$a6/64" dev "$ifc" nodad
        [ "${NETNS_OFFLOAD_OFF:-}" != 1 ] || ip netns exec "$ns" ethtool -K "$ifc" tso off gso off gro off 2>/dev/null || true
        ip netns exec "$ns" ip link set "$ifc" up
    done
    ip netns exec "$NS_C" ip neigh replace "$SRV4" lladdr "$MAC_S" dev "$IF_C" nud permanent
    ip netns exec "$NS_S" ip neigh replace "$CLI4" lladdr "$MAC_C" dev "$IF_S" nud permanent
    if [ -n "${SRV6:-}" ]; then
        ip netns exec "$NS_C" ip -6 neigh replace "$SRV6" lladdr "$MAC_S" dev "$IF_C" nud permanent
        ip netns exec "$NS_S" ip -6 neigh replace "$CLI6" lladdr "$MAC_C" dev "$IF_S" nud permanent
    fi
}

netns_down() {
    ip netns del "$NS_C" 2>/dev/null
    ip netns del "$NS_S" 2>/dev/null
    return 0
}

ns_identity() {
    mkdir -p "$WORK/etc"
    { grep '^root:' /etc/passwd; echo "$1:x:$2:$2:smbscope sample user:/nonexistent:/usr/sbin/nologin"; } >"$WORK/etc/passwd"
    { grep '^root:' /etc/group; echo "$1:x:$2:"; } >"$WORK/etc/group"
}

# host name, bind mounts, CPU pinning: sh -c "$NS_WRAP" ETC HOST CMD...
NS_WRAP='hostname "$1" && mount --bind "$0/passwd" /etc/passwd && mount --bind "$0/group" /etc/group && shift &&
    if [ -n "$CPU_LIST" ]; then exec taskset -c "$CPU_LIST" "$@"; else exec "$@"; fi'
ns_host() { if [ "$1" = "$NS_S" ]; then echo smbscopesrv; else echo smbscopecli; fi; }
# ns_cmd NS CMD...: the command line that runs CMD in NS, in NS_CMD
ns_cmd() {
    local ns=$1; shift
    if [ -f "$WORK/etc/passwd" ]; then
        NS_CMD=(ip netns exec "$ns" unshare -m -u --propagation private sh -c "$NS_WRAP" "$WORK/etc" "$(ns_host "$ns")" "$@")
    else
        NS_CMD=(ip netns exec "$ns" "$@")
    fi
}
in_ns() {
    ns_cmd "$@"
    CPU_LIST=${CPU_LIST:-} "${NS_CMD[@]}"
}
bg_ns() {
    local ns=$1 logf=$2; shift 2
    ns_cmd "$ns" "$@"
    CPU_LIST=${CPU_LIST:-} setsid "${NS_CMD[@]}" >"$logf" 2>&1 </dev/null &
    BG_PID=$!
    STARTED_PIDS+=("$BG_PID")
}

stop_pid() {
    local pid=$1 sig=${2:-TERM} i
    kill "-$sig" -- "-$pid" 2>/dev/null || true
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    local n=() p
    for p in ${STARTED_PIDS[@]+"${STARTED_PIDS[@]}"}; do [ "$p" = "$pid" ] || n+=("$p"); done
    STARTED_PIDS=(${n[@]+"${n[@]}"})
}

# stop_started: every process group still in STARTED_PIDS, then the helpers
# smbd started in sessions of their own (samba-dcerpcd and its rpcd_* workers,
# for a share listing): the processes whose configuration is one of WORK's.
stop_started() {
    local p helpers
    for p in ${STARTED_PIDS[@]+"${STARTED_PIDS[@]}"}; do kill -TERM -- "-$p" 2>/dev/null; done
    sleep 0.5
    for p in ${STARTED_PIDS[@]+"${STARTED_PIDS[@]}"}; do kill -KILL -- "-$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    STARTED_PIDS=()
    helpers=$(pgrep -f -- "--configfile=$WORK/" || true)
    for p in $helpers; do kill -TERM "$p" 2>/dev/null; done
    return 0
}

wait_port() {
    local ns=$1 proto=$2 port=$3 prog=${4:-} i flag=-Htlnp
    [ "$proto" = udp ] && flag=-Hulnp
    for i in $(seq 100); do
        ip netns exec "$ns" ss $flag "sport = :$port" | grep -q "${prog:-.}" && return 0
        sleep 0.1
    done
    return 1
}

# samba_server_conf DIR NAME <<EOF  (more [global] lines, then the shares)
samba_server_conf() {
    local d=$1
    mkdir -p "$d"/{lock,state,cache,private,pid,ncalrpc,log}
    {
        cat <<EOF
[global]
    netbios name = $2
    workgroup = SMBSCOPE
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
EOF
        cat
    } >"$d/smb.conf"
}

# samba_client_conf DIR NAME <<EOF  (more [global] lines)
samba_client_conf() {
    local d=$1
    mkdir -p "$d"/{lock,state,cache,private,pid}
    {
        cat <<EOF
[global]
    netbios name = $2
    workgroup = SMBSCOPE
    lock directory = $d/lock
    state directory = $d/state
    cache directory = $d/cache
    private dir = $d/private
    pid directory = $d/pid
EOF
        cat
    } >"$d/smb.conf"
}

# smbd_up CONF LOG PORT: smbd in the server namespace, in the foreground
# of its own process group (it signals its whole group when it ends).
smbd_up() {
    bg_ns "$NS_S" "$2" smbd -F --no-process-group -s "$1" --debug-stdout
    SMBD_PID=$BG_PID
    wait_port "$NS_S" tcp "$3" && return 0
    cat "$2" >&2
    return 1
}
