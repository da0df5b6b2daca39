#!/usr/bin/python3
"""fleet_check.py - issue 13's merge points that merge_check.py leaves out.

  * a capture file named `merge`: `./merge` and `-r merge` analyse it (the
    same report as the same capture under another name, but for
    inputs[].path), and the report they write merges; `smbscope merge` with
    no report is a usage error (exit 2), not a capture read;
  * captures cut by time (`editcap -i`, README: "a capture cut with editcap
    -c or -i"), in the middle of SMB connections: the merge of the parts'
    reports equals the run over the parts (merge_check.py cuts by count);
  * order: the merge of several reports is the same, byte for byte, in
    every argument order tried (merge_check.py: pairs only);
  * associativity with other groupings: (A+B)+C, A+(B+C) and A+B+C equal.

The cut cases are those merge answers today.  Cuts it cannot join yet
(README, smbscope merge: an SMB Direct message other than a SESSION_SETUP
request whose fragments the cut divides) are listed by --sweep, which cuts every sample by time into 2 and 5 parts, and three
samples in two after each of their packets, and prints each difference
(slow, a few minutes; not part of the suite while it has failures).

Usage: fleet_check.py --smbscope BIN --samples DIR [--sweep]
"""

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import merge_check  # noqa: E402  (compare, Reports, run: the joint-run comparison)
import pcap_cut  # noqa: E402  (capinfos -c / -u and editcap -r without a tool start each)
import smbd_frag  # noqa: E402  (SMB Direct with every message in SMBD pieces)
from merge_check import expect, run  # noqa: E402

# (sample, parts): cut by time into about that many parts; each cuts at
# least one SMB or NetBIOS connection in its middle.
TIME_CUTS = [("smb445-list-shares.pcap", 2), ("smb445-list-shares.pcap", 5), ("impacket-smbserver-139.pcap", 2),
             ("impacket-smbserver-139.pcap", 5), ("smb445-smb3_11.pcap", 2), ("nbt139-smb3_11.pcap", 2),
             ("mixed-nbns-139-445.pcap", 2), ("smb445-midstream.pcap", 5), ("nbdgm-nmbd-startup.pcap", 5),
             ("netbios-noanswer-udp137.pcap", 5)]
# Cuts between a SYN and its retransmissions or the RST that refused it
# (mstate_join_syn.c): one TCP connection of the run over all the parts.
TIME_CUTS += [(s + ".pcap", n) for s in ("netbios-noanswer-tcp139", "netbios-refused-tcp139", "race-139-dropped",
                                         "race-139-refused") for n in (2, 5)]
# Encrypted and signed messages of a session the earlier part saw set up
# (connections[].encryption.unseen_sessions, mstate_join_enc.c).
TIME_CUTS += [(s + ".pcap", n) for s in ("smb445-encrypt", "smb445-share-encrypt") for n in (2, 5)]
TIME_CUTS += [("smb445-sign.pcap", 2), ("impacket-445.pcap", 2)]  # impacket: a TRANSFORM of session 0
# QUIC datagrams a later part could not place (no Initial): QUIC tails
# joined to the SMB-over-QUIC connection an earlier part left open.
TIME_CUTS += [(s + ".pcap", n) for s in ("quic443-0rtt", "quic443-smb3_11", "quic443-split-hello", "quic8443-smb3_11")
              for n in (2, 5)]
# A QUIC connection that is not SMB open at a part's end (state.quic_open):
# the later part's datagrams of it count as QUIC (stats.quic.datagrams).
TIME_CUTS += [("quic443-other-alpn.pcap", 2)]
# In 5 parts a later part begins with the client's later Initial (no
# ClientHello: a QUIC connection of its own there, state.quic_heads): it is
# the connection the earlier part left open (stats.quic.connections).
TIME_CUTS += [("quic443-other-alpn.pcap", 5)]
# SMB Direct counters of a joined connection (mstate_join_rdma.c); RoCEv2
# in a part whose first packet came from the server (ports named from that
# side: joined by addresses, its TREE_CONNECT answered across the cut).
TIME_CUTS += [("rdma-roce-4791.pcap", 2), ("rdma-iwarp-5445.pcap", 2), ("rdma-roce-4791.pcap", 5)]
# iWARP with MPA markers: the later part finds their places (one every 512
# octets counted from the stream's start it did not see)
TIME_CUTS += [("rdma-iwarp-markers-15445.pcap", 2)]
# In 5 parts an SMB Direct SESSION_SETUP's SMBD fragments are divided:
# merge decodes it whole from the bytes each part kept (state.edge_smbd_bytes,
# mstate_join_smbd.h): the session's user, domain and workstation
TIME_CUTS += [("rdma-iwarp-5445.pcap", 5), ("rdma-iwarp-markers-15445.pcap", 5)]
# transport_evidence of the joined connection (a message over 17 bits in the later part)
TIME_CUTS += [("smb445-bulk.pcap", 2), ("smb445-nt1-keepalive.pcap", 2)]  # nt1: keep-alives of the later part on direct
# NBSS framing the later part did not see (NBSS on 445 and on another port:
# its session messages, the NetBIOS row and hosts; mstate_join_nbss.c)
TIME_CUTS += [("nbss-on-445.pcap", 2), ("nbss-on-8445.pcap", 2)]
# A part seen from its middle that ends with a positive response or a
# keep-alive (framer_end: the last control message of a stream is taken;
# nt1-keepalive: a part holding only a keep-alive is an SMB connection)
TIME_CUTS += [(s + ".pcap", 5) for s in ("nbss-on-445", "nbss-on-8445", "race-139-answered", "smb445-nt1-keepalive",
                                         "nbt139-nt1-keepalive")]
# An NBNS broadcast query in one part, its answer (from the server's own
# address, another row) in the next: the query's row answered (mstate_join_nbns.c)
TIME_CUTS += [("nbns-broadcast.pcap", 2), ("nbns-broadcast.pcap", 5)]
# An SMB1 TREE_CONNECT_ANDX answered in the next part: the response's service ("A:")
TIME_CUTS += [("smb445-nt1.pcap", 5)]
# One FIN in each part (the later part: the other FIN and the last ACK, a
# tail): the connection ends "fin" (mstate_join_fin.c)
TIME_CUTS += [("nbss-negative.pcap", 2), ("nbss-negative.pcap", 5)]
# Cut right after the TCP handshake (mstate_join_hs.c): the later part's
# connection seen from its start, its first packet the SYN.
TIME_CUTS += [(s + ".pcap", 5) for s in ("smb445-sign", "mixed-nbns-139-445", "nbt139-nt1", "smb445-snaplen96",
                                         "smb8445-smb3_11")]


def refuses_forged(smbscope, d, name, doc, change, needle):
    """doc with change() made to its merge state, digest made again: merge
    refuses it (exit 2) with needle in its error."""
    t = json.loads(json.dumps(doc))
    change(t["merge_state"]["state"])
    bad = os.path.join(d, "bad-%s.json" % name.replace(" ", "-"))
    with open(bad, "w") as f:
        f.write(json.dumps(merge_check.redigest(t)))
    rc, _, err = run([smbscope, "merge", bad])
    expect("refuses a forged state: " + name, rc == 2 and needle in err, err.strip())


duration = pcap_cut.duration  # capinfos -u: the span to the microsecond


def time_parts(capture, parts, d):
    """editcap -i with an interval of the capture's span / parts."""
    interval = "%.6f" % (duration(capture) / parts + 1e-6)
    subprocess.run(["editcap", "-i", interval, capture, os.path.join(d, "part.pcap")], check=True,
                   stdout=subprocess.DEVNULL)
    return interval, sorted(glob.glob(os.path.join(d, "part_*.pcap")))


# (capture, parts) -> (directory, files, their Reports): cut_orders() merges
# the parts time_cut() made of the same sample (CUT_ORDERS are TIME_CUTS too)
# in other orders, the parts' reports made once.
CUTS = {}


def timed(smbscope, capture, parts, tmp):
    if (capture, parts) not in CUTS:
        d = tempfile.mkdtemp(dir=tmp)
        interval, files = time_parts(capture, parts, d)
        CUTS[(capture, parts)] = (d, interval, files, merge_check.Reports(smbscope, d))
    return CUTS[(capture, parts)]


def time_cut(smbscope, capture, parts, tmp):
    _, interval, files, reports = timed(smbscope, capture, parts, tmp)
    name = "editcap -i %s %s (%d parts)" % (interval, os.path.basename(capture), len(files))
    if len(files) < 2:
        expect(name + ": cut in parts", False, "editcap made %d" % len(files))
        return
    merge_check.compare(name, smbscope, reports, files)


# The state joins of mstate_join_{nbss,fin,nbns}.c and the RoCEv2 names:
# the parts merged in another order, and in groups merged first (each
# group's report merged again: its digest verifies), give the same bytes.
# nbss-on-445/8445 in 5 parts: a SESSION_SETUP cut apart, its later parts
# merged first (its mechs_offered; merge_assoc_check.py tries every
# bracketing of 3 and 4 parts).
CUT_ORDERS = [("nbss-negative.pcap", 5), ("nbns-broadcast.pcap", 5), ("rdma-roce-4791.pcap", 5),
              ("rdma-iwarp-markers-15445.pcap", 5),
              ("smb445-nt1-keepalive.pcap", 5), ("nbss-on-445.pcap", 5), ("nbss-on-8445.pcap", 5),
              ("quic443-other-alpn.pcap", 5)]


def cut_orders(smbscope, capture, parts, tmp):
    d, _, files, reports = timed(smbscope, capture, parts, tmp)
    reps = [reports.of(f)[0] for f in files]

    def merged(args, name=None):
        rc, out, err = run([smbscope, "merge", "-T", "json"] + args)
        if name is None:
            return rc, out
        path = os.path.join(d, name + ".json")
        with open(path, "wb") as f:
            f.write(out)
        return path

    want = merged(reps)
    tries = {"reversed": lambda: reps[::-1], "rotated": lambda: reps[2:] + reps[:2],
             "(1+2)+(3+4+5)": lambda: [merged(reps[:2], "a"), merged(reps[2:], "b")],
             "1+(2+3+4)+5": lambda: [reps[0], merged(reps[1:-1], "c"), reps[-1]],
             "((4+5)+3)+(2+1)": lambda: [merged([merged(reps[3:], "d"), reps[2]], "e"), merged(reps[1::-1], "f")]}
    # By default 3 of the 5, the next ones for the next capture (the 8
    # captures try each 4 or 5 times); the SESSION_SETUP cut apart of
    # nbss-on-445/8445 with its later parts merged first, always.
    names = list(tries)
    if os.environ.get("SMBSCOPE_FULL") != "1":
        at = [c for c, _ in CUT_ORDERS].index(os.path.basename(capture)) if os.path.basename(capture) in \
            [c for c, _ in CUT_ORDERS] else 0
        keep = {names[(3 * at + j) % len(names)] for j in range(3)}
        if os.path.basename(capture) in ("nbss-on-445.pcap", "nbss-on-8445.pcap"):
            keep |= {"1+(2+3+4)+5", "((4+5)+3)+(2+1)"}
        names = [k for k in names if k in keep]
    bad = [k for k in names if merged(tries[k]()) != want]
    expect("%s in %d parts: the merge in %d of %d other orders and groupings is the same%s" % (
        os.path.basename(capture), len(files), len(names), len(tries),
        "" if len(names) == len(tries) else " (SMBSCOPE_FULL=1: all)"), not bad and want[0] != 2,
        "differs: %s" % ", ".join(bad))


def unseen_vs_tshark(smbscope, samples, tmp):
    """connections[].encryption.unseen_sessions of a part seen mid-stream:
    per session id, the TRANSFORM headers tshark finds in that part."""
    d = tempfile.mkdtemp(dir=tmp)
    _, files = time_parts(os.path.join(samples, "smb445-encrypt.pcap"), 2, d)
    late = files[-1]
    rc, out, _ = run([smbscope, "-q", "-T", "json", late])
    got = {}
    for c in json.loads(out)["connections"]:
        for u in c["encryption"].get("unseen_sessions", []):
            got[int(u["session_id"], 16)] = got.get(int(u["session_id"], 16), 0) + u["encrypted_pdus"]
    fields = subprocess.run([os.environ.get("TSHARK", "tshark"), "-r", late, "-Y", "smb2", "-T", "fields", "-E", "occurrence=a",
                             "-e", "smb2.protocol_id", "-e", "smb2.sesid"], capture_output=True, text=True).stdout
    want = {}
    for line in fields.splitlines():
        protos, sids = (line.split("\t") + [""])[:2]
        for proto, sid in zip(protos.split(","), sids.split(",")):
            if proto == "0xfd534d42":  # the TRANSFORM header's protocol id
                want[int(sid, 16)] = want.get(int(sid, 16), 0) + 1
    expect("unseen_sessions of the later part of smb445-encrypt as tshark counts TRANSFORM headers",
           got == want and got, "smbscope %r, tshark %r" % (got, want))


def quic_head_alone(smbscope, samples, tmp):
    """A part holding only a client's later Initial (state.quic_heads, its
    own quic_open record too): alone, and after the part that opened the
    connection, merge equals the run over them."""
    d = tempfile.mkdtemp(dir=tmp)
    sample = os.path.join(samples, "quic443-other-alpn.pcap")
    early, one = os.path.join(d, "early.pcap"), os.path.join(d, "one.pcap")
    pcap_cut.records(sample, early, 1, 4)
    pcap_cut.records(sample, one, 5, 5)
    reports = merge_check.Reports(smbscope, d)
    merge_check.compare("a part holding only a later client Initial, merged alone", smbscope, reports, [one])
    merge_check.compare("the same after the part that opened its connection", smbscope, reports, [early, one])


# Cuts after one packet (editcap -r) that a time cut does not reach: what
# the later part's QUIC tail datagrams showed (state.quic_tail_facts) in the
# connection the earlier part left open.
PACKET_CUTS = [("quic443-0rtt.pcap", 1),  # the Retry and a 0-RTT packet before the new ClientHello
               ("quic443-0rtt.pcap", 2),  # a 0-RTT packet after the Retry
               ("quic443-smb3_11.pcap", 3),  # the server's Initial and Handshake: the handshake completed, its suite
               ("quic443-0rtt.pcap", 4),  # the same after a 0-RTT packet
               # a ClientHello split over two Initials: the later part's connection from its
               # rest (a head: its ServerHello read, state.quic_head_facts), the earlier part's
               # pending ClientHello completed; the ServerHello over two server Initials
               ("quic443-split-hello.pcap", 5), ("quic443-split-hello.pcap", 6),
               # the earlier part holds only the first half of the first ClientHello: its
               # connection (a head) is where the later part's SMB connection began
               ("quic443-split-hello.pcap", 1),
               # inside a WRITE's body: the later part skipped its rest before its
               # first header, no resync of the whole (state.edge_frames)
               ("smb445-bulk.pcap", 300),
               # the earlier part holds the handshake and the MPA startup, no FPDU: a
               # connection seen from its SYN with the startup's facts (state.syn_flow_payloads)
               ("rdma-iwarp-5445.pcap", 5), ("rdma-iwarp-markers-15445.pcap", 5),
               # the earlier part holds the handshake and the MPA request, the later part
               # begins with the reply (rdma_iwarp.c: recognise()): the startup of both
               ("rdma-iwarp-5445.pcap", 4), ("rdma-iwarp-markers-15445.pcap", 4),
               # a READ response's RDMA Send in two DDP segments the cut divides: one Send
               # of the whole, none dropped (state.edge_smbd_bytes: its start and rest)
               ("rdma-iwarp-markers-15445.pcap", 51),
               # the later part begins with the server's ACKs of data the earlier part
               # held: its stream starts at the ACK, gaps up to its first data the whole has not
               ("smb445-bulk.pcap", 421)]


def packet_cut(smbscope, capture, k, tmp):
    d = tempfile.mkdtemp(dir=tmp)
    n = packets(capture)
    a, b = os.path.join(d, "a.pcap"), os.path.join(d, "b.pcap")
    pcap_cut.records(capture, a, 1, k)
    pcap_cut.records(capture, b, k + 1, n)
    reports = merge_check.Reports(smbscope, d)
    merge_check.compare("cut after packet %d of %s" % (k, os.path.basename(capture)), smbscope, reports, [a, b])


def tcp_pcap(path, packets):
    """A classic pcap of Ethernet/IPv4/TCP packets (ts seconds, client host
    byte, client port, payload): mid-stream segments to 10.0.0.1:445."""
    import struct
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, host, port, payload in packets:
            tcp = struct.pack("!HHIIBBHHH", port, 445, 1000, 1, 5 << 4, 0x18, 65535, 0, 0)
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0, 64, 6, 0,
                             bytes([10, 0, 1, host]), bytes([10, 0, 0, 1]))
            frame = b"\x00\x00\x00\x00\x00\x01" + b"\x00\x00\x00\x00\x00\x02" + b"\x08\x00" + ip + tcp + payload
            f.write(struct.pack("<IIII", int(ts), int((ts % 1) * 1e6), len(frame), len(frame)) + frame)


def data_tails_bounded(smbscope, tmp):
    """state.data_tails lists a mid-stream connection that found no header
    either way only when it began within two minutes of the run's first
    packet (a message's rest follows a cut at once; TLS seen from its
    middle finds no header either)."""
    path = os.path.join(tempfile.mkdtemp(dir=tmp), "midstream.pcap")
    tcp_pcap(path, [(1000.0, 2, 50000, b"x" * 100), (1060.0, 3, 50001, b"x" * 100), (1200.0, 4, 50002, b"x" * 100)])
    rc, out, err = run([smbscope, "-q", "-T", "json", path])
    tails = json.loads(out)["merge_state"]["state"].get("data_tails", [])
    expect("data tails only within two minutes of the first packet", sorted(t[1] for t in tails) == [50000, 50001],
           "%r" % tails)


def malformed_cut_state(smbscope, samples, tmp):
    """The members this branch adds, forged (digest matching): refused by
    the reader's bounds, naming the member; the genuine report merges."""
    d = tempfile.mkdtemp(dir=tmp)
    capture = os.path.join(samples, "quic443-0rtt.pcap")
    b = os.path.join(d, "b.pcap")
    pcap_cut.records(capture, b, 2, packets(capture))
    doc = json.loads(run([smbscope, "-q", "-T", "json", b])[1])
    st = doc["merge_state"]["state"]
    expect("a later part's Retry and 0-RTT tail listed in quic_tail_facts",
           len(st["quic_tails"]) == 1 and st["quic_tail_facts"] == [[0, 1, 1, 0, 0]],
           "%r %r" % (st["quic_tails"], st.get("quic_tail_facts")))

    def case(name, change, needle):
        refuses_forged(smbscope, d, name, doc, change, needle)

    def facts(v):
        return lambda s: s.update(quic_tail_facts=v)
    case("tail facts of no tail", facts([[1, 1, 0, 0, 0]]), "quic_tail_facts[0]")
    case("tail facts twice", facts([[0, 1, 0, 0, 0], [0, 0, 1, 0, 0]]), "quic_tail_facts[1]")
    case("tail facts of another shape", facts([[0, 1]]), "quic_tail_facts[0]")
    case("tail facts: retry not 0 or 1", facts([[0, 2, 0, 0, 0]]), "quic_tail_facts[0]")
    case("tail facts: more Initials than packets", facts([[0, 0, 0, 99, 0]]), "quic_tail_facts[0]")
    case("tail facts: handshake sides past 3", facts([[0, 0, 0, 0, 4]]), "quic_tail_facts[0]")
    case("tail facts past the cap", facts([[0, 0, 0, 0, 0]] * 4097), "quic_tail_facts")
    case("tail facts not an array", facts({"0": 1}), "quic_tail_facts")
    case("a QUIC start of another shape", lambda s: s.update(quic_starts=[[1, 2, 3]]), "quic_starts[0]")

    def initials(v):
        return lambda s: s.update(quic_tail_initials=v)
    case("a tail's datagram not in hex", initials([[0, "0002c0zz"]]), "quic_tail_initials[0]")
    case("a tail's datagram of odd length", initials([[0, "0001c00"]]), "quic_tail_initials[0]")
    case("a tail's datagram past 2048 bytes", initials([[0, "0801" + "00" * 2049]]), "quic_tail_initials[0]")
    case("a tail's datagram longer than its bytes", initials([[0, "0003c000"]]), "quic_tail_initials[0]")
    case("a tail's datagram of length 0", initials([[0, "0000"]]), "quic_tail_initials[0]")
    case("a tail's five datagrams", initials([[0, "0001c0" * 5]]), "quic_tail_initials[0]")
    case("a tail's datagram of no tail", initials([[1, "0001c0"]]), "quic_tail_initials[0]")
    case("tails' datagrams past their cap", initials([[0, "0001c0"]] * 65), "quic_tail_initials")
    key = ["10.0.0.1", 50000, "10.0.0.2", 443, 1, 1, "0011", 0]

    def keys(i, v):
        return lambda s: s.update(quic_edge_keys=[key[:i] + [v] + key[i + 1:]])
    case("an edge's key of another QUIC version", keys(5, 7), "quic_edge_keys[0]")
    case("an edge's key of a connection ID past 20 bytes", keys(6, "00" * 21), "quic_edge_keys[0]")
    case("an edge's key of an empty connection ID", keys(6, ""), "quic_edge_keys[0]")
    case("an edge's key of another shape", lambda s: s.update(quic_edge_keys=[key[:7]]), "quic_edge_keys[0]")
    case("an edge's key: a ClientHello pending not 0 or 1", keys(7, 2), "quic_edge_keys[0]")
    case("a head's facts of no head", lambda s: s.update(quic_head_facts=[[0, 4865, 1, 0]]), "quic_head_facts[0]")
    case("a head's facts of another shape", lambda s: s.update(quic_head_facts=[[0, 1]]), "quic_head_facts[0]")
    case("an edge's key: not an address", keys(0, "10.0.0.300"), "quic_edge_keys[0]")
    frame = ["10.0.0.1", 50000, "10.0.0.2", 445, 1, 5, 0, 0, -1, 9, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1, 0, 0, 0, 0]

    def frames(i, v):
        return lambda s: s.update(edge_frames=[frame[:i] + [v] + frame[i + 1:]])
    case("an edge's framing: a count below -1", frames(5, -2), "edge_frames[0][5]")
    case("an edge's framing: a count not a number", frames(7, "x"), "edge_frames[0]")
    case("an edge's framing of another shape", lambda s: s.update(edge_frames=[frame[:11]]), "edge_frames[0]")
    case("an edge's SMBD rest past 32 bits", frames(11, 2 ** 32), "edge_frames[0]")
    case("an edge's SMBD flags past theirs", frames(15, 32), "edge_frames[0]")
    case("an edge's sequence number past 32 bits", frames(17, 2 ** 32), "edge_frames[0]")
    case("an edge's leading gaps without bytes", frames(21, 2), "edge_frames[0]")
    case("edge framings past the cap", lambda s: s.update(edge_frames=[frame] * 4097), "edge_frames")
    payload = [0, 20, 20, 1, 1, 0, 1, 1, 0, 0, 0, 0]

    def payloads(i, v):
        return lambda s: s.update(syn_flow_payloads=[payload[:i] + [v] + payload[i + 1:]])
    case("an MPA startup of no SYN flow", payloads(0, 0), "syn_flow_payloads[0]")
    case("an MPA startup flag not 0 or 1", payloads(3, 2), "syn_flow_payloads[0]")
    case("an MPA startup's revision past a byte", payloads(6, 256), "syn_flow_payloads[0]")
    case("an MPA startup of another shape", lambda s: s.update(syn_flow_payloads=[payload[:5]]),
         "syn_flow_payloads[0]")
    data = ["10.0.0.1", 50000, "10.0.0.2", 445, 1, 2, 3, 1, 4000, 0, 4000, 0, "end"]

    def data_tails(i, v):
        return lambda s: s.update(data_tails=[data[:i] + [v] + data[i + 1:]])
    case("a data tail framing more than it carried", data_tails(10, 4001), "data_tails[0]")
    case("a data tail of negative bytes", data_tails(8, -1), "data_tails[0]")
    case("a data tail of another shape", lambda s: s.update(data_tails=[data[:9]]), "data_tails[0]")
    case("a data tail's end too long", data_tails(12, "x" * 40), "data_tails[0]")
    good = os.path.join(d, "good.json")
    with open(good, "w") as f:
        f.write(json.dumps(doc))
    rc, _, err = run([smbscope, "merge", "-q", "-T", "json", good])
    expect("the genuine report merges", rc in (0, 1, 3), err.strip())


def malformed_smbd_bytes(smbscope, samples, tmp):
    """state.edge_smbd_bytes forged (digest matching): refused by the
    reader's bounds, naming the member; the genuine parts merge."""
    d = tempfile.mkdtemp(dir=tmp)
    capture = os.path.join(samples, "rdma-iwarp-markers-15445.pcap")
    a, b = os.path.join(d, "a.pcap"), os.path.join(d, "b.pcap")
    pcap_cut.records(capture, a, 1, 12)
    pcap_cut.records(capture, b, 13, packets(capture))
    early = json.loads(run([smbscope, "-q", "-T", "json", a])[1])
    late = json.loads(run([smbscope, "-q", "-T", "json", b])[1])
    es, ls = early["merge_state"]["state"], late["merge_state"]["state"]
    head, rest = es.get("edge_smbd_bytes", []), ls.get("edge_smbd_bytes", [])
    expect("the SESSION_SETUP's start kept by the early part, its rest by the late part",
           len(head) == 1 and head[0][6] and not head[0][7] and len(rest) == 1 and not rest[0][6] and rest[0][7],
           "%r %r" % ([r[:6] for r in head], [r[:6] for r in rest]))
    if not head or not rest:
        return
    expect("neither part alone names the user", all(s.get("user") is None for doc in (early, late)
                                                    for c in doc["connections"] for s in c.get("sessions", [])))

    def case(name, doc, change, needle):
        refuses_forged(smbscope, d, name, doc, change, needle)

    def kept(rec, i, v):
        return lambda s: s.update(edge_smbd_bytes=[rec[:i] + [v] + rec[i + 1:]])
    h, r = head[0], rest[0]
    case("SMBD bytes not hex", early, kept(h, 6, "zz" + h[6][2:]), "edge_smbd_bytes[0]")
    case("SMBD bytes of odd length", early, kept(h, 6, h[6][:-1]), "edge_smbd_bytes[0]")
    case("SMBD bytes past 16384 octets", early, kept(h, 6, "00" * 16385), "edge_smbd_bytes[0]")
    case("SMBD bytes of no edge", early, kept(h, 1, h[1] + 1), "edge_smbd_bytes[0]")
    case("SMBD bytes of a direction past 1", early, kept(h, 5, 2), "edge_smbd_bytes[0]")
    case("SMBD bytes of no octets", early, kept(h, 6, ""), "edge_smbd_bytes[0]")
    case("a start where no message was in progress", early, kept(h, 5, 1), "edge_smbd_bytes[0]")
    case("a start longer than 16384 with its rest", early, kept(h, 6, "00" * (16384 - 49)), "edge_smbd_bytes[0]")
    case("a rest where the early part has none", early, kept(h, 7, "00" * 50), "edge_smbd_bytes[0]")
    case("a rest of another length", late, kept(r, 7, r[7] + "00"), "edge_smbd_bytes[0]")
    case("a direction twice", early, lambda s: s.update(edge_smbd_bytes=[h, h]), "edge_smbd_bytes[1]")
    case("SMBD bytes of another shape", early, lambda s: s.update(edge_smbd_bytes=[h[:7]]), "edge_smbd_bytes[0]")
    case("SMBD bytes past the cap", early, lambda s: s.update(edge_smbd_bytes=[h] * 65), "edge_smbd_bytes")
    case("a Send's MSN without its bytes", early, kept(h, 8, 5), "edge_smbd_bytes[0]")
    case("a Send's rest numbers without its bytes", early, kept(h, 11, 5), "edge_smbd_bytes[0]")
    case("a Send's MSN past 32 bits", early, kept(h, 8, 2 ** 32), "edge_smbd_bytes[0]")
    rest_fields = h[:10] + [1, 1, 0, "00"]
    case("a Send's rest of no segment", early, lambda s: s.update(edge_smbd_bytes=[rest_fields]),
         "edge_smbd_bytes[0]")
    case("a Send's rest at offset 0", early, lambda s: s.update(edge_smbd_bytes=[h[:10] + [1, 0, 1, "00"]]),
         "edge_smbd_bytes[0]")
    case("a Send's rest past 16384 octets", early,
         lambda s: s.update(edge_smbd_bytes=[h[:10] + [1, 16000, 1, "00" * 400]]), "edge_smbd_bytes[0]")
    # a start of the right length whose octets are noise after the SMB2
    # protocol id: merge decodes the message put together with the session
    # model (mstate_join_smbd.h), which takes any octets a capture may hold
    import random
    rnd = random.Random(13)
    t = json.loads(json.dumps(early))
    rec = t["merge_state"]["state"]["edge_smbd_bytes"][0]
    rec[6] = "fe534d42" + "".join("%02x" % rnd.randrange(256) for _ in range(len(h[6]) // 2 - 4))
    noisy = os.path.join(d, "noisy.json")
    with open(noisy, "w") as f:
        f.write(json.dumps(merge_check.redigest(t)))
    late_json = os.path.join(d, "late.json")
    with open(late_json, "w") as f:
        f.write(json.dumps(late))
    rc, out, err = run([smbscope, "merge", "-T", "json", noisy, late_json])
    expect("a start of noise decoded whole: merged, one connection", rc in (0, 1, 3) and
           len(json.loads(out or "{}").get("connections", [])) == 1, err.strip())
    reports = merge_check.Reports(smbscope, d)
    merge_check.compare("the genuine parts of the SESSION_SETUP cut merge", smbscope, reports, [a, b])


def cut_states(smbscope, capture, ks, d, options=()):
    """The parts' reports of capture cut after the packets ks."""
    bounds, docs = [0] + ks, []
    bounds.append(packets(capture))
    for i in range(len(bounds) - 1):
        part = os.path.join(d, "%s-%d.pcap" % (os.path.basename(capture), i))
        pcap_cut.records(capture, part, bounds[i] + 1, bounds[i + 1])
        docs.append(json.loads(run([smbscope, "-q", "-T", "json"] + list(options) + [part])[1]))
    return docs


def malformed_rdma_state(smbscope, samples, tmp):
    """The SMB Direct state members below forged (digest matching):
    refused by the reader's bounds, naming the member.  edge_roce_sends (a
    RoCEv2 SEND's start and rest a cut divides), roce_tails (a part of a
    pair's ACKs only, or its SEND pieces), edge_smbd_large (an SMB2
    message's piece over 16,384 octets), edge_smbd_over (a message past the
    --pdu-cap in progress at the end)."""
    d = tempfile.mkdtemp(dir=tmp)
    roce = os.path.join(samples, "rdma-roce-4791.pcap")

    def case(name, doc, change, needle):
        refuses_forged(smbscope, d, name, doc, change, needle)

    def elem(key, rec, i, v):
        return lambda s: s.update({key: [rec[:i] + [v] + rec[i + 1:]]})
    early, late = cut_states(smbscope, roce, [91], d)
    es, ls = early["merge_state"]["state"], late["merge_state"]["state"]
    h, r = es.get("edge_roce_sends", [[]])[0], ls.get("edge_roce_sends", [[]])[0]
    expect("a RoCEv2 SEND cut after its First: its start kept by the early part, its rest by the late part",
           len(h) == 10 and h[7] and not h[9] and len(r) == 10 and r[9] and not r[7] and h[6] == r[8], "%r %r" % (
               h[:7], r[:7]))
    if len(h) == 10 and len(r) == 10:
        k = "edge_roce_sends"
        case("a SEND's start not hex", early, elem(k, h, 7, "zz" + h[7][2:]), k + "[0]")
        case("a SEND's start past 16384 octets", early, elem(k, h, 7, "00" * 16385), k + "[0]")
        case("a SEND's piece of no edge", early, elem(k, h, 1, h[1] + 1), k + "[0]")
        case("a SEND's piece of a direction past 1", early, elem(k, h, 5, 2), k + "[0]")
        case("a SEND's pieces of no octets", early, elem(k, h, 7, ""), k + "[0]")
        case("a SEND's PSN past 24 bits", early, elem(k, h, 6, 1 << 24), k + "[0]")
        case("a SEND's rest PSN without its bytes", early, elem(k, h, 8, 5), k + "[0]")
        case("a SEND's pieces of a direction twice", early, lambda s: s.update(edge_roce_sends=[h, h]), k + "[1]")
        case("a SEND's pieces of another shape", early, lambda s: s.update(edge_roce_sends=[h[:9]]), k + "[0]")
        case("SEND pieces past the cap", early, lambda s: s.update(edge_roce_sends=[h] * 65), k)
    tails = cut_states(smbscope, roce, [97], d)[1]
    mid = cut_states(smbscope, roce, [90, 91], d)[1]
    t = tails["merge_state"]["state"].get("roce_tails", [[]])[0]
    m = mid["merge_state"]["state"].get("roce_tails", [[]])[0]
    expect("a part of one ACK, another of a SEND First: each a RoCEv2 tail (the second with the SEND's start)",
           len(t) == 30 and t[12] == 1 and len(m) == 30 and (m[23] or m[29]), "%r %r" % (t[:13], m[:13]))
    if len(t) == 30 and len(m) == 30:
        k = "roce_tails"
        case("a tail's second port not 4791", tails, elem(k, t, 3, 4792), k + "[0]")
        case("a tail ending before it began", tails, elem(k, t, 7, t[6] - 1), k + "[0]")
        case("a tail of no packet of its first sender", tails, elem(k, t, 8, 0), k + "[0]")
        case("a tail of more ACKs than packets", tails, elem(k, t, 12, t[8] + t[9] + 1), k + "[0]")
        case("a tail's QP past 24 bits", tails, elem(k, t, 4, 1 << 24), k + "[0]")
        case("a tail's SEND rest numbers without bytes", tails, elem(k, t, 18, 5), k + "[0]")
        case("a tail's SEND start not hex", tails, elem(k, t, 23, "zz"), k + "[0]")
        case("a tail's SEND start past 16384 octets", tails, elem(k, t, 23, "00" * 16385), k + "[0]")
        case("a tail's SEND rest of no packet", tails,
             elem(k, t[:18] + [7, 7, 1, "00"] + t[22:], 18, 7), k + "[0]")
        case("a tail of another shape", tails, lambda s: s.update(roce_tails=[t[:29]]), k + "[0]")
        case("tails past the cap", tails, lambda s: s.update(roce_tails=[t] * 257), k)
    frag = os.path.join(d, "grow20000.pcap")
    smbd_frag.fragmented_copy(os.path.join(samples, "rdma-iwarp-5445.pcap"), frag,
                              os.path.join(samples, "smb445-encrypt.pcap"), False, (3, 20000))
    early = cut_states(smbscope, frag, [200], d)[0]
    big = early["merge_state"]["state"].get("edge_smbd_large", [[]])[0]
    expect("an SMB2 message of 20,000 octets cut: its start (over 16,384) in edge_smbd_large, none in "
           "edge_smbd_bytes", len(big) == 14 and len(big[6]) > 2 * 16384 and
           not early["merge_state"]["state"].get("edge_smbd_bytes"), "%r" % big[:6])
    if len(big) == 14:
        k = "edge_smbd_large"
        case("a large start past 65536 octets", early, elem(k, big, 6, "00" * 65537), k + "[0]")
        case("a large start longer than the cap with its rest", early, elem(k, big, 6, "00" * 65000), k + "[0]")
        case("a large start in edge_smbd_bytes (an older smbscope's bound)", early,
             lambda s: s.update(edge_smbd_bytes=[big], edge_smbd_large=[]), "edge_smbd_bytes[0]")
        case("a large start of a direction twice", early, lambda s: s.update(edge_smbd_large=[big, big]), k + "[1]")
        case("large starts past the cap", early, lambda s: s.update(edge_smbd_large=[big] * 65), k)
    frag = os.path.join(d, "grow70000.pcap")
    smbd_frag.fragmented_copy(os.path.join(samples, "rdma-iwarp-5445.pcap"), frag,
                              os.path.join(samples, "smb445-encrypt.pcap"), False, (3, 70000))
    early = cut_states(smbscope, frag, [300], d)[0]
    over = early["merge_state"]["state"].get("edge_smbd_over", [[]])[0]
    expect("a message of 70,000 octets cut: past the --pdu-cap in edge_smbd_over", len(over) == 6, "%r" % over)
    if len(over) == 6:
        k = "edge_smbd_over"
        case("a message past the cap of no edge", early, elem(k, over, 1, over[1] + 1), k + "[0]")
        case("a message past the cap where none was in progress", early, elem(k, over, 5, 1 - over[5]), k + "[0]")
        case("a message past the cap twice", early, lambda s: s.update(edge_smbd_over=[over, over]), k + "[1]")
        case("a message past the cap of another shape", early, lambda s: s.update(edge_smbd_over=[over[:5]]),
             k + "[0]")
    # longer than 65,536 octets within a raised --pdu-cap: what the decoder
    # reads of it (edge_smbd_prefix), or (--no-fast-path) not kept
    # (edge_smbd_unkept); the count of such messages merge did not decode
    frag = os.path.join(d, "grow100000.pcap")
    smbd_frag.fragmented_copy(os.path.join(samples, "rdma-iwarp-5445.pcap"), frag,
                              os.path.join(samples, "smb445-encrypt.pcap"), False, (3, 100000), 8192, 12)
    early = cut_states(smbscope, frag, [20], d, ["--pdu-cap", "131072"])[0]
    st = early["merge_state"]["state"]
    pre = st.get("edge_smbd_prefix", [[]])[0]
    expect("a message of 100,000 octets cut, --pdu-cap 131072: its length and TRANSFORM header in edge_smbd_prefix, "
           "nothing in edge_smbd_bytes or _large", len(pre) == 8 and pre[6] == 100000 and len(pre[7]) == 2 * 52 and
           not st.get("edge_smbd_bytes") and not st.get("edge_smbd_large"), "%r" % pre)
    if len(pre) == 8:
        k = "edge_smbd_prefix"
        case("a prefix not hex", early, elem(k, pre, 7, "zz" + pre[7][2:]), k + "[0]")
        case("a prefix past 4096 octets", early, elem(k, pre, 7, pre[7] + "00" * 4096), k + "[0]")
        case("a prefix not an SMB message's", early, elem(k, pre, 7, "00" + pre[7][2:]), k + "[0]")
        case("a prefix of a message not over 65536 octets", early, elem(k, pre, 6, 65536), k + "[0]")
        case("a prefix of a message past the --pdu-cap's most", early, elem(k, pre, 6, (1 << 24) + 1), k + "[0]")
        case("a prefix longer than the message's part seen", early, elem(k, pre, 6, 65537), k + "[0]")
        case("a prefix where no message was in progress", early, elem(k, pre, 5, 1 - pre[5]), k + "[0]")
        case("a prefix of no edge", early, elem(k, pre, 1, pre[1] + 1), k + "[0]")
        case("a prefix of a direction twice", early, lambda s: s.update(edge_smbd_prefix=[pre, pre]), k + "[1]")
        case("a prefix of another shape", early, lambda s: s.update(edge_smbd_prefix=[pre[:7]]), k + "[0]")
        case("prefixes past the cap", early, lambda s: s.update(edge_smbd_prefix=[pre] * 65), k)
        case("a prefix and an unkept message of one direction", early,
             lambda s: s.update(edge_smbd_unkept=[pre[:6]]), "edge_smbd_unkept[0]")
    early = cut_states(smbscope, frag, [20], d, ["--pdu-cap", "131072", "--no-fast-path"])[0]
    st = early["merge_state"]["state"]
    un = st.get("edge_smbd_unkept", [[]])[0]
    expect("the same with --no-fast-path (the decoder reads it whole): in edge_smbd_unkept, no octets",
           len(un) == 6 and not st.get("edge_smbd_prefix"), "%r" % un)
    if len(un) == 6:
        k = "edge_smbd_unkept"
        case("an unkept message where none was in progress", early, elem(k, un, 5, 1 - un[5]), k + "[0]")
        case("an unkept message twice", early, lambda s: s.update(edge_smbd_unkept=[un, un]), k + "[1]")
        case("an unkept message of another shape", early, lambda s: s.update(edge_smbd_unkept=[un + [1]]),
             k + "[0]")
        case("messages not decoded negative", early, lambda s: s.update(smbd_messages_not_decoded=-1),
             "smbd_messages_not_decoded")


def roce_tails_bounded(smbscope, samples, tmp):
    """A run keeps at most 256 RoCEv2 tails (state.roce_tails: queue-pair
    pairs it could not tell SMB), 32 of them with pieces of SENDs: 40 pairs
    of one SEND First each, then 300 of one ACK each (the sample's packets
    91 and 98 from new client addresses; each frame's IP and wire lengths
    one more than captured: its ICRC unchecked, so the packet is used):
    32 + 224 kept."""
    import struct
    d = tempfile.mkdtemp(dir=tmp)
    with open(os.path.join(samples, "rdma-roce-4791.pcap"), "rb") as f:
        data = f.read()
    frames, at = [], 24
    while at < len(data):
        sec, usec, incl, orig = struct.unpack_from("<IIII", data, at)
        frames.append((sec, usec, data[at + 16:at + 16 + incl]))
        at += 16 + incl
    out = [data[:24]]
    for i, (k, n) in enumerate(((90, 40), (97, 300))):  # packets 91 and 98
        sec, usec, frame = frames[k]
        for j in range(n):
            fr = bytearray(frame)
            fr[26:30] = bytes([10, 220 + i, j >> 8, j & 255])  # the IPv4 source
            struct.pack_into("!H", fr, 16, struct.unpack_from("!H", fr, 16)[0] + 1)  # one octet not captured
            fr[24:26] = b"\0\0"
            words = struct.unpack("!10H", bytes(fr[14:34]))
            c = sum(words)
            c = (c & 0xFFFF) + (c >> 16)
            c = (c & 0xFFFF) + (c >> 16)
            struct.pack_into("!H", fr, 24, ~c & 0xFFFF)
            out.append(struct.pack("<IIII", sec, usec + j, len(fr), len(fr) + 1) + bytes(fr))
    many = os.path.join(d, "tails.pcap")
    with open(many, "wb") as f:
        f.write(b"".join(out))
    st = json.loads(run([smbscope, "-q", "-T", "json", many])[1])["merge_state"]["state"]
    tails = st.get("roce_tails", [])
    with_sends = [t for t in tails if any(t[18 + 6 * s + 3] or t[18 + 6 * s + 5] for s in (0, 1))]
    expect("340 undecided RoCEv2 pairs: 256 tails kept, 32 of them with a SEND's start",
           len(tails) == 256 and len(with_sends) == 32, "%d tails, %d with SEND pieces" % (len(tails), len(with_sends)))


def smbd_bytes_bounded(smbscope, samples, tmp, tree=False):
    """A run keeps the SMBD pieces of at most 32 edges (64 records of
    edge_smbd_bytes, what it writes): 40 copies of the iWARP connection cut
    inside its SESSION_SETUP (new client ports) keep 32.  tree: cut inside
    a TREE_CONNECT request instead (smbd_frag.py's copy, every message in
    pieces; not its direction's first data message): the start of any SMB
    message is kept (merge decodes it whole), under the same bound."""
    import struct
    d = tempfile.mkdtemp(dir=tmp)
    early, many = os.path.join(d, "early.pcap"), os.path.join(d, "many.pcap")
    source, port, k = os.path.join(samples, "rdma-iwarp-markers-15445.pcap"), 49713, 12
    if tree:
        source, port, k = os.path.join(d, "frag.pcap"), smbd_frag.PORT, 26
        smbd_frag.fragmented_copy(os.path.join(samples, "rdma-iwarp-5445.pcap"), source)
    subprocess.run(["editcap", "-F", "pcap", "-r", source, early, "1-%d" % k], check=True)
    with open(early, "rb") as f:
        head, body = f.read(24), f.read()
    recs, at = [], 0
    while at < len(body):
        sec, usec, incl, orig = struct.unpack_from("<IIII", body, at)
        recs.append((sec, usec, body[at + 16:at + 16 + incl]))
        at += 16 + incl
    out = [head]
    for i in range(40):
        for sec, usec, frame in recs:
            fr = bytearray(frame)
            tcp = 14 + (fr[14] & 15) * 4
            for off in (tcp, tcp + 2):  # the client's port either way
                if struct.unpack_from("!H", fr, off)[0] == port:
                    struct.pack_into("!H", fr, off, 40000 + i)
            out.append(struct.pack("<IIII", sec, usec + i, len(fr), len(fr)) + bytes(fr))
    with open(many, "wb") as f:
        f.write(b"".join(out))
    rc, outj, err = run([smbscope, "-q", "-T", "json", many])
    st = json.loads(outj)["merge_state"]["state"]
    kept = st.get("edge_smbd_bytes", [])
    what = "a TREE_CONNECT request" if tree else "a SESSION_SETUP"
    cmd = 3 if tree else 1  # the SMB2 command of the kept starts (MS-SMB2 2.2.1)
    expect("40 iWARP connections cut inside %s: the pieces of 32 kept" % what,
           len(st["edge_frames"]) == 40 and len(kept) == 32 and
           all(r[6] and bytes.fromhex(r[6])[12] == cmd for r in kept),
           "%d edges, %d kept" % (len(st["edge_frames"]), len(kept)))


def named_merge(smbscope, samples, tmp):
    d = tempfile.mkdtemp(dir=tmp)
    sample = os.path.join(samples, "smb445-list-shares.pcap")
    shutil.copy(sample, os.path.join(d, "merge"))
    rc0, ref, _ = run([smbscope, "-q", "-T", "json", sample])
    ref = json.loads(ref)
    for args in (["./merge"], ["-r", "merge"]):
        p = subprocess.run([smbscope, "-q", "-T", "json", "--merge-state"] + args, cwd=d, capture_output=True)
        label = "a capture named merge, as %s" % " ".join(args)
        if p.returncode not in (0, 1, 3):
            expect(label, False, "exit %d: %s" % (p.returncode, p.stderr.decode(errors="replace")))
            continue
        doc = json.loads(p.stdout)
        paths = [i["path"] for i in doc.get("inputs", [])]
        same = {k: v for k, v in doc.items() if k not in ("inputs", "merge_state")} == \
            {k: v for k, v in ref.items() if k not in ("inputs", "merge_state")}
        expect(label + ": analysed as a capture", p.returncode == rc0 and paths == [args[-1]] and same,
               "exit %d, inputs %r" % (p.returncode, paths))
        report = os.path.join(d, "report.json")
        with open(report, "wb") as f:
            f.write(p.stdout)
        rc, out, err = run([smbscope, "merge", "-q", "-T", "json", report])
        expect(label + ": its report merges", rc == rc0, "exit %d: %s" % (rc, err.strip()))
    p = subprocess.run([smbscope, "merge"], cwd=d, capture_output=True, timeout=60)
    expect("`smbscope merge` with no report: a usage error, the capture named merge is not read",
           p.returncode == 2 and b"no report" in p.stderr and not p.stdout, p.stderr.decode(errors="replace"))


def orders(smbscope, reports, samples):
    """Every argument order tried gives the same bytes; groupings agree."""
    picks = [s for s in samples if os.path.basename(s) in
             ("mixed-nbns-139-445.pcap", "smb445-list-shares.pcap", "race-139-answered.pcap",
              "nbss-on-445.pcap", "smb445-nt1.pcap", "netbios-refused-tcp139.pcap")]
    expect("six samples for the order checks", len(picks) == 6, [os.path.basename(p) for p in picks])
    files = [reports.of(c)[0] for c in picks]
    outs = set()
    tried = [files, files[::-1], files[3:] + files[:3], [files[i] for i in (4, 1, 5, 0, 2, 3)]]
    for order in tried:
        rc, out, err = run([smbscope, "merge", "-T", "json"] + order)
        outs.add((rc, out))
    expect("merge of 6 reports: the same output in %d argument orders" % len(tried), len(outs) == 1,
           "%d different outputs" % len(outs))
    tmp = os.path.dirname(files[0])

    def merged(name, args):
        rc, out, err = run([smbscope, "merge", "-T", "json"] + args)
        path = os.path.join(tmp, name + ".json")
        with open(path, "wb") as f:
            f.write(out)
        return path

    a, b, c = files[:2], files[2:4], files[4:]
    left = merged("ab", a + b)
    right = merged("bc", b + c)
    for name, args in (("A+B+C", a + b + c), ("(A+B)+C", [left] + c), ("A+(B+C)", a + [right])):
        merge_check.compare("merge %s equals the joint run" % name, smbscope, reports, picks, args)


packets = pcap_cut.packets  # capinfos -c


def every_cut(smbscope, capture, tmp):
    """Two parts, cut after each packet in turn (editcap -r)."""
    n = packets(capture)
    for k in range(1, n):
        d = tempfile.mkdtemp(dir=tmp)
        a, b = os.path.join(d, "a.pcap"), os.path.join(d, "b.pcap")
        pcap_cut.records(capture, a, 1, k)
        pcap_cut.records(capture, b, k + 1, n)
        merge_check.compare("cut after packet %d of %d, %s" % (k, n, os.path.basename(capture)), smbscope,
                            merge_check.Reports(smbscope, d), [a, b])
        shutil.rmtree(d)


def sweep(smbscope, samples, tmp):
    """Every sample cut by time into 2 and 5 parts, and three samples cut
    in two after each of their packets (not in the suite)."""
    for capture in samples:
        for parts in (2, 5):
            if duration(capture) > 0:
                time_cut(smbscope, capture, parts, tmp)
    for name in ("smb445-smb3_11.pcap", "nbt139-smb3_11.pcap", "netbios-refused-tcp139.pcap"):
        every_cut(smbscope, [c for c in samples if os.path.basename(c) == name][0], tmp)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples", required=True)
    ap.add_argument("--sweep", action="store_true")
    a = ap.parse_args()
    smbscope = os.path.abspath(a.smbscope)
    # as merge_check.py: no .pcap.gz twin, no sample cut from another (NAME.origin)
    samples = sorted(c for c in glob.glob(os.path.join(a.samples, "*.pcap"))
                     if not os.path.exists(os.path.splitext(c)[0] + ".origin"))
    with tempfile.TemporaryDirectory() as tmp:
        if a.sweep:
            sweep(smbscope, samples, tmp)
        else:
            named_merge(smbscope, a.samples, tmp)
            unseen_vs_tshark(smbscope, a.samples, tmp)
            quic_head_alone(smbscope, a.samples, tmp)
            malformed_cut_state(smbscope, a.samples, tmp)
            malformed_smbd_bytes(smbscope, a.samples, tmp)
            malformed_rdma_state(smbscope, a.samples, tmp)
            roce_tails_bounded(smbscope, a.samples, tmp)
            smbd_bytes_bounded(smbscope, a.samples, tmp)
            smbd_bytes_bounded(smbscope, a.samples, tmp, tree=True)
            data_tails_bounded(smbscope, tmp)
            for name, k in PACKET_CUTS:
                packet_cut(smbscope, os.path.join(a.samples, name), k, tmp)
            for name, parts in TIME_CUTS:
                time_cut(smbscope, os.path.join(a.samples, name), parts, tmp)
            for name, parts in CUT_ORDERS:
                cut_orders(smbscope, os.path.join(a.samples, name), parts, tmp)
            orders(smbscope, merge_check.Reports(smbscope, tmp), samples)
    print("%d failure(s)" % len(merge_check.failures))
    return 1 if merge_check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
