"""many_conns.py - a capture of N short SMB 3.1.1 connections (gen_capture.py --many N).

The template is one real connection, cut by a fixed rule from a sample
(default samples/smb445-smb3_11.pcap, real smbclient against real Samba):

  * the sample's first TCP connection (the first SYN's 4-tuple), IPv4 without
    IP options, Ethernet;
  * kept: every packet up to the server's first SMB2 NEGOTIATE response, then
    every following packet that carries no TCP payload (the client's ACK),
    i.e. everything before the first payload after the NEGOTIATE response;
  * then the connection's own close: every packet from its first FIN on, with
    sequence and acknowledgement numbers moved back by the bytes cut out of
    each direction, placed after the last kept packet with their original
    spacing;
  * the TCP checksums of the template are recomputed (the sample's are
    partial: checksum offload on the capture host), so every packet written
    has valid IPv4 and TCP checksums.

smb445-smb3_11 gives 10 packets, 1,352 file bytes a connection: SYN,
SYN/ACK, ACK, NEGOTIATE request, ACK, NEGOTIATE response (3.1.1), ACK,
FIN/ACK, FIN/ACK, ACK.

Replica c gets client address c mod --clients (10.64.0.0/10, last octet
1..250), server address (client index mod --servers) (10.1.0.0/16, last
octet 1..250; a client always talks to the same server), and client port
32768 + (c div clients) (an ephemeral port that grows per connection of a
client, so every 4-tuple is new).  IPv4 header and TCP checksums are updated
per replica (RFC 1624; one delta per connection and direction-independent,
since the sum of the two addresses and of the two ports is the same both
ways).

Timing: replica c starts at virtual time c * D / overlap, D = the
template's duration, so about `overlap` connections are open at any time and
their packets interleave.  With a constant spacing the packet order is
periodic: one "period" (one new connection) holds exactly one packet j of
connection c - k_j, k_j = t_j div spacing.  The generator therefore writes
one fixed record pattern per connection with a single struct.pack (why it
is fast: about 1 s per 100,000 connections).  Real time is a monotonic warp
of virtual time: every block of 1,000 connections has its own rate
(log-uniform 0.25x to 4x: bursts and lulls), so timestamps stay monotonic
and the order stays the one above.

--rate R stretches time (every packet gap alike) so that on average R
connections start per second: with --rate 500, 170,000 connections span
about 6 minutes and each lasts 64 / 500 s.
--overlap may be below 1: --overlap 0.01 spaces connection starts 100
template durations apart (0.32 s), so 170,000 connections span about 15
hours instead of about 11 s.  smbscope keeps a connection closed by FIN in
its flow table for 60 s of capture time, so the dense default keeps every
connection of the capture there until the end (past --max-connections,
65,536 by default, the oldest are evicted: caps_hit.connections_evicted);
at --rate 500 (170,000 connections over 300 s) none is evicted, at
--rate 1000 48,141 are.
"""

import math
import os
import random
import struct

LINKTYPE_ETHERNET = 1
SNAPLEN = 262144
SMB_PORT = 445
ETH, IP = 14, 14                 # Ethernet header length; IPv4 header offset
TCP = IP + 20                    # TCP header offset (no IP options)
BLOCK = 1000                     # connections per time-warp block


def onesum(data):
    """Ones-complement sum of data's 16-bit little-endian words, folded.
    RFC 1071: the sum is byte-order independent, so checksums are kept in
    the byte order they are written with ("<H") throughout."""
    if len(data) & 1:
        data = bytes(data) + b"\0"
    s = sum(struct.unpack("<%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def tcp_checksum(frame):
    """The correct TCP checksum of an IPv4/TCP frame, as a '<H' value."""
    tot = struct.unpack_from("!H", frame, IP + 2)[0]
    seg = bytearray(frame[TCP:IP + tot])
    seg[16:18] = b"\0\0"
    pseudo = frame[IP + 12:IP + 20] + struct.pack("!BBH", 0, 6, len(seg))
    return (~onesum(pseudo + bytes(seg))) & 0xFFFF


def is_negotiate_response(frame):
    """A server segment whose payload starts with an SMB2 NEGOTIATE response
    (direct TCP header, then FE 'SMB', command 0, SERVER_TO_REDIR flag)."""
    doff = (frame[TCP + 12] >> 4) * 4
    p = frame[TCP + doff:]
    if len(p) < 4 + 20 or p[4:8] != b"\xfeSMB":
        return False
    cmd = struct.unpack_from("<H", p, 4 + 12)[0]
    flags = struct.unpack_from("<I", p, 4 + 16)[0]
    return cmd == 0 and (flags & 1) == 1


def payload_len(frame):
    tot = struct.unpack_from("!H", frame, IP + 2)[0]
    return tot - 20 - (frame[TCP + 12] >> 4) * 4


def cut_template(pkts):
    """pkts: [(ts_us, wirelen, frame)] of an Ethernet sample.  Returns
    [(rel_us, from_client, frame)] by the rule in the module comment."""
    conn = []
    key = None
    for ts, wirelen, f in pkts:
        if len(f) < TCP + 20 or f[12:14] != b"\x08\x00" or f[IP] != 0x45 or f[IP + 9] != 6:
            continue
        ends = (f[IP + 12:IP + 16] + f[TCP:TCP + 2], f[IP + 16:IP + 20] + f[TCP + 2:TCP + 4])
        if key is None and f[TCP + 13] & 0x12 == 0x02:
            key = ends                              # the first SYN: client first
        if key is not None and (ends == key or ends == key[::-1]):
            conn.append((ts, ends == key, bytearray(f)))
    if not conn:
        raise SystemExit("gen_capture --many: no TCP connection in the template sample")
    keep, i, negotiated = [], 0, False
    while i < len(conn):
        ts, fc, f = conn[i]
        if negotiated and payload_len(f) > 0:
            break
        keep.append(conn[i])
        negotiated = negotiated or (not fc and is_negotiate_response(f))
        i += 1
    fin = next((j for j in range(i, len(conn)) if conn[j][2][TCP + 13] & 0x01), None)
    if not negotiated or fin is None:
        raise SystemExit("gen_capture --many: the template sample has no NEGOTIATE response or no FIN")
    # bytes cut out per direction: the next sequence number at the cut
    # against the sequence number of the first packet of the close
    nxt = {}
    for ts, fc, f in keep:
        seq = struct.unpack_from("!I", f, TCP + 4)[0]
        nxt[fc] = (seq + payload_len(f) + (1 if f[TCP + 13] & 0x02 else 0)) & 0xFFFFFFFF
    cut = {}
    for ts, fc, f in conn[fin:]:
        if fc not in cut:
            cut[fc] = (struct.unpack_from("!I", f, TCP + 4)[0] - nxt[fc]) & 0xFFFFFFFF
    for d in (True, False):
        cut.setdefault(d, 0)
    t0 = keep[0][0]
    gap = conn[fin][0] - conn[fin - 1][0]
    out = [(ts - t0, fc, f) for ts, fc, f in keep]
    shift = keep[-1][0] + gap - conn[fin][0]
    for ts, fc, f in conn[fin:]:
        seq, ack = struct.unpack_from("!II", f, TCP + 4)
        struct.pack_into("!II", f, TCP + 4, (seq - cut[fc]) & 0xFFFFFFFF, (ack - cut[not fc]) & 0xFFFFFFFF)
        out.append((ts + shift - t0, fc, f))
    for _, _, f in out:
        struct.pack_into("<H", f, TCP + 16, tcp_checksum(f))
    return out


def client_addr(i):
    return bytes((10, 64 + (i // 64000) % 64, (i // 250) % 256, 1 + i % 250))


def server_addr(i):
    return bytes((10, 1, (i // 250) % 256, 1 + i % 250))


def swap16(v):
    return ((v & 0xFF) << 8) | (v >> 8)


def generate_many(out_path, n, template_path, overlap=64, clients=50000, servers=100, seed=7,
                  read_pcap=None, conn_rate=None):
    """Writes n replicas of the cut template; returns (bytes, packets, n)."""
    linktype, pkts = read_pcap(template_path)
    if linktype != LINKTYPE_ETHERNET:
        raise SystemExit("gen_capture --many: %s is not an Ethernet pcap" % template_path)
    tpl = cut_template(pkts)
    clients = max(1, min(clients, n))
    servers = max(1, min(servers, clients))
    if (n + clients - 1) // clients > 65535 - 32768:
        raise SystemExit("gen_capture --many: more than 32767 connections per client; raise --clients")
    c0 = next(f for _, fc, f in tpl if fc)
    orig_c, orig_s = bytes(c0[IP + 12:IP + 16]), bytes(c0[IP + 16:IP + 20])
    orig_port = struct.unpack_from("!H", c0, TCP)[0]
    if struct.unpack_from("!H", c0, TCP + 2)[0] != SMB_PORT:
        raise SystemExit("gen_capture --many: the template's server port is not 445")
    addr_base = onesum(orig_c + orig_s)
    port_base = swap16(orig_port)

    duration = tpl[-1][0] + 1
    spacing = max(1, int(duration / overlap)) if overlap > 0 else duration
    # per template packet j: lag k_j (periods) and phase r_j within a period
    pk = []
    for j, (t, fc, f) in enumerate(tpl):
        pk.append(dict(j=j, k=t // spacing, r=t % spacing, fc=fc,
                       head=struct.pack("<II", len(f), len(f)) + bytes(f[:IP + 10]),
                       mid=bytes(f[TCP + 4:TCP + 16]), tail=bytes(f[TCP + 18:]),
                       nip=(~struct.unpack_from("<H", f, IP + 10)[0]) & 0xFFFF,
                       ntcp=(~struct.unpack_from("<H", f, TCP + 16)[0]) & 0xFFFF))
    order = sorted(pk, key=lambda p: (p["r"], p["j"]))
    kmax = max(p["k"] for p in pk)

    # per-connection values: (blob client->server, blob server->client,
    # IP checksum delta, TCP checksum delta); blob = src, dst, sport, dport
    caddrs = {}
    saddrs = [server_addr(i) for i in range(servers)]
    sport_be = struct.pack("!H", SMB_PORT)

    def conn_vals(c):
        ci = c % clients
        pair = caddrs.get(ci)
        if pair is None:
            ca, sa = client_addr(ci), saddrs[ci % servers]
            pair = caddrs[ci] = (ca, sa, (onesum(ca + sa) - addr_base) % 0xFFFF)
        ca, sa, dip = pair
        port = 32768 + c // clients
        pb = struct.pack("!H", port)
        dtcp = (dip + swap16(port) - port_base) % 0xFFFF
        return (ca + sa + pb + sport_be, sa + ca + sport_be + pb, dip, dtcp)

    # --rate R: stretch real time so that R connections start per second on
    # average (the mean of the log-uniform rate over [1/4, 4] is 3.75 / ln 16)
    stretch = 1.0
    if conn_rate:
        stretch = 1e6 / (conn_rate * spacing * (3.75 / math.log(16.0)))
    rng = random.Random(seed)
    base_us = 1700000000 * 1000000
    fmt_one = "II%dsH12s%dsH%ds"

    def record_fmt(ps):
        return "<" + "".join(fmt_one % (len(p["head"]), len(p["mid"]), len(p["tail"])) for p in ps)

    full = struct.Struct(record_fmt(order))
    ring = [None] * (kmax + 1)
    written, packets = 24, 0
    with open(out_path, "wb", buffering=8 << 20) as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, SNAPLEN, LINKTYPE_ETHERNET))
        out = []
        pending = 0
        w = 0.0                       # real time of the current period's start (us)
        rate = 1.0
        steady = []                   # (slot lag, from client, head, mid, tail, ~ip ck, ~tcp ck, offset)
        ring_n = kmax + 1
        for i in range(n + kmax):
            if i % BLOCK == 0:
                rate = stretch * math.exp(rng.uniform(math.log(0.25), math.log(4.0)))
                steady = [(p["k"], p["fc"], p["head"], p["mid"], p["tail"], p["nip"], p["ntcp"],
                           int(p["r"] * rate)) for p in order]
            ring[i % ring_n] = conn_vals(i) if i < n else None
            wi = base_us + int(w)
            args = []
            ps = steady
            st = full
            if i < kmax or i >= n:    # the first and last periods: some packets absent
                keep = [0 <= i - p["k"] < n for p in order]
                ps = [q for q, k in zip(steady, keep) if k]
                st = struct.Struct(record_fmt([p for p, k in zip(order, keep) if k]))
            for k, fc, head, mid, tail, nip, ntcp, off in ps:
                cv = ring[(i - k) % ring_n]
                sec, usec = divmod(wi + off, 1000000)
                s = nip + cv[2]
                s2 = ntcp + cv[3]
                args += (sec, usec, head, 0xFFFF - ((s & 0xFFFF) + (s >> 16)), cv[0] if fc else cv[1], mid,
                         0xFFFF - ((s2 & 0xFFFF) + (s2 >> 16)), tail)
            b = st.pack(*args)
            out.append(b)
            written += len(b)
            packets += len(ps)
            pending += len(b)
            if pending >= 4 << 20:
                f.write(b"".join(out))
                out.clear()
                pending = 0
            w += spacing * rate
        f.write(b"".join(out))
    return written, packets, n


def default_template(samples_dir):
    return os.path.join(samples_dir, "smb445-smb3_11.pcap")
