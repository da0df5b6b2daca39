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
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tshark_quic  # noqa: E402  (QUIC rows: kind quic)
from facts_netbios_udp import handle_udp, udp_row  # noqa: E402
from facts_roce import handle_roce, roce_row  # noqa: E402
from facts_smb import dialect_name, dialect_version, handle_tcp, tcp_row  # noqa: E402
from facts_tshark import locate, num, origin_of, run_tshark  # noqa: E402

COLUMNS = [
    "file", "kind", "client", "client_port", "server", "server_port", "transport",
    "smb1_dialects_offered", "dialects_offered", "dialect", "smb_version",
    "netbios_service", "netbios_state", "packets", "nbss_types",
    "encrypted_pdus", "signed_pdus", "note", "sni", "alpn", "quic_version",
]


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
