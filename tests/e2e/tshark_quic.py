#!/usr/bin/python3
"""tshark_quic.py - per-QUIC-connection facts of a capture, as tshark sees them.

The QUIC half of tshark_facts.py (which calls it and adds its rows to
samples/MANIFEST.tsv).  One tshark pass with `-o tls.keylog_file:` when a key
log lies beside the capture (NAME.keylog for NAME.pcap): tshark decrypts the
Initials by itself (keys from the DCID, on any UDP port), the rest with the
key log, and hands a stream of ALPN "smb" to its NBSS dissector (SMB over QUIC
keeps the 4-byte direct-transport header).

One row per QUIC connection (tshark's quic.connection.number), in the
columns of tshark_facts.py:
  kind        quic
  client      sender of the first Initial carrying a ClientHello
  server_port the client's destination port
  transport   quic when the ClientHello's ALPN list offers "smb", else -
  dialects_offered / dialect / smb_version / signed / encrypted: as for TCP,
              from the decrypted streams (need the key log)
  nbss_types  NBSS types tshark saw inside the streams
  packets     frames of the connection
  sni, alpn   the first ClientHello's server_name and ALPN list (|-joined)
  quic_version 1 | 2 (of the first Initial)
  note        retry; handshake (server Handshake packets seen); 0-rtt:N
              (N client 0-RTT packets)

tshark 4.0 leaves a 0-RTT packet sent after a Retry out of its connection
("Unknown QUIC connection": no quic.connection.number, though it decodes its
long header); such a packet is given to the connection of the same UDP
4-tuple.
"""

import os
import subprocess

FIELDS = [
    "frame.number", "frame.protocols", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
    "udp.srcport", "udp.dstport", "quic.connection.number", "quic.long.packet_type",
    "quic.long.packet_type_v2", "quic.version", "tls.handshake.type",
    "tls.handshake.extensions_server_name", "tls.handshake.extensions_alpn_str",
    "nbss.type", "smb2.protocol_id", "smb2.cmd", "smb2.flags.response", "smb2.dialect",
    "smb2.flags.signature",
]
VERSION_NAMES = {0x00000001: "1", 0x6b3343cf: "2"}
# Long header types as tshark names them: v1 0 Initial, 2 Handshake, 3 Retry;
# v2 (packet_type_v2) 1 Initial, 3 Handshake, 0 Retry.
V1_TYPES = {0: "initial", 1: "0-rtt", 2: "handshake", 3: "retry"}
V2_TYPES = {1: "initial", 2: "0-rtt", 3: "handshake", 0: "retry"}


def keylog_for(capture):
    base = capture[:-5] if capture.endswith(".pcap") else os.path.splitext(capture)[0]
    path = base + ".keylog"
    return path if os.path.exists(path) else None


def run(tshark, capture):
    cmd = [tshark, "-n", "-r", capture, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|",
           "-E", "separator=/t"]
    kl = keylog_for(capture)
    if kl:
        cmd += ["-o", "tls.keylog_file:" + kl]
    for f in FIELDS:
        cmd += ["-e", f]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ, LC_ALL="C"))
    if proc.returncode != 0:
        raise RuntimeError("tshark failed on %s" % capture)
    for line in proc.stdout.decode("utf-8", "replace").split("\n"):
        if line:
            vals = line.split("\t") + [""] * len(FIELDS)
            yield {f: (v.split("|") if v else []) for f, v in zip(FIELDS, vals)}


class QuicConn:
    def __init__(self):
        self.first_frame = None
        self.client = None
        self.server = None
        self.packets = 0
        self.version = None
        self.sni = None
        self.alpn = None
        self.retry = False
        self.handshake = False
        self.zero_rtt = 0
        self.nbss = {}
        self.offer = None
        self.choice = None
        self.signed = 0
        self.encrypted = 0


def endpoints(row):
    v6 = bool(row["ipv6.src"])
    src = (row["ipv6.src"] if v6 else row["ip.src"])[0]
    dst = (row["ipv6.dst"] if v6 else row["ip.dst"])[0]
    return (src, int(row["udp.srcport"][0])), (dst, int(row["udp.dstport"][0]))


def packet_types(row):
    types = [V1_TYPES.get(int(t, 0)) for t in row["quic.long.packet_type"]]
    types += [V2_TYPES.get(int(t, 0)) for t in row["quic.long.packet_type_v2"]]
    return types


def smb_facts(row, c):
    for i, cmd in enumerate(row["smb2.cmd"]):
        resp = row["smb2.flags.response"][i] if i < len(row["smb2.flags.response"]) else "0"
        if int(cmd, 0) == 0 and resp in ("0", "False"):
            if c.offer is None:
                c.offer = [int(d, 0) for d in row["smb2.dialect"]]
        elif int(cmd, 0) == 0:
            if row["smb2.dialect"]:
                c.choice = int(row["smb2.dialect"][-1], 0)
    c.signed += sum(1 for s in row["smb2.flags.signature"] if s in ("1", "True"))
    c.encrypted += sum(1 for p in row["smb2.protocol_id"] if int(p, 0) == 0xfd534d42)
    for t in row["nbss.type"]:
        c.nbss[int(t, 0)] = c.nbss.get(int(t, 0), 0) + 1


def quic_rows(capture, tshark="tshark", dialect_name=None, dialect_version=None):
    conns = {}
    orphans = []  # long-header packets tshark did not put in a connection
    for row in run(tshark, capture):
        if not row["udp.srcport"]:
            continue
        if not row["quic.connection.number"]:
            if row["quic.long.packet_type"] or row["quic.long.packet_type_v2"]:
                orphans.append(row)
            continue
        n = int(row["quic.connection.number"][0])
        c = conns.setdefault(n, QuicConn())
        c.packets += 1
        frame = int(row["frame.number"][0])
        src, dst = endpoints(row)
        if c.first_frame is None:
            c.first_frame = frame
        types = packet_types(row)
        if row["quic.version"] and c.version is None:
            c.version = VERSION_NAMES.get(int(row["quic.version"][0], 0), row["quic.version"][0])
        if "1" in row["tls.handshake.type"] and c.client is None:
            c.client, c.server = src, dst
            c.sni = row["tls.handshake.extensions_server_name"][0] if row["tls.handshake.extensions_server_name"] else None
            c.alpn = row["tls.handshake.extensions_alpn_str"]
        if "retry" in types:
            c.retry = True
        c.zero_rtt += sum(1 for t in types if t == "0-rtt")
        if "handshake" in types and c.server is not None and src == c.server:
            c.handshake = True
        smb_facts(row, c)
    for row in orphans:
        src, dst = endpoints(row)
        for c in conns.values():
            if c.client is not None and {src, dst} == {c.client, c.server}:
                c.packets += 1
                c.zero_rtt += sum(1 for t in packet_types(row) if t == "0-rtt")
                break
    out = []
    for c in conns.values():
        if c.client is None:
            continue
        is_smb = "smb" in (c.alpn or [])
        notes = (["retry"] if c.retry else []) + (["handshake"] if c.handshake else [])
        notes += ["0-rtt:%d" % c.zero_rtt] if c.zero_rtt else []
        out.append((c.first_frame, {
            "kind": "quic", "client": c.client[0], "client_port": c.client[1],
            "server": c.server[0], "server_port": c.server[1],
            "transport": "quic" if is_smb else "-",
            "smb1_dialects_offered": "-",
            "dialects_offered": "|".join(dialect_name(d) for d in c.offer) if c.offer else "-",
            "dialect": dialect_name(c.choice) if c.choice is not None else "-",
            "smb_version": dialect_version(c.choice) if c.choice is not None else "-",
            "netbios_service": "-", "netbios_state": "-", "packets": c.packets,
            "nbss_types": "|".join("0x%02x:%d" % (t, k) for t, k in sorted(c.nbss.items())) or "-",
            "encrypted_pdus": c.encrypted, "signed_pdus": c.signed,
            "sni": c.sni or "-", "alpn": "|".join(c.alpn) if c.alpn else "-",
            "quic_version": c.version or "-",
            "note": ";".join(notes) or "-",
        }))
    return out
