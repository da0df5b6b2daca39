#!/usr/bin/python3
"""tshark_facts.py - per-connection SMB / NetBIOS facts of a capture, as tshark sees them.

This is the reference side of smbscope's tests: every fact comes from
tshark's dissection (one `tshark -T fields` pass per capture), never from
smbscope and never from reading packet bytes here.  It builds
samples/MANIFEST.tsv and lets tests cross-check smbscope's report.

Usage:
    tshark_facts.py CAPTURE... [--json] [--no-header] [--nbss-port N]...

One row per TCP connection (tshark's tcp.stream) that carries SMB or NBSS or
has port 139 at either end, one row per NetBIOS UDP flow (UDP port 137,
138 or 139 at the server end), and one row per RoCEv2 queue-pair pair that
carries SMB Direct (kind udp, transport rdma-roce).  TSV columns (tab-separated, `-` for empty):

  file                  capture base name
  kind                  tcp | udp | quic (QUIC rows: tshark_quic.py)
  client, client_port   TCP: sender of the SYN (else receiver of the SYN-ACK,
                        else the end that is not on a well-known SMB/NetBIOS
                        port); UDP: sender of the first datagram of the flow
  server, server_port   the other end (UDP: may be a broadcast address; an
                        answer from another address than the one asked, as
                        to a broadcast query, is a row of its own that marks
                        the query's row answered)
  transport             direct | nbt | nbt-nonstandard-port | unknown-start |
                        rdma-iwarp | rdma-roce | -
                        rdma-iwarp: tshark dissected iwarp_mpa on the
                        connection (SMB Direct over iWARP, any port);
                        rdma-roce: SMB Direct over RoCEv2 (UDP 4791; client =
                        sender of the SMBD negotiate request, client_port its
                        UDP source port).  Otherwise rule order (same as
                        dissector/transport/classify.c); `-` when
                        the connection carried neither NBSS nor SMB:
                        1. NBSS session request/positive/negative/retarget
                           (0x81-0x84) seen: nbt on server port 139, else
                           nbt-nonstandard-port;
                        2. server port 139: nbt;
                        3. neither SYN nor SYN-ACK captured: unknown-start;
                        4. direct.    (`-` for UDP rows)
  smb1_dialects_offered SMB1 NEGOTIATE request dialect strings, |-joined
  dialects_offered      SMB2 dialects of the first SMB2 NEGOTIATE request
                        (short names 2.0.2, 2.1, 3.0, 3.0.2, 3.1.1, 2.x ...);
                        without one, the SMB2 strings of the SMB1 offer
                        ("SMB 2.002" -> 2.0.2, "SMB 2.???" -> 2.x)
  dialect               final choice: the dialect of the last SMB2 NEGOTIATE
                        response, else the SMB1 string the SMB1 response's
                        DialectIndex points to (resolved against the offer)
  smb_version           1 | 2 | 3 from the final dialect (1 also when only SMB1
                        headers were seen); `-` when unknown
  netbios_service       nbns (137) | nbdgm (138) | nbss (TCP 139 or NBSS
                        session setup seen) | -
  netbios_state         TCP: established (SYN-ACK or data from both sides),
                        refused (RST or ICMP unreachable, no SYN-ACK),
                        no-answer (nothing back);
                        UDP: refused (ICMP port/host unreachable), datagram
                        (answered, or not a query: registrations, browser
                        announcements ...), no-answer (only NBNS queries,
                        nothing back)
  packets               frames of this connection/flow (ICMP errors included)
  nbss_types            NBSS message types tshark saw, type:count, |-joined
                        (0x00 is also how tshark labels direct-TCP framing)
  encrypted_pdus        SMB2 TRANSFORM headers (protocol id 0xfd534d42)
  signed_pdus           SMB2 headers with the SIGNED flag
  note                  things worth knowing (automatic, `;`-joined)
  sni, alpn, quic_version  QUIC rows only (kind quic, see tshark_quic.py):
                        the first ClientHello's SNI and ALPN list, QUIC version

With --json: a JSON list of objects with the same keys (numbers as numbers).
Exit status: 0 ok, 2 on usage error or when tshark fails.
"""

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tshark_quic  # noqa: E402  (QUIC rows: kind quic)

COLUMNS = [
    "file", "kind", "client", "client_port", "server", "server_port", "transport",
    "smb1_dialects_offered", "dialects_offered", "dialect", "smb_version",
    "netbios_service", "netbios_state", "packets", "nbss_types",
    "encrypted_pdus", "signed_pdus", "note", "sni", "alpn", "quic_version",
]

# Field order of the tshark run; every value is a '|'-joined list of occurrences.
FIELDS = [
    "frame.number", "frame.protocols", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
    "tcp.stream", "tcp.srcport", "tcp.dstport", "tcp.flags.syn", "tcp.flags.ack",
    "tcp.flags.reset",
    "udp.srcport", "udp.dstport",
    "icmp.type", "icmp.code", "icmpv6.type", "icmpv6.code",
    "nbss.type", "nbss.error_code",
    "smb.cmd", "smb.flags.response", "smb.dialect", "smb.dialect.index",
    "smb2.protocol_id", "smb2.cmd", "smb2.flags.response", "smb2.dialect",
    "smb2.flags.signature",
    "nbns.flags.response", "nbns.flags.opcode", "nbns.id", "nbdgm.type",
    "infiniband.bth.destqp", "smb_direct.version.min", "smb_direct.version.negotiated",
]

SMB2_DIALECTS = {  # same short names as dissector/smb/dialect.c
    0x0202: ("2.0.2", 2), 0x0210: ("2.1", 2), 0x0222: ("2.2.2", 3),
    0x0224: ("2.2.4", 3), 0x02FF: ("2.x", 2), 0x0300: ("3.0", 3),
    0x0302: ("3.0.2", 3), 0x0310: ("3.1.0", 3), 0x0311: ("3.1.1", 3),
}
SMB1_TO_SMB2 = {"SMB 2.002": 0x0202, "SMB 2.???": 0x02FF}
NBSS_NAMES = {0x00: "message", 0x81: "request", 0x82: "positive", 0x83: "negative",
              0x84: "retarget", 0x85: "keepalive"}
NBSS_SETUP = (0x81, 0x82, 0x83, 0x84)
NETBIOS_UDP = {137: "nbns", 138: "nbdgm", 139: "nbss"}
WELL_KNOWN_TCP = (139, 445)


def dialect_name(code):
    d = SMB2_DIALECTS.get(code)
    return d[0] if d else "0x%04x" % code


def dialect_version(code):
    d = SMB2_DIALECTS.get(code)
    return d[1] if d else (3 if code >= 0x0300 else 2)


def num(text):
    """tshark prints integers in decimal or 0x-hex; booleans as 1/0 (or True/False)."""
    if text in ("True", "true"):
        return 1
    if text in ("False", "false"):
        return 0
    return int(text, 0)


def run_tshark(tshark, capture, nbss_ports):
    # artemis claims TCP 5445 (SMB Direct's iWARP port) before iwarp_mpa's heuristic
    cmd = [tshark, "-n", "-r", capture, "--disable-protocol", "artemis", "-T", "fields",
           "-E", "occurrence=a", "-E", "aggregator=|", "-E", "separator=/t"]
    for port in nbss_ports:
        cmd += ["-d", "tcp.port==%d,nbss" % port]
    for f in FIELDS:
        cmd += ["-e", f]
    env = dict(os.environ, LC_ALL="C")
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RuntimeError("tshark failed on %s: %s" % (capture, err[-1] if err else "exit %d" % proc.returncode))
    for line in proc.stdout.decode("utf-8", "replace").split("\n"):
        if not line:
            continue
        vals = line.split("\t")
        vals += [""] * (len(FIELDS) - len(vals))
        yield {f: (v.split("|") if v != "" else []) for f, v in zip(FIELDS, vals)}


class TcpConn:
    def __init__(self, stream):
        self.stream = stream
        self.first_frame = None
        self.packets = 0
        self.ends = {}            # (addr, port) -> frames sent
        self.syn_from = None      # (addr, port) of the SYN sender
        self.synack_to = None
        self.rst_from = set()
        self.icmp_refused = False
        self.nbss = {}            # type -> count
        self.nbss_negative_codes = []
        self.smb1_seen = False
        self.smb2_seen = False
        self.smb1_offer = None    # list of strings of the first SMB1 NEGOTIATE request
        self.smb1_choice = None   # string (or note) of the SMB1 NEGOTIATE response
        self.smb1_index_bad = None
        self.smb2_offer = None    # codes of the first SMB2 NEGOTIATE request
        self.smb2_choice = None   # code of the last SMB2 NEGOTIATE response
        self.smb2_choices = []
        self.encrypted = 0
        self.signed = 0
        self.notes = []
        self.iwarp = False        # an MPA request/reply or FPDU seen (SMB Direct over iWARP)


class RoceConn(TcpConn):
    """One RC queue-pair pair of RoCEv2 (UDP 4791) between two addresses."""

    def __init__(self, key):
        TcpConn.__init__(self, key)
        self.halves = []          # (src, dst, destqp) of each direction, in order of appearance
        self.client = None        # (addr, UDP source port) of the SMBD negotiate request sender
        self.server = None


class UdpFlow:
    def __init__(self, client, server, service_port):
        self.client = client          # (addr, port)
        self.server = server          # addr
        self.service_port = service_port
        self.first_frame = None
        self.packets = 0
        self.requests = 0
        self.queries_only = True
        self.answers_from = set()
        self.icmp = None              # description of the ICMP error, if any
        self.request_missing = False  # first packet seen was an answer
        self.answer_to = None         # the address a broadcast query went to
        self.pending_ids = set()      # NBNS name-query transaction ids not answered yet


def locate(row, proto):
    """Addresses and ports of the innermost `proto` (tcp/udp) layer of a frame.

    frame.protocols gives the layer chain (e.g. eth:ethertype:ip:udp:teredo:
    ipv6:tcp:nbss:smb2, or eth:ethertype:ip:icmp:ip:udp:nbns for an ICMP error
    quoting a datagram).  The network layer that carries the transport is the
    nearest ip/ipv6 before it; its occurrence number picks the right value
    among the aggregated ip.src / ipv6.src occurrences.  Tunnels and ICMP
    quotes are thereby handled alike.  Returns (src, dst, sport, dport) or None.
    """
    chain = row["frame.protocols"][0].split(":") if row["frame.protocols"] else []
    where = [i for i, p in enumerate(chain) if p == proto]
    if not where:
        return None
    pos, t_occ = where[-1], len(where) - 1
    for j in range(pos - 1, -1, -1):
        if chain[j] in ("ip", "ipv6"):
            net, n_occ = chain[j], chain[:j].count(chain[j])
            break
    else:
        return None

    def pick(field, occ):
        vals = row[field]
        return vals[occ] if occ < len(vals) else (vals[-1] if vals else None)

    src, dst = pick(net + ".src", n_occ), pick(net + ".dst", n_occ)
    sport, dport = pick(proto + ".srcport", t_occ), pick(proto + ".dstport", t_occ)
    if None in (src, dst, sport, dport):
        return None
    return src, dst, num(sport), num(dport)


def origin_of(capture, tshark):
    """(source capture, first frame) when NAME.origin lies beside NAME.pcap: a
    capture cut from another one (editcap -r) whose facts tshark can only
    give in the source's context (a mid-stream iWARP cut: tshark's MPA
    dissector needs the MPA startup it missed).  The cut's frames must be
    the source's frames from first on, byte for byte (tshark's MD5 of each
    frame)."""
    path = os.path.splitext(capture)[0] + ".origin"
    if not os.path.exists(path):
        return None
    src, first = open(path).read().split()
    src = os.path.join(os.path.dirname(capture), src)
    first = int(first)

    def hashes(cap):
        out = subprocess.run([tshark, "-n", "-r", cap, "-o", "frame.generate_md5_hash:TRUE", "-T", "fields",
                              "-e", "frame.md5_hash"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             check=True).stdout.decode().split()
        return out
    if hashes(capture) != hashes(src)[first - 1:]:
        raise RuntimeError("%s is not frames %d.. of %s" % (capture, first, src))
    return src, first


def facts(capture, tshark="tshark", nbss_ports=(8445,)):
    origin = origin_of(capture, tshark)
    if origin:
        # tshark dissects the whole source (state from the frames before the
        # cut); only the frames the cut kept count
        return facts_of(origin[0], os.path.basename(capture), tshark, nbss_ports, origin[1])
    return facts_of(capture, os.path.basename(capture), tshark, nbss_ports, 1)


def facts_of(capture, name, tshark, nbss_ports, first_frame):
    conns = {}
    flows = {}
    flow_order = []
    roce = []
    saw_quic = False
    for row in run_tshark(tshark, capture, nbss_ports):
        frame = num(row["frame.number"][0])
        if frame < first_frame:
            continue
        if row["icmp.type"] or row["icmpv6.type"]:
            # only destination-unreachable errors matter; other ICMP (echo,
            # time exceeded, neighbour discovery) is no SMB/NetBIOS fact
            if ((row["icmp.type"] and num(row["icmp.type"][0]) == 3) or
                    (row["icmpv6.type"] and num(row["icmpv6.type"][0]) == 1)):
                handle_icmp(row, frame, conns, flows)
            continue
        chain = row["frame.protocols"][0].split(":") if row["frame.protocols"] else []
        saw_quic = saw_quic or "quic" in chain
        if "tcp" in chain and row["tcp.stream"]:
            handle_tcp(row, frame, conns)
        elif "udp" in chain and "infiniband" in chain:
            handle_roce(row, frame, roce)
        elif "udp" in chain:
            handle_udp(row, frame, flows, flow_order)
    out = []
    for c in conns.values():
        r = tcp_row(name, c)
        if r:
            out.append((c.first_frame, r))
    for c in roce:
        r = roce_row(name, c)
        if r:
            out.append((c.first_frame, r))
    for key in flow_order:
        out.append((flows[key].first_frame, udp_row(name, flows[key])))
    if saw_quic:
        for first, r in tshark_quic.quic_rows(capture, tshark, dialect_name, dialect_version):
            r["file"] = name
            out.append((first, r))
    out.sort(key=lambda t: t[0])
    for _, r in out:  # QUIC-only columns
        for col in ("sni", "alpn", "quic_version"):
            r.setdefault(col, "-")
    return [r for _, r in out]


def handle_icmp(row, frame, conns, flows):
    """An ICMP destination unreachable quoting a UDP or TCP packet of ours."""
    code = row["icmp.code"] or row["icmpv6.code"]
    desc = "ICMP%s unreachable code %s" % ("v6" if row["icmpv6.type"] else "", code[0] if code else "?")
    quoted_udp, quoted_tcp = locate(row, "udp"), locate(row, "tcp")
    if quoted_udp:
        src, dst, sport, dport = quoted_udp
        for f in flows.values():
            if f.client == (src, sport) and f.service_port == dport:
                f.icmp = desc
                f.packets += 1
                return
    elif quoted_tcp:
        src, dst, sport, dport = quoted_tcp
        for c in conns.values():
            if (src, sport) in c.ends and (dst, dport) in c.ends:
                c.icmp_refused = True
                c.packets += 1
                return


def handle_tcp(row, frame, conns):
    loc = locate(row, "tcp")
    if loc is None:
        return
    stream = num(row["tcp.stream"][-1])
    c = conns.get(stream)
    if c is None:
        c = conns[stream] = TcpConn(stream)
        c.first_frame = frame
    c.packets += 1
    src, dst, sport, dport = loc
    me = (src, sport)
    c.ends[me] = c.ends.get(me, 0) + 1
    c.ends.setdefault((dst, dport), 0)
    syn = row["tcp.flags.syn"] and num(row["tcp.flags.syn"][0])
    ack = row["tcp.flags.ack"] and num(row["tcp.flags.ack"][0])
    if syn and not ack and c.syn_from is None:
        c.syn_from = me
    if syn and ack and c.synack_to is None:
        c.synack_to = (dst, dport)
    if row["tcp.flags.reset"] and num(row["tcp.flags.reset"][0]):
        c.rst_from.add(me)

    for t in row["nbss.type"]:
        t = num(t)
        c.nbss[t] = c.nbss.get(t, 0) + 1
    for e in row["nbss.error_code"]:
        c.nbss_negative_codes.append(num(e))
    if "iwarp_mpa" in row["frame.protocols"][0].split(":"):
        c.iwarp = True
    smb_facts(row, frame, c)


def smb_facts(row, frame, c):
    """SMB1/SMB2 facts of one frame, whatever carries it (NBSS, direct TCP, SMB Direct)."""
    # SMB1: tshark shows one smb.cmd per command of an AndX chain.
    if row["smb.cmd"]:
        c.smb1_seen = True
        if 0x72 in [num(x) for x in row["smb.cmd"]]:
            resp = row["smb.flags.response"] and num(row["smb.flags.response"][0])
            if not resp and c.smb1_offer is None:
                c.smb1_offer = list(row["smb.dialect"])
            elif resp:
                if row["smb.dialect.index"]:
                    idx = num(row["smb.dialect.index"][0])
                    if c.smb1_offer is not None and 0 <= idx < len(c.smb1_offer):
                        c.smb1_choice = c.smb1_offer[idx]
                    else:
                        c.smb1_index_bad = idx
    # SMB2: a frame may carry several PDUs (compound or several NBSS messages).
    pids = [num(x) for x in row["smb2.protocol_id"]]
    c.encrypted += sum(1 for p in pids if p == 0xFD534D42)
    if any(p == 0xFE534D42 for p in pids):
        c.smb2_seen = True
    c.signed += sum(num(x) for x in row["smb2.flags.signature"])
    cmds = [num(x) for x in row["smb2.cmd"]]
    if cmds and cmds[0] == 0 and len(cmds) == 1:   # NEGOTIATE is never compounded
        resp = row["smb2.flags.response"] and num(row["smb2.flags.response"][0])
        codes = [num(x) for x in row["smb2.dialect"]]
        if not resp and c.smb2_offer is None and codes:
            c.smb2_offer = codes
        elif resp and codes:
            c.smb2_choice = codes[0]
            c.smb2_choices.append(codes[0])
        elif not codes:
            c.notes.append("frame %d: SMB2 NEGOTIATE without dialect field (truncated?)" % frame)


def tcp_row(name, c):
    ports = [p for (_, p) in c.ends]
    has_smb = c.smb1_seen or c.smb2_seen or c.encrypted
    has_nbss_setup = any(t in c.nbss for t in NBSS_SETUP) or 0x85 in c.nbss
    if not (has_smb or has_nbss_setup or 139 in ports):
        return None
    notes = list(c.notes)
    # Who is the client.
    if c.syn_from is not None:
        client = c.syn_from
    elif c.synack_to is not None:
        client = c.synack_to
    else:
        ends = list(c.ends)
        known = [e for e in ends if e[1] in WELL_KNOWN_TCP]
        server_guess = known[0] if known else min(ends, key=lambda e: e[1])
        client = [e for e in ends if e != server_guess][0] if len(ends) > 1 else ends[0]
        notes.append("client guessed from ports (no SYN/SYN-ACK)")
    others = [e for e in c.ends if e != client]
    server = others[0] if others else ("-", 0)
    handshake = c.syn_from is not None or c.synack_to is not None

    setup_seen = any(t in c.nbss for t in NBSS_SETUP)
    carried = bool(c.nbss) or c.smb1_seen or c.smb2_seen
    if not carried:
        transport = "-"  # a SYN refused or unanswered, or no payload: no SMB connection
    elif c.iwarp:
        transport = "rdma-iwarp"  # SMB Direct: MPA/DDP/RDMAP carry SMBD, no NBSS framing at all
    elif setup_seen:
        transport = "nbt" if server[1] == 139 else "nbt-nonstandard-port"
    elif server[1] == 139:
        transport = "nbt"
    elif not handshake:
        transport = "unknown-start"
    else:
        transport = "direct"
    if 0x85 in c.nbss and transport == "direct":
        notes.append("NBSS keep-alive on a direct connection")

    netbios_service = "nbss" if (server[1] == 139 or setup_seen) else "-"
    netbios_state = "-"
    if netbios_service == "nbss":
        server_sent = c.ends.get(server, 0)
        if c.synack_to is not None or (not handshake and server_sent and c.ends.get(client, 0)):
            netbios_state = "established"
        elif server in c.rst_from or c.icmp_refused:
            netbios_state = "refused"
        elif server_sent == 0:
            netbios_state = "no-answer"
        else:
            netbios_state = "refused" if server in c.rst_from else "no-answer"
    if 0x83 in c.nbss:
        codes = ",".join("0x%02x" % x for x in c.nbss_negative_codes) or "?"
        notes.append("NBSS negative session response, error code %s" % codes)

    cols = smb_columns(c, notes)
    nbss_types = "|".join("0x%02x:%d" % (t, c.nbss[t]) for t in sorted(c.nbss)) or "-"
    return dict(cols, **{
        "file": name, "kind": "tcp", "client": client[0], "client_port": client[1],
        "server": server[0], "server_port": server[1], "transport": transport,
        "netbios_service": netbios_service, "netbios_state": netbios_state,
        "packets": c.packets, "nbss_types": nbss_types,
        "note": "; ".join(notes) or "-",
    })


def smb_columns(c, notes):
    """The dialect, version and PDU-count columns of a connection (appends to notes)."""
    smb1_offer = "|".join(c.smb1_offer) if c.smb1_offer else "-"
    if c.smb2_offer:
        offered = "|".join(dialect_name(x) for x in c.smb2_offer)
    elif c.smb1_offer and any(s in SMB1_TO_SMB2 for s in c.smb1_offer):
        offered = "|".join(dialect_name(SMB1_TO_SMB2[s]) for s in c.smb1_offer if s in SMB1_TO_SMB2)
    else:
        offered = "-"
    if c.smb2_choice is not None:
        dialect = dialect_name(c.smb2_choice)
        version = str(dialect_version(c.smb2_choice))
        if len(c.smb2_choices) > 1:
            notes.append("renegotiated: " + " -> ".join(dialect_name(x) for x in c.smb2_choices))
    elif c.smb1_choice is not None:
        dialect = c.smb1_choice
        version = "1"
    else:
        dialect = "-"
        version = "1" if c.smb1_seen and not c.smb2_seen else "-"
        if c.smb1_index_bad is not None:
            notes.append("SMB1 DialectIndex %d not in the offer" % c.smb1_index_bad)
        if c.smb2_seen and not c.encrypted:
            notes.append("SMB2 seen but no NEGOTIATE response dialect")
        elif c.encrypted and not c.smb2_seen:
            notes.append("only SMB2 TRANSFORM headers seen")
    if c.smb1_choice is not None and c.smb2_choice is not None:
        notes.append("SMB1 negotiate answered with SMB1 dialect %s, then SMB2" % c.smb1_choice)
    elif c.smb1_offer and c.smb2_choice is not None:
        notes.append("SMB1 negotiate upgraded to SMB2")

    return {
        "smb1_dialects_offered": smb1_offer, "dialects_offered": offered,
        "dialect": dialect, "smb_version": version,
        "encrypted_pdus": c.encrypted, "signed_pdus": c.signed,
    }


def handle_roce(row, frame, roce):
    """A RoCEv2 frame: BTH on UDP 4791.  Without the connection manager's
    REQ/REP (not captured), the two directions of a queue-pair pair are
    joined in order of appearance: the first direction from B to A joins the
    first unpaired direction from A to B (SMB Direct runs one QP pair per
    SMB connection)."""
    loc = locate(row, "udp")
    if loc is None or not row["infiniband.bth.destqp"]:
        return
    src, dst, sport, dport = loc
    half = (src, dst, num(row["infiniband.bth.destqp"][0]))
    c = next((c for c in roce if half in c.halves), None)
    if c is None:
        c = next((c for c in roce if len(c.halves) == 1 and c.halves[0][:2] == (dst, src)), None)
        if c is None:
            c = RoceConn(len(roce))
            c.first_frame = frame
            roce.append(c)
        c.halves.append(half)
    c.packets += 1
    c.ends[(src, sport)] = c.ends.get((src, sport), 0) + 1
    if (row["smb_direct.version.min"] and not row["smb_direct.version.negotiated"]
            and c.client is None):
        c.client, c.server = (src, sport), (dst, dport)
    smb_facts(row, frame, c)


def roce_row(name, c):
    if not (c.smb1_seen or c.smb2_seen or c.encrypted or c.client):
        return None
    notes = []
    if c.client is None:
        notes.append("SMBD negotiate request not captured: client guessed as the first sender")
        (src, dst, _), sport = c.halves[0], next(p for (a, p) in c.ends if a == c.halves[0][0])
        c.client, c.server = (src, sport), (dst, 4791)
    cols = smb_columns(c, notes)
    return dict(cols, **{
        "file": name, "kind": "udp", "client": c.client[0], "client_port": c.client[1],
        "server": c.server[0], "server_port": c.server[1], "transport": "rdma-roce",
        "netbios_service": "-", "netbios_state": "-", "packets": c.packets, "nbss_types": "-",
        "note": "; ".join(notes) or "-",
    })


def handle_udp(row, frame, flows, order):
    loc = locate(row, "udp")
    if loc is None:
        return
    src, dst, sport, dport = loc
    if sport not in NETBIOS_UDP and dport not in NETBIOS_UDP:
        return
    is_nbns_resp = bool(row["nbns.flags.response"] and num(row["nbns.flags.response"][0]))
    # An answer: from a NetBIOS port back to the client end of a flow, either to
    # an ephemeral port or, NetBIOS port to NetBIOS port, an NBNS response.
    if sport in NETBIOS_UDP and (dport not in NETBIOS_UDP or (sport == 137 and is_nbns_resp)):
        same_end = [f for f in flows.values() if f.client == (dst, dport) and f.service_port == sport]
        # An NBNS answer answers the query with its transaction id, whichever
        # flow of this client end sent it (a broadcast query is answered from
        # the server's own address); other services: any flow of the end.
        nid = row["nbns.id"][0] if sport == 137 and row["nbns.id"] else None
        if nid is not None:
            asked = next((f for f in same_end if nid in f.pending_ids), None)
        else:
            asked = same_end[0] if same_end else None
        if asked is not None:
            asked.answers_from.add(src)
            asked.pending_ids.discard(nid)
        own = next((f for f in same_end if f.server == src), None)
        if own is not None:
            own.packets += 1
            own.answers_from.add(src)
            return
        if dport not in NETBIOS_UDP or is_nbns_resp:
            # An answer from another address than the one asked is a flow of
            # its own: the host that answers NetBIOS must show up in the
            # ledger.  With no query at all, the request was not captured.
            key = (dst, dport, src, sport)
            f = flows[key] = UdpFlow((dst, dport), src, sport)
            f.first_frame = frame
            f.request_missing = asked is None and not same_end
            if asked is not None and asked.server != src:
                f.answer_to = asked.server
            order.append(key)
            f.packets += 1
            f.answers_from.add(src)
            return
    service = dport if dport in NETBIOS_UDP else sport
    key = (src, sport, dst, service)
    f = flows.get(key)
    if f is None:
        f = flows[key] = UdpFlow((src, sport), dst, service)
        f.first_frame = frame
        order.append(key)
    f.packets += 1
    f.requests += 1
    if service == 137 and not is_nbns_resp and row["nbns.id"] and row["nbns.flags.opcode"] \
            and num(row["nbns.flags.opcode"][0]) == 0:
        f.pending_ids.add(row["nbns.id"][0])
    if service == 137:
        op = row["nbns.flags.opcode"]
        if is_nbns_resp or not op or num(op[0]) != 0:
            f.queries_only = False
    else:
        f.queries_only = False


def udp_row(name, f):
    service = NETBIOS_UDP[f.service_port]
    notes = []
    if f.request_missing:
        notes.append("request not captured")
    if f.answer_to:
        notes.append("answers a query sent to " + f.answer_to)
    if f.icmp:
        state = "refused"
        notes.append(f.icmp)
    elif f.answers_from:
        state = "datagram"
        if f.answers_from != {f.server}:
            notes.append("answered by " + ",".join(sorted(f.answers_from)))
    elif f.queries_only:
        state = "no-answer"
    else:
        state = "datagram"
        notes.append("unanswered datagrams (not queries)")
    return {
        "file": name, "kind": "udp", "client": f.client[0], "client_port": f.client[1],
        "server": f.server, "server_port": f.service_port, "transport": "-",
        "smb1_dialects_offered": "-", "dialects_offered": "-", "dialect": "-",
        "smb_version": "-", "netbios_service": service, "netbios_state": state,
        "packets": f.packets, "nbss_types": "-", "encrypted_pdus": 0, "signed_pdus": 0,
        "note": "; ".join(notes) or "-",
    }


def tsv_escape(v):
    return str(v).replace("\t", " ").replace("\n", " ")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog="Column meanings: see the module docstring (pydoc) or samples/README.md.")
    ap.add_argument("captures", nargs="+", metavar="CAPTURE")
    ap.add_argument("--json", action="store_true", help="print a JSON list instead of TSV")
    ap.add_argument("--no-header", action="store_true", help="TSV without the header line")
    ap.add_argument("--nbss-port", type=int, action="append", default=None, metavar="N",
                    help="also decode TCP port N as NBSS/SMB (default: 8445); repeatable")
    ap.add_argument("--tshark", default=os.environ.get("TSHARK", "tshark"), help="tshark binary")
    args = ap.parse_args(argv)
    ports = args.nbss_port if args.nbss_port is not None else [8445]
    rows = []
    try:
        for cap in args.captures:
            rows += facts(cap, args.tshark, ports)
    except (RuntimeError, OSError) as e:
        print("tshark_facts: %s" % e, file=sys.stderr)
        return 2
    if args.json:
        json.dump(rows, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    if not args.no_header:
        print("\t".join(COLUMNS))
    for r in rows:
        print("\t".join(tsv_escape(r[c]) for c in COLUMNS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
