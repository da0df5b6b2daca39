#!/usr/bin/python3
"""merge_cuts_check.py - a capture cut in two at every packet boundary: the
merge of the two parts' reports equals the run over both parts.

For each sample below, for every k, part A holds packets 1..k and part B the
rest (editcap -r); `smbscope merge A.json B.json` must equal `smbscope A B`
(merge_check.py's comparison).  Every exchange cut at some k: the TCP
handshake, NBSS session request/response, NEGOTIATE (SMB1 then SMB2 in
impacket-445), SESSION_SETUP (each round of NTLM), TREE_CONNECT, signed and
encrypted traffic, the FIN/ACK exchange; SMB over QUIC (its handshake, a
later part that begins with the client's later Initial, 1-RTT datagrams);
iWARP with MPA markers (a later part reads them where they are), its MPA
startup cut apart (the later part begins with the reply); an SMB
Direct SESSION_SETUP whose SMBD fragments the cut divides (merge decodes it
whole: state.edge_smbd_bytes), an RDMA Send whose DDP segments it divides.
FRAGMENTED cuts an iWARP copy made at test time with every SMB2 message in
SMBD pieces (smbd_frag.py): a NEGOTIATE, a TREE_CONNECT, an encrypted
message, a message cut twice (three parts), a Send inside a message in
pieces; ROCE_CUTS the RoCEv2 sample where a later part begins with the
negotiate response or a message's piece, a SEND of several packets divided,
a later part of ACKs only; ROCE_MIDSTREAM_CUTS a RoCEv2 copy seen from its
middle whose earlier part holds only its pair's ACKs and RDMA Write;
STRAY_CUTS a RoCEv2 copy whose first packet goes from the server to another
QP of the client's host (stray_first(): also its run against the sample's
and --jobs 2).

KNOWN lists the cuts merge does not join yet, each with its reason (README.md,
smbscope merge, says the same); a listed cut that now joins is reported, not
failed.  Every other cut must be equal: also the cut after a connection's two
FINs, before its last ACK (the earlier part's run keeps the connection that
lingers with a FIN not acknowledged: mstate_join_fin.h, fin_linger_note).

With --count SAMPLE..., no check: every cut of those samples is tried and
the cuts that are not equal are counted and listed with their first
difference (how RESULTS.md counts "every-packet cuts wrong"; the three
iWARP samples and the five QUIC samples are its usual sets).

Usage: merge_cuts_check.py --smbscope BIN --samples DIR [--count SAMPLE...]
"""

import argparse
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import merge_check as mc  # noqa: E402
import cut_subset  # noqa: E402
import rdma_read  # noqa: E402
import smbd_frag  # noqa: E402
import tcp_cuts  # noqa: E402


# sample -> {cut after k: reason}
KNOWN = {
    "smb445-list-shares.pcap": {},
    "nbt139-smb3_11.pcap": {},
    "impacket-445.pcap": {},
    # SMB over QUIC: cut after 1 (the Retry and the new ClientHello in the
    # later part: its connection is the one the earlier part left open,
    # mstate_join_quic_edge.h; the Retry a tail's, state.quic_tail_facts),
    # after 2 (the Retry in the earlier part), after 3 (the ServerHello in
    # the later part: its suite read in merge with the Initial keys of the
    # earlier part's DCID, mstate_join_quic_hello.h); from the cut after 4
    # (the later part begins with the client's later Initial:
    # state.quic_heads) every cut joins
    "quic443-smb3_11.pcap": {},
    # QUIC that is not SMB, its server's Retry: cut after 1 and 2 the later
    # part's connection from the new ClientHello is the earlier part's
    # (state.quic_starts); after 3 the server's Initial the later part could
    # not decrypt (its keys the earlier part's: state.quic_tail_facts) is no
    # decode loss of the whole
    "quic443-other-alpn.pcap": {},
    # iWARP with MPA markers: a later part finds them (their places follow
    # the stream's start it did not see: iwarp_fpdu_probe_markers)
    # (39, 40: an SMBD message in pieces the cut divides, whose content shows
    # nowhere: counted once, fragmented, no framing anomaly: state.edge_frames)
    # (5: the earlier part holds the whole MPA startup, no FPDU: state.syn_flow_payloads)
    # (12: the NTLM AUTHENTICATE's SESSION_SETUP in two SMBD fragments the cut
    # divides: merge decodes it whole from the bytes each part kept,
    # state.edge_smbd_bytes, mstate_join_smbd.h: the session's user, domain,
    # workstation)
    # (4: the later part begins with the MPA reply: iWARP seen from its middle
    # from it (rdma_iwarp.c: recognise()), joined to the earlier part's
    # handshake and request (state.syn_flow_payloads), smb_direct.mpa of both)
    # (51: a READ response's RDMA Send in two DDP segments the cut divides:
    # merge puts it together from the bytes each part kept, state.edge_smbd_bytes:
    # one Send, none dropped, its SMBD data transfer message)
    "rdma-iwarp-markers-15445.pcap": {},
    # the same without markers (4: the MPA reply begins the later part; 12:
    # the SESSION_SETUP's fragments divided)
    "rdma-iwarp-5445.pcap": {},
    # iWARP seen from its middle: an early part of the SMBD startup alone
    # (the client named by port) joined to the NEGOTIATE the later part
    # saw (mstate_join_client.h); a later part that listed, then set up,
    # a session (its emptied unseen_sessions: mstate_join_enc.h); 7: the
    # SESSION_SETUP's SMBD fragments divided, decoded whole by merge
    "rdma-iwarp-midstream-5445.pcap": {},
    # a negative response in the later part (its error code joined), the FINs
    "nbss-negative.pcap": {},
    # SMB Direct over RoCEv2 (ROCE_CUTS says what the cuts hold): every cut
    # joins since the SEND of several packets (91, 92) and the later part of
    # one ACK (97) do (state.edge_roce_sends, state.roce_tails)
    "rdma-roce-4791.pcap": {},
}


# The cuts of KNOWN's samples made by default (cut_subset; SMBSCOPE_FULL=1:
# every one): those the comments above name, the NEGOTIATE exchanges, the
# FINs (list-shares: after both, before the last ACK; nbss-negative: the
# negative response in the later part, then between the FINs; nbt139 and
# impacket: the NEGOTIATE, the second one SMB2's after SMB1's).  RoCEv2's
# named cuts are ROCE_CUTS' (made there, the same parts).
KNOWN_DEFAULT = {
    "smb445-list-shares.pcap": (30,),
    "nbt139-smb3_11.pcap": (8,),
    "impacket-445.pcap": (8,),
    "quic443-smb3_11.pcap": (1, 2, 3, 4),
    "quic443-other-alpn.pcap": (1, 2, 3),
    "rdma-iwarp-markers-15445.pcap": (4, 5, 12, 39, 40, 51),
    "rdma-iwarp-5445.pcap": (4, 12),
    "rdma-iwarp-midstream-5445.pcap": (7,),
    "nbss-negative.pcap": (5, 8, 9),
    "rdma-roce-4791.pcap": (),
}


# Cuts into three or more parts, after the packets listed: a connection
# spanning them joins into one.  Its handshake over three or four parts: the
# SYN in one, the SYN-ACK (and ACK) in the next; the SYN and SYN-ACK in one,
# the ACK in the next (the parts between hold tails of its ends, joined to
# the SYN's part: mstate_join_syn.h, mstate_join_syn_heads; the responder's
# ISN from the tail that began with the SYN-ACK: state.tail_synacks); and a
# connection in more parts, its middle ones holding an SMB exchange or its
# ACKs alone.
SPANS = {
    "smb445-list-shares.pcap": [(1, 2), (1, 3), (2, 3), (1, 2, 3), (2, 5, 9, 20)],
    "nbss-negative.pcap": [(2, 3)],
}

# A cut right after the client's NEGOTIATE request (SIGNING_REQUIRED in its
# security mode), the response in a later part: the run over the parts
# judges signing required (either side's bit: session_facts.c), the later
# part alone only sees the server's "enabled".  The earlier part keeps the
# request's bit (state.edge_xchg[].neg_signing_required) and merge applies
# it when it joins the response (mstate_xchg_join.c); also when the
# handshake is a part of its own (the request's part seen from its middle,
# mstate_join_hs.c), or the response's part is a middle one.
NEGOTIATE_CUTS = {
    "smb445-sign.pcap": [(4,), (5,), (2, 4), (3, 4), (4, 6), (1, 4, 5)],
    "smb445-encrypt.pcap": [(4,), (5,), (1, 4), (4, 5, 6)],
}

# TCP edge cases a cut falls into (tcp_cuts.py makes them from
# smb445-list-shares.pcap at test time; every packet the sample's):
# - its SYN sent 1 s (and 10 us) before the sample's, which becomes its
#   retransmission: cut after the first SYN, the later part's run sees the
#   connection from the retransmitted SYN and closes it there (folded into
#   its groups); the run over the parts has one connection from the first
#   SYN (state.syn_starts: the later part's connections begun within the
#   half-open timeout, mstate_syn_starts.h).  Every cut of the 1 s copy,
#   and the SYNs, SYN-ACK and ACK in three and four parts;
# - the connection left open after packet 20 and its 4-tuple opened again
#   1 s later by a SYN of another ISN: the first ends "reused" in the run
#   over the parts, also when the later part holds the whole second one;
# - the connection seen from its server's side after the handshake (the
#   client's later packets lost: half-open, flow.c) beside a second one
#   whose last packets come 150 s later: the run over the parts closes the
#   first "idle" at the first packet after the gap, before the second
#   closes (state.edge_half_open, edge_client_silent: mstate_half_open.h);
#   with --connections-limit 1 the first is the one detailed (merge kept it
#   open, to be added last, and detailed the second).  Cut at the gap, and
#   also inside the second's later packets.  (Cuts inside the one-sided
#   connection count the client's lost bytes as gaps otherwise: not checked.)
RESYN_CUTS = [(1, 2), (1, 3), (1, 2, 3), (1, 20)]
REUSE_CUTS = [(20,), (21,), (20, 21), (10, 20), (20, 40)]
HALF_OPEN_AFTER = [(0,), (1,), (0, 1), (0, 10)]  # cut after the gap's first packets, counted from it

# Generated captures of many short connections open at once (tests/bench/
# gen_capture.py --many N --overlap M), cut with editcap -c into parts each
# connection spans several of (40 connections, 20 open at once: each spans
# about 200 packets; cut every 30 and 70 packets: 14 and 6 parts).
GENERATED = [(40, 20, (30, 70))]
# SMB Direct with every SMB2 message in SMBD pieces (smbd_frag.py: both ends'
# MaxReceiveSize 128, made at test time from rdma-iwarp-5445.pcap; "encrypt":
# carrying smb445-encrypt.pcap's messages): a cut between two pieces of a
# message.  Each part keeps its piece (state.edge_smbd_bytes) and merge
# decodes the message whole as a part of its own between them
# (mstate_join_smbd.h): (messages from, cut after, what the message is)
# (messages from, each Send in two DDP segments, cut after (several: in as
# many parts), what the message is[, smbd_frag.grown()'s (which, size)])
FRAGMENTED = [
    (None, False, [8], "the NEGOTIATE request: dialects offered, client GUID, contexts"),
    (None, False, [11], "the NEGOTIATE response: dialect, signing, cipher, capabilities"),
    (None, False, [26], "a TREE_CONNECT request: its share, answered in the later part"),
    ("smb445-encrypt.pcap", False, [26], "an encrypted message (TRANSFORM header): encrypted PDUs of its session"),
    # a part that holds only a message's middle or end is an SMB Direct
    # connection (its SMBD data transfer messages say so, as a negotiate
    # does): joined, the message put together from three parts
    (None, False, [101], "a CLOSE response: the later part holds only its end, then the FINs"),
    (None, False, [20, 22], "the AUTHENTICATE's SESSION_SETUP in three parts: who logged on"),
    (None, False, [66, 70], "a WRITE in three parts, the middle one only its middle"),
    # an RDMA Send cut between its DDP segments whose SMBD data transfer
    # message is a piece of an SMB2 message (the Send put together, its piece
    # added to the message in progress: mstate_join_frame.c send_data())
    (None, True, [10], "the Send of the NEGOTIATE request's second piece"),
    (None, True, [16], "the Send of the NEGOTIATE response's second piece"),
    (None, True, [36], "the Send of the AUTHENTICATE's fourth piece"),
    (None, True, [9, 16], "the NEGOTIATE request's pieces and the response's second Send in three parts"),
    # a NEGOTIATE request that requires signing, its Sends divided: merge
    # decodes it as a part of its own, whose unanswered request's bit the
    # joined connection keeps for the response (mstate_xchg_join.c)
    ("smb445-encrypt.pcap", True, [8], "the Send of a NEGOTIATE request's first piece, signing required"),
    ("smb445-encrypt.pcap", True, [12], "the Send of the same request's last piece"),
    # an SMB2 message over 16,384 octets (an encrypted READ response grown
    # to 20,000: smbd_frag.grown(), frames 32..224) in SMBD pieces: merge
    # decodes it whole as the run does up to its --pdu-cap (64 KiB by
    # default: rdma.h RDMA_MSG_KEEP_MAX; state.edge_smbd_large)
    ("smb445-encrypt.pcap", False, [100], "an encrypted message of 20,000 octets: its session's encrypted PDUs",
     (3, 20000)),
    ("smb445-encrypt.pcap", False, [32], "the same after its first piece", (3, 20000)),
    ("smb445-encrypt.pcap", False, [223], "the same before its last piece", (3, 20000)),
    ("smb445-encrypt.pcap", False, [60, 150], "the same in three parts", (3, 20000)),
    # past the --pdu-cap (70,000 octets, frames 32..705): the run drops it at
    # its end (smb_direct.smbd.dropped_messages), an unknown in both; the
    # later part's rest of it is no message of its own (state.edge_smbd_over)
    ("smb445-encrypt.pcap", False, [300], "an encrypted message of 70,000 octets, past the --pdu-cap: dropped",
     (3, 70000)),
    ("smb445-encrypt.pcap", False, [100, 600], "the same in three parts", (3, 70000)),
]

# RoCEv2 (samples/rdma-roce-4791.pcap, SMBD messages longer than 488 octets
# in pieces): a later part whose first message is the SMBD negotiate
# response (its peer the client), or the piece of a message whose start it
# did not see, is an SMB Direct connection (rdma_roce.c maybe_smb()), joined;
# the message a cut divides is put together as iWARP's (state.edge_frames,
# state.edge_smbd_bytes).  (cut after (several: in as many parts), what)
ROCE_CUTS = [
    (1, "the later part begins with an ACK, then the SMBD negotiate response; its queue pairs"),
    (2, "the later part begins with the SMBD negotiate response"),
    (13, "the AUTHENTICATE's SESSION_SETUP in two SMBD pieces: who logged on"),
    (68, "a WRITE in three SMBD pieces, the later part from its second"),
    # a SEND of several packets (the READ response's SEND First/Middle/Last)
    # the cut divides: the earlier part keeps its start, the later part the
    # Middle and Last that open it (rdma_roce.c: struct roce_rest), and merge
    # puts the SEND together (state.edge_roce_sends)
    (91, "a SEND divided after its First: one SEND, its SMBD data transfer message"),
    (92, "a SEND divided after its Middle"),
    # a later part of one ACK: no SEND of its pair, so its run cannot tell it
    # SMB; it keeps the pair (state.roce_tails) and merge joins it to the
    # connection it follows (mstate_join_roce.h)
    (97, "the later part holds only the responder's last ACK"),
    # three parts, the middle one's pair undecided or named from its first
    # sender: an ACK then the AUTHENTICATE's last SMBD piece (its run names
    # the server the client: joined the other way round); only a SEND's
    # First, Middle or Last, or its Middle and Last (state.roce_tails with
    # their SEND pieces: the SEND put together over three parts)
    ((13, 15), "a middle part of an ACK and the AUTHENTICATE's last SMBD piece, named from the server"),
    ((90, 91), "a middle part holding only a SEND First"),
    ((91, 92), "a middle part holding only a SEND Middle"),
    ((92, 93), "a middle part holding only a SEND Last"),
    ((91, 93), "a middle part holding a SEND's Middle and Last"),
    ((96, 97), "a middle part of one SEND, the last part of one ACK"),
]


# RoCEv2 seen from its middle (rdma_read.roce_midstream_copy(): the sample
# from the server's ACK of the READ request on, its RDMA Write in two
# packets): the pair's first packets are ACKs and the Write, then the READ
# response's SEND First/Middle/Last.  A part of those alone cannot tell the
# pair SMB; it keeps it (state.roce_tails) and merge joins it to the part
# that decides, as that part's beginning (mstate_join_roce.h
# mstate_join_roce_lead(): first seen, packets and bytes each way, ACKs,
# the Write; a SEND it began, whose rest opened the later part: one SEND
# more, its SMBD message); the pair's ports are the client's UDP source
# port and 4791 whichever side the capture saw first (rdma_roce.c
# name_ports(): the run over the parts named the server's source port the
# server port, an alternative port, when the server's ACK came first).
# Every cut in two, and these in three or more parts (each fails on main):
ROCE_MIDSTREAM_CUTS = [
    (1, 2), (1, 4), (2, 4), (3, 5), (4, 5), (4, 6), (5, 6), (5, 7), (6, 7), (6, 8),
    (1, 2, 3, 4, 5, 6, 7), (2, 5, 7),
]


# SMB2 messages longer than 65,536 octets in SMBD pieces, decoded by the
# run with a raised --pdu-cap (an encrypted message grown to 100,000 octets,
# smbd_frag.grown(); MaxReceiveSize 8,192; the session's first 12 messages):
# over iWARP (smbd_frag.fragmented_copy()) and RoCEv2
# (smbd_frag.roce_fragmented_copy()), cut in two at every packet, the runs
# and merge with --pdu-cap 131072.  A run keeps what the decoder reads of
# such a message in progress at its end, its TRANSFORM header, and its
# length (state.edge_smbd_prefix); merge decodes it from that (main: counted,
# not decoded: encrypted_pdus one short).  LONG_LABELLED: cuts where merge
# counts it without decoding and says so
# (stats.merged.smbd_messages_not_decoded): a RoCEv2 SEND divided whose SMBD
# message begins the long message (what the decoder reads of it depends on
# the run's --pdu-cap and mode, which no state carries), and the iWARP copy
# under --no-fast-path (the decoder reads it whole: not carried, the state
# stays bounded).
LONG_GROW, LONG_CAP = (3, 100000), "131072"
LONG_LABELLED = {("roce", 23, ()), ("iwarp", 20, ("--no-fast-path",))}


def long_copies(samples, tmp):
    """{carrier: (copy, its packets)} of the long-message copies."""
    enc = os.path.join(samples, "smb445-encrypt.pcap")
    iw, ro = os.path.join(tmp, "long-iwarp.pcap"), os.path.join(tmp, "long-roce.pcap")
    return {"iwarp": (iw, smbd_frag.fragmented_copy(os.path.join(samples, "rdma-iwarp-5445.pcap"), iw, enc, False,
                                                    LONG_GROW, 8192, 12)),
            "roce": (ro, smbd_frag.roce_fragmented_copy(os.path.join(samples, "rdma-roce-4791.pcap"), ro, enc,
                                                        LONG_GROW, upto=12))}


def long_cut(smbscope, copy, ks, n, tmp, options):
    """compare() of copy cut after ks, and merge's stats.merged."""
    d = os.path.join(tmp, "long-%s-%s-%s" % (os.path.basename(copy), "-".join(map(str, ks)), len(options)))
    os.mkdir(d)
    bounds, parts = [0] + list(ks) + [n], []
    for i in range(len(bounds) - 1):
        parts.append(os.path.join(d, "p%d.pcap" % i))
        subprocess.run(["editcap", "-r", copy, parts[-1], "%d-%d" % (bounds[i] + 1, bounds[i + 1])], check=True)
    opts = ["--pdu-cap", LONG_CAP] + list(options)
    reports = []
    for p in parts:
        reports.append(p + ".json")
        with open(reports[-1], "wb") as f:
            f.write(mc.run([smbscope, "-q", "-T", "json"] + opts + [p])[1])
    rc_j, joint, _ = mc.run([smbscope, "-q", "-T", "json"] + opts + parts)
    rc_m, merged, err = mc.run([smbscope, "merge", "-T", "json"] + opts + reports)
    if rc_m == 2:
        return "merge failed: " + err.strip(), 0
    m = mc.json.loads(merged)
    diff = mc.first_diff(mc.normal(m), mc.normal(mc.json.loads(joint)))
    diff = diff or (None if rc_m == rc_j else "exit %d != %d" % (rc_m, rc_j))
    return diff, m["stats"]["merged"].get("smbd_messages_not_decoded", 0)


def longs(smbscope, samples, tmp):
    for carrier, (copy, n) in long_copies(samples, tmp).items():
        # by default the labelled cut, the middle one and the cut in four
        ks = cut_subset.pick(range(1, n), 1, [k for c, k, _ in LONG_LABELLED if c == carrier])
        cut_subset.note("%s copy, a message of 100,000 octets: cuts in two" % carrier, ks, n - 1)
        cuts = [((k,), ()) for k in ks] + [((8, 20, 30), ())]
        cuts += [((k,), o) for c, k, o in sorted(LONG_LABELLED) if c == carrier and o]
        for ks, options in cuts:
            diff, undecoded = long_cut(smbscope, copy, ks, n, tmp, options)
            label = "%s copy, a message of 100,000 octets in SMBD pieces, --pdu-cap %s%s, cut after packet %s of %d" % (
                carrier, LONG_CAP, "".join(" " + o for o in options), " and ".join(map(str, ks)), n)
            if (carrier, ks[0], options) in LONG_LABELLED and len(ks) == 1:
                mc.expect(label + ": counted, not decoded, and said so",
                          undecoded == 1 and diff is not None and "encrypted_pdus" in diff, "%s %r" % (undecoded, diff))
            else:
                mc.expect(label, diff is None and not undecoded, "%s %r" % (undecoded, diff))


def json_short(x):
    return mc.json.dumps(x)[:300]


def packets(path):
    out = subprocess.run(["capinfos", "-Mcr", path], check=True, stdout=subprocess.PIPE).stdout.decode()
    return int(out.split()[-1])


def cut(smbscope, sample, k, n, tmp):
    """cut_parts() in two."""
    return cut_parts(smbscope, sample, [k], n, tmp)


def compare(smbscope, parts, d, options=()):
    """The merge of the parts' reports against the run over the parts."""
    opts = list(options)
    reports = []
    for p in parts:  # in the order of their packets (the joint run reads them so)
        reports.append(p + ".json")
        with open(reports[-1], "wb") as f:
            f.write(mc.run([smbscope, "-q", "-T", "json"] + opts + [p])[1])
    rc_j, joint, _ = mc.run([smbscope, "-q", "-T", "json"] + opts + parts)
    rc_m, merged, err = mc.run([smbscope, "merge", "-T", "json"] + opts + reports[::-1])
    if rc_m == 2:
        return "merge failed: " + err.strip()
    d = mc.first_diff(mc.normal(mc.json.loads(merged)), mc.normal(mc.json.loads(joint)))
    return d or (None if rc_m == rc_j else "exit %d != %d" % (rc_m, rc_j))


# Parts and their reports made once (editcap, smbscope), whatever asks for
# them: ROCE_CUTS' cut in two is KNOWN's at the same place, and the parts of
# cuts in three share ends with the cuts in two (a capture's path names its
# content: each copy is written once).
PARTS, CUT_PARTS = {}, {}
REPORTS = [None]


def part(sample, lo, hi, tmp):
    """The capture of sample's packets lo..hi (editcap -r), made once."""
    key = (os.path.abspath(sample), lo, hi)
    if key not in PARTS:
        d = os.path.join(tmp, "parts")
        os.makedirs(d, exist_ok=True)
        PARTS[key] = os.path.join(d, "%d-%s-%d-%d.pcap" % (len(PARTS), os.path.basename(sample), lo, hi))
        subprocess.run(["editcap", "-r", sample, PARTS[key], "%d-%d" % (lo, hi)], check=True)
    return PARTS[key]


def cut_parts(smbscope, sample, ks, n, tmp):
    """The merge of sample cut after ks (len(ks) + 1 parts) against the run
    over the parts: the first difference or None (made once)."""
    key = (os.path.abspath(sample), tuple(ks), n)
    if key in CUT_PARTS:
        return CUT_PARTS[key]
    if REPORTS[0] is None:
        os.makedirs(os.path.join(tmp, "parts"), exist_ok=True)
        REPORTS[0] = mc.Reports(smbscope, os.path.join(tmp, "parts"))
    reports = REPORTS[0]
    bounds = [0] + list(ks) + [n]
    parts = [part(sample, bounds[i] + 1, bounds[i + 1], tmp) for i in range(len(bounds) - 1)]
    caps = reports.chrono(parts)
    rc_j, joint, _ = mc.run([smbscope, "-q", "-T", "json"] + caps)
    rc_m, merged, err = mc.run([smbscope, "merge", "-T", "json"] + [reports.of(p)[0] for p in parts])
    if rc_m == 2:
        CUT_PARTS[key] = "merge failed: " + err.strip()
        return CUT_PARTS[key]
    d = mc.first_diff(mc.normal(mc.json.loads(merged)), mc.normal(mc.json.loads(joint)))
    CUT_PARTS[key] = d or (None if rc_m == rc_j else "exit %d != %d" % (rc_m, rc_j))
    return CUT_PARTS[key]


def spans(smbscope, samples, tmp):
    """SPANS and GENERATED: connections over three or more parts;
    NEGOTIATE_CUTS."""
    for name, cuts in list(SPANS.items()) + list(NEGOTIATE_CUTS.items()):
        sample = os.path.join(samples, name)
        n = packets(sample)
        for ks in cuts:
            d = os.path.join(tmp, "%s-%s" % (name, "-".join(map(str, ks))))
            os.mkdir(d)
            bounds = [0] + list(ks) + [n]
            parts = []
            for i in range(len(bounds) - 1):
                parts.append(os.path.join(d, "p%d.pcap" % i))
                subprocess.run(["editcap", "-r", sample, parts[-1], "%d-%d" % (bounds[i] + 1, bounds[i + 1])],
                               check=True)
            diff = compare(smbscope, parts, d)
            mc.expect("%s cut after packets %s (%d parts)" % (name, ", ".join(map(str, ks)), len(parts)),
                      diff is None, diff or "")
    synacks(smbscope, samples, tmp)
    gen = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench", "gen_capture.py")
    for many, overlap, everies in GENERATED:
        whole = os.path.join(tmp, "m%d-%d.pcap" % (many, overlap))
        subprocess.run([sys.executable, gen, "--samples", samples, "--many", str(many), "--overlap", str(overlap),
                        whole], check=True, stdout=subprocess.DEVNULL)
        for every in cut_subset.pick(everies, 0, everies[-1:]):  # by default parts of 70
            d = os.path.join(tmp, "m%d-%d-c%d" % (many, overlap, every))
            os.mkdir(d)
            subprocess.run(["editcap", "-c", str(every), whole, os.path.join(d, "p.pcap")], check=True,
                           stdout=subprocess.DEVNULL)
            parts = sorted(os.path.join(d, f) for f in os.listdir(d) if f.startswith("p_"))
            # --connections all: every connection's entry compared (the
            # default keeps the first 250 to close in each run: a middle
            # part past that keeps no entry for the part it holds)
            diff = compare(smbscope, parts, d, ["--connections", "all"])
            mc.expect("%d connections, %d open at once, cut every %d packets (%d parts)" % (
                many, overlap, every, len(parts)), diff is None, diff or "")


def synacks(smbscope, samples, tmp):
    """state.tail_synacks: a part that begins with a connection's SYN-ACK
    carries its ISN; one it does not name, or out of range, is refused."""
    sample = os.path.join(samples, "smb445-list-shares.pcap")
    d = os.path.join(tmp, "synacks")
    os.mkdir(d)
    part = os.path.join(d, "p.pcap")
    subprocess.run(["editcap", "-r", sample, part, "2-2"], check=True)  # the SYN-ACK alone
    doc = mc.json.loads(mc.run([smbscope, "-q", "-T", "json", part])[1])
    st = doc["merge_state"]["state"]
    mc.expect("a part of a SYN-ACK alone: its tail's ISN in state.tail_synacks",
              len(st.get("tails", [])) == 1 and [x[0] for x in st.get("tail_synacks", [])] == [0],
              str(st.get("tail_synacks")))
    for name, synacks, needle in (("a place past the tails", [[1, 5]], "tail_synacks[0]: not the place of a later tail"),
                                  ("places not in order", [[0, 5], [0, 6]], "tail_synacks[1]: not the place"),
                                  ("an ISN past 32 bits", [[0, 1 << 32]], "tail_synacks[0]"),
                                  ("not [place, isn]", [[0]], "tail_synacks[0]: not [place, isn]")):
        t = mc.json.loads(mc.json.dumps(doc))
        t["merge_state"]["state"]["tail_synacks"] = synacks
        bad = os.path.join(d, "bad.json")
        with open(bad, "w") as f:
            mc.json.dump(mc.redigest(t), f)
        rc, _, err = mc.run([smbscope, "merge", bad])
        mc.expect("refuses state.tail_synacks: " + name, rc == 2 and needle in err, "exit %d, %r" % (rc, err.strip()))


def split(sample, ks, n, d):
    os.mkdir(d)
    bounds = [0] + list(ks) + [n]
    parts = []
    for i in range(len(bounds) - 1):
        parts.append(os.path.join(d, "p%d.pcap" % i))
        subprocess.run(["editcap", "-r", sample, parts[-1], "%d-%d" % (bounds[i] + 1, bounds[i + 1])], check=True)
    return parts


def tcp_edges(smbscope, samples, tmp):
    """RESYN_CUTS, REUSE_CUTS, HALF_OPEN_CUTS (tcp_cuts.py)."""
    src = os.path.join(samples, "smb445-list-shares.pcap")
    resyn = os.path.join(tmp, "resyn.pcap")
    n = tcp_cuts.syn_again(src, resyn, 1000000)
    ks = cut_subset.pick(range(1, n), 0, (1, 2, 3, 20))  # by default the SYNs, SYN-ACK and ACK, and 20
    cut_subset.note("SYN again 1 s later: cuts in two", ks, n - 1)
    for k in ks:  # parts in the order of their packets (cut_parts)
        d = cut_parts(smbscope, resyn, [k], n, tmp)
        mc.expect("SYN again 1 s later, cut after packet %d of %d" % (k, n), d is None, d or "")
    resyn10 = os.path.join(tmp, "resyn10.pcap")
    tcp_cuts.syn_again(src, resyn10, 10)
    for name, cap in (("1 s", resyn), ("10 us", resyn10)):
        for ks in RESYN_CUTS if cap == resyn else [(1,), (1, 2)]:
            d = compare(smbscope, split(cap, ks, n, os.path.join(tmp, "resyn-%s-%s" % (name[:2].strip(), "-".join(map(str, ks))))),
                        tmp)
            mc.expect("SYN again %s later, cut after packets %s (reports in reverse)" % (name, ", ".join(map(str, ks))),
                      d is None, d or "")
    reuse = os.path.join(tmp, "reuse.pcap")
    n = tcp_cuts.reused(src, reuse, 20, 1000000)
    for ks in REUSE_CUTS:
        d = compare(smbscope, split(reuse, ks, n, os.path.join(tmp, "reuse-" + "-".join(map(str, ks)))), tmp)
        mc.expect("4-tuple reused by a SYN 1 s after packet 20, cut after packets %s" % ", ".join(map(str, ks)),
                  d is None, d or "")
    half = os.path.join(tmp, "half.pcap")
    gap, n = tcp_cuts.half_open_then(src, half, 150 * 1000000)
    for ks in [tuple(gap + k for k in ks) for ks in HALF_OPEN_AFTER]:
        for opts in ([], ["--connections-limit", "1"]) if len(ks) == 1 else ([],):
            d = compare(smbscope, split(half, ks, n, os.path.join(tmp, "half-%s%s" % ("-".join(map(str, ks)), "-l1" if opts else ""))),
                        tmp, opts)
            mc.expect("half-open, another 150 s later, cut after packets %s%s" % (", ".join(map(str, ks)), " " + " ".join(opts) if opts else ""),
                      d is None, d or "")
    groupings(smbscope, [(resyn, (1, 20)), (reuse, (20, 40)), (half, (gap, gap + 10))], tmp)
    forged(smbscope, resyn, half, gap, tmp, samples)
    syn_past_rows(smbscope, samples, tmp)


def syn_past_rows(smbscope, samples, tmp):
    """A SYN sent again 1 s after a cut, in a part that began 600 other
    connections a second (gen_capture.py --many 1200 --rate 600 beside
    smb445-list-shares.pcap with its SYN 1 s earlier, cut after that first
    SYN): the connection the retransmitted SYN opened is past the later
    part's first 256 rows of state.syn_starts (about half a second of them),
    in its rows_more (mstate_syn_rows.h); the merge is the run over the
    parts (before: one connection more, the first SYN a flow of its own,
    counted in nothing).  Forged rows_more refused with their place."""
    d = os.path.join(tmp, "syn-past-rows")
    os.mkdir(d)
    resyn, gen = os.path.join(d, "resyn.pcap"), os.path.join(d, "gen.pcap")
    tcp_cuts.syn_again(os.path.join(samples, "smb445-list-shares.pcap"), resyn, 1000000)
    subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench",
                                                 "gen_capture.py"), "--samples", samples, "--many", "1200",
                    "--rate", "600", gen], check=True, stdout=subprocess.DEVNULL)
    hdr, many = tcp_cuts.read(gen)
    _, one = tcp_cuts.read(resyn)
    first = many[0][0] + 300000  # its first SYN 0.3 s into the generated connections
    shift = first - one[0][0]
    recs = sorted(many + [[t + shift, o, f] for t, o, f in one], key=lambda r: r[0])  # stable: ties keep order
    k = next(i for i, r in enumerate(recs) if r[0] == first) + 1
    parts = [os.path.join(d, "p0.pcap"), os.path.join(d, "p1.pcap")]
    tcp_cuts.write(parts[0], hdr, recs[:k])
    tcp_cuts.write(parts[1], hdr, recs[k:])
    opts = ["--max-connection-groups", "5000"]  # the groups' order under the cap aside
    diff = compare(smbscope, parts, d, opts)
    late = mc.json.loads(open(parts[1] + ".json", "rb").read())
    # Past the cap the joined connection's group is the one merge holds it
    # in, admitted where the run over the parts admits it: at the default
    # cap (1,024) the later part's run kept it whole, but it closes at the
    # end, where the run over the parts closes its connections in the order
    # it opened them (the joined one first: its first SYN in the earlier
    # part; main: by the retransmitted SYN, a group with both addresses
    # more and one fewer); at 200 the later part's run folded it without
    # its server, which merge reads from groups_past.groups by server
    # (main: the group not restarted, its first_seen the retransmission's).
    for cap in ("1024", "200"):
        pd = os.path.join(d, "cap" + cap)
        os.mkdir(pd)
        capped = [os.path.join(pd, os.path.basename(p)) for p in parts]
        for src, dst in zip(parts, capped):
            os.link(src, dst)
        got = compare(smbscope, capped, pd, ["--max-connection-groups", cap])
        st = mc.json.loads(open(capped[1] + ".json", "rb").read())
        mc.expect("a SYN sent again past the later part's first 256 rows, --max-connection-groups %s: the later part "
                  "is past the cap (test meaningful)" % cap, cap == "1024" or
                  st["connection_groups_summary"]["cap_hit"], str(st["connection_groups_summary"]))
        mc.expect("a SYN sent again past the later part's first 256 rows, --max-connection-groups %s: the merge is "
                  "the run over the parts" % cap, got is None, got or "")
    # The first SYN 0.1 s in, the cut after it: the later part's run folded
    # the connection the retransmission opened (its 1,025th) into a group of
    # its own without the client, where the run over the parts, which closes
    # it at its end in the order of first packets, keeps both addresses:
    # that group gives way to the connection whole (main: a group with both
    # addresses more and one fewer).  --connections all: the later part's
    # run details its first 250 connections to close, not this one
    # (connections[] is not what this checks).
    early = many[0][0] + 100000
    recs = sorted(many + [[t + early - one[0][0], o, f] for t, o, f in one], key=lambda r: r[0])
    k = next(i for i, r in enumerate(recs) if r[0] == early) + 1
    pd = os.path.join(d, "early")
    os.mkdir(pd)
    cut2 = [os.path.join(pd, "p0.pcap"), os.path.join(pd, "p1.pcap")]
    tcp_cuts.write(cut2[0], hdr, recs[:k])
    tcp_cuts.write(cut2[1], hdr, recs[k:])
    for cap in ("1024", "300"):
        got = compare(smbscope, cut2, pd, ["--max-connection-groups", cap, "--connections", "all"])
        mc.expect("a SYN sent again 0.1 s into a part past the cap, the later part's run folded its connection, "
                  "--max-connection-groups %s: the merge is the run over the parts" % cap, got is None, got or "")
    ss = late["merge_state"]["state"].get("syn_starts", {})
    meaningful = len(ss.get("rows", [])) == 256 and 0 <= ss.get("until", -1) < first + 1000000 and \
        ss.get("rows_more", {}).get("n", 0) > 0
    mc.expect("a SYN sent again past the later part's first 256 rows (test meaningful)", meaningful,
              str({k: v for k, v in ss.items() if k != "rows"})[:300])
    mc.expect("a SYN sent again past the later part's first 256 rows: the merge is the run over the parts",
              diff is None, diff or "")
    if not meaningful:
        return
    more = ss["rows_more"]
    garbage = mc.base64.b64encode(mc.zlib.compress(b"\xff" * 12)).decode()
    for value, needle in (({"n": more["n"] + 1, "zlib": more["zlib"]}, "rows_more: zlib: not a zlib stream of n rows"),
                          ({"n": 1, "zlib": garbage}, "rows_more[0]: not a row smbscope writes"),
                          ({"n": 1, "zlib": "!!!!"}, "rows_more: zlib: not base64")):
        t = mc.json.loads(mc.json.dumps(late))
        t["merge_state"]["state"]["syn_starts"]["rows_more"] = value
        bad = os.path.join(d, "bad.json")
        with open(bad, "w") as f:
            mc.json.dump(mc.redigest(t), f)
        rc, _, err = mc.run([smbscope, "merge", bad])
        mc.expect("refuses state.syn_starts.rows_more: %s" % needle.split(": ", 1)[1], rc == 2 and needle in err,
                  "exit %d, %r" % (rc, err.strip()))
    t = mc.json.loads(mc.json.dumps(late))
    t["merge_state"]["state"]["syn_starts"]["until_more"] = -5
    bad = os.path.join(d, "bad.json")
    with open(bad, "w") as f:
        mc.json.dump(mc.redigest(t), f)
    rc, _, err = mc.run([smbscope, "merge", bad])
    mc.expect("refuses state.syn_starts.until_more -5", rc == 2 and "until_more: not a time" in err,
              "exit %d, %r" % (rc, err.strip()))


def groupings(smbscope, cuts, tmp):
    """Three parts of each, each two merged first, then the third on
    either side: the merged state carries what is not joined yet
    (syn_starts' rows and their hosts' last starts, the edges' ISNs and
    half-open marks)."""
    for cap, ks in cuts:
        d = os.path.join(tmp, "grp-%s-%s" % (os.path.basename(cap), "-".join(map(str, ks))))
        parts = split(cap, ks, packets(cap), d)
        reps = []
        for p in parts:
            reps.append(p + ".json")
            with open(reps[-1], "wb") as f:
                f.write(mc.run([smbscope, "-q", "-T", "json", p])[1])
        joint = mc.normal(mc.json.loads(mc.run([smbscope, "-q", "-T", "json"] + parts)[1]))
        wrong = []
        # by default (0+1)+2 and 0+(1+2); SMBSCOPE_FULL=1: every pair first, either side
        groups = [(0, 1, 0), (1, 2, 1)] if not cut_subset.FULL else [(i, j, o) for i in range(3)
                                                                      for j in range(i + 1, 3) for o in (0, 1)]
        for i, j in sorted(set((i, j) for i, j, _ in groups)):  # (a+b) = (b+a): merge's own order is checked above
            k = 3 - i - j
            ab = os.path.join(d, "m%d%d.json" % (i, j))
            with open(ab, "wb") as f:
                f.write(mc.run([smbscope, "merge", "-T", "json", reps[i], reps[j]])[1])
            for o, order in enumerate(((ab, reps[k]), (reps[k], ab))):
                if (i, j, o) in groups:
                    rc, out, err = mc.run([smbscope, "merge", "-T", "json"] + list(order))
                    diff = err.strip() if rc == 2 else mc.first_diff(mc.normal(mc.json.loads(out)), joint)
                    if diff:
                        wrong.append("(%d+%d)%s%d: %s" % (i, j, "+" if order[0] == ab else " after ", k, diff))
        mc.expect("%s cut after packets %s: %s of its three parts" % (
            os.path.basename(cap), ", ".join(map(str, ks)), "every grouping and order" if cut_subset.FULL else
            "(0+1)+2 and 0+(1+2)"), not wrong, "; ".join(wrong)[:400])


def forged(smbscope, resyn, half, gap, tmp, samples):
    """The new members' forgeries refused with their place."""
    d = os.path.join(tmp, "forged")
    os.mkdir(d)
    late, early = os.path.join(d, "late.pcap"), os.path.join(d, "early.pcap")
    subprocess.run(["editcap", "-r", resyn, late, "2-32"], check=True)
    subprocess.run(["editcap", "-r", half, early, "1-%d" % gap], check=True)
    docs = {p: mc.json.loads(mc.run([smbscope, "-q", "-T", "json", p])[1]) for p in (late, early)}
    st = docs[late]["merge_state"]["state"]
    ok = len(st.get("syn_starts", {}).get("rows", [])) == 1
    mc.expect("a part that began with a connection's SYN again: its row in state.syn_starts", ok,
              str(st.get("syn_starts"))[:200])
    ok2 = docs[early]["merge_state"]["state"].get("edge_half_open") == [0]
    mc.expect("a part that ends with a half-open connection: state.edge_half_open", ok2,
              str(docs[early]["merge_state"]["state"].get("edge_half_open")))
    if not ok or not ok2:
        return
    row = st["syn_starts"]["rows"][0]
    cases = [(late, "syn_starts", {"until": -1, "rows": [row[:4]]}, "syn_starts.rows[0]: not [isn"),
             (late, "syn_starts", {"until": -1, "rows": [[1 << 32] + row[1:]]}, "syn_starts.rows[0]: an ISN"),
             (late, "syn_starts", {"until": -1, "rows": [row[:2] + [-3] + row[3:]]}, "syn_starts.rows[0]: a host's"),
             (late, "syn_starts", {"until": -5, "rows": [row]}, "syn_starts: until"),
             (early, "edge_half_open", [0, 0], "edge_half_open: not the places"),
             (early, "edge_half_open", [2], "edge_half_open"),
             (early, "edge_client_silent", [0, 0], "edge_client_silent: not the places"),
             (early, "edge_isns", [[0]], "edge_isns[0]: not [place, isn]"),
             (early, "edge_isns", [[1, 1 << 32]], "edge_isns[0]")]
    # past a state's rows ("until" before the connection's start, no rows):
    # the SYN left open in the earlier part counted, not joined
    t = mc.json.loads(mc.json.dumps(docs[late]))
    t["merge_state"]["state"]["syn_starts"] = {"until": row[4][4], "rows": []}
    cut_late = os.path.join(d, "until.json")
    with open(cut_late, "w") as f:
        mc.json.dump(mc.redigest(t), f)
    first = os.path.join(d, "first.pcap")
    subprocess.run(["editcap", "-r", resyn, first, "1-1"], check=True)
    with open(first + ".json", "wb") as f:
        f.write(mc.run([smbscope, "-q", "-T", "json", first])[1])
    rc, out, err = mc.run([smbscope, "merge", "-T", "json", first + ".json", cut_late])
    got = mc.json.loads(out)["stats"]["merged"]["state_folded"].get("syn_starts") if rc != 2 else err
    mc.expect("a SYN open at a part's end past the next part's rows: stats.merged.state_folded.syn_starts 1",
              got == 1, str(got))
    # the same beside a third report whose own rows stop before that SYN:
    # each state's "until" says where its rows stop, not the earliest of them
    # (before: the earliest, before the SYN, and nothing counted)
    third = os.path.join(d, "third.pcap")
    subprocess.run(["editcap", "-r", os.path.join(samples, "nbdgm-nmbd-startup.pcap"), third, "1-2"], check=True)  # no TCP
    t = mc.json.loads(mc.run([smbscope, "-q", "-T", "json", third])[1])
    t["merge_state"]["state"]["syn_starts"] = {"until": docs[late]["merge_state"]["state"]["inputs"][0]["first_ts"] - 10 ** 9,
                                               "rows": []}
    third_json = third + ".json"
    with open(third_json, "w") as f:
        mc.json.dump(mc.redigest(t), f)
    rc, out, err = mc.run([smbscope, "merge", "-T", "json", third_json, first + ".json", cut_late])
    got = mc.json.loads(out)["stats"]["merged"]["state_folded"].get("syn_starts") if rc != 2 else err
    mc.expect("the same beside a report whose rows stop earlier: stats.merged.state_folded.syn_starts 1",
              got == 1, str(got))
    for path, key, value, needle in cases:
        t = mc.json.loads(mc.json.dumps(docs[path]))
        t["merge_state"]["state"][key] = value
        bad = os.path.join(d, "bad.json")
        with open(bad, "w") as f:
            mc.json.dump(mc.redigest(t), f)
        rc, _, err = mc.run([smbscope, "merge", bad])
        mc.expect("refuses state.%s: %s" % (key, str(value)[:40]), rc == 2 and needle in err,
                  "exit %d, %r" % (rc, err.strip()))


def count(smbscope, samples, names):
    """Every cut of each sample: the wrong ones counted and listed."""
    total = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            sample = os.path.join(samples, name)
            n = packets(sample)
            wrong = [(k, d) for k, d in ((k, cut(smbscope, sample, k, n, tmp)) for k in range(1, n)) if d]
            for k, d in wrong:
                print("wrong %s cut after packet %d of %d: %s" % (name, k, n, d[:200]))
            print("%s: %d of %d cuts wrong" % (name, len(wrong), n - 1))
            total += len(wrong)
    print("%d cuts wrong" % total)
    return 0


# Cuts of the stray copies of the sample (rdma_read.roce_stray_first_copy()):
# the stray packet alone, with the negotiate request, with the server's first
# ACK, and one in the middle of the session.
STRAY_CUTS = [(1,), (2,), (3,), (4,), (1, 2), (2, 3), (50,)]
# ... of the midstream copy's: the stray alone, with the server's ACK, its
# Write, the client's ACK (the first packet joining), and three parts
STRAY_MIDSTREAM_CUTS = [(1,), (2,), (4,), (5,), (1, 2)]
# by default (SMBSCOPE_FULL=1: all): the stray alone, with the next packet,
# in three parts; the midstream copy's client's ACK (the first packet joining)
STRAY_DEFAULT = {"ack": [(1,), (1, 2)], "send": [(2,), (2, 3)], "midstream": [(5,), (1, 2)]}


def stray_first(smbscope, roce, tmp):
    """One packet from the server to another QP of the client's host before
    the sample (review F10): the client's negotiate request does not join
    its pair (roce_join_evidence(), dissector/rdma/roce_pair.c), the SMB Direct connection is the
    sample's (main: its client's SMBD messages were lost, the run
    inconclusive where the sample fails --require-kerberos); the same
    before the midstream copy (inconclusive: mid-stream), whose client's
    first packet is an ACK of the server's Write (main: the connection in
    two, one with the stray packet's QP as the client's); tshark
    dissects the copy cleanly; --jobs 2 and the merge of its cuts equal the
    run."""
    policy = ["--require-kerberos"]
    mid = os.path.join(tmp, "roce-stray-midstream-base.pcap")
    rdma_read.roce_midstream_copy(roce, mid)
    for kind, base, rc_want in (("ack", roce, 1), ("send", roce, 1), ("midstream", mid, 3)):
        rc0, alone, _ = mc.run([smbscope, "-q", "-T", "json"] + policy + [base])
        alone = mc.json.loads(alone)
        copy = os.path.join(tmp, "roce-stray-%s.pcap" % kind)
        n = rdma_read.roce_stray_first_copy(base, copy, "send" if kind == "send" else "ack")
        t = subprocess.run([os.environ.get("TSHARK", "tshark"), "-r", copy, "-T", "fields", "-e", "frame.protocols",
                            "-e", "infiniband.bth.destqp", "-e", "_ws.malformed", "-e", "_ws.expert.severity"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        rows = [r.split("\t") for r in t.stdout.splitlines()]
        # the stray frame clean (the sample's frame 7, its frame 8, has a BER complaint of its NTLM blob)
        mc.expect("RoCEv2, a %s to another QP first: tshark dissects its %d frames, the first RoCEv2 to QP 0x%x, cleanly"
                  % (kind, n, rdma_read.STRAY_QP),
                  len(rows) == n and all(r[1] for r in rows) and ":udp:infiniband" in rows[0][0] and
                  int(rows[0][1], 16) == rdma_read.STRAY_QP and not any(rows[0][2:]), "%r" % rows[:3])
        rc, doc, _ = mc.run([smbscope, "-q", "-T", "json"] + policy + [copy])
        doc = mc.json.loads(doc)
        mc.expect("RoCEv2, a %s to another QP first: the sample's connection and verdict (%s, exit %d)"
                  % (kind, doc["verdict"]["outcome"], rc),
                  rc == rc0 == rc_want and doc["verdict"] == alone["verdict"] and doc["connections"] == alone["connections"] and
                  doc["stats"]["roce_icrc_bad_packets"] == 0,
                  mc.first_diff(doc["connections"], alone["connections"]) or json_short(doc["verdict"]))
        rc2, two, err = mc.run([smbscope, "-q", "-T", "json", "--jobs", "2"] + policy + [copy])
        d = mc.first_diff(mc.normal(mc.json.loads(two)), mc.normal(doc))
        mc.expect("RoCEv2, a %s to another QP first: --jobs 2 == --jobs 1" % kind, d is None and rc2 == rc,
                  d or "exit %d != %d %s" % (rc2, rc, err.strip()))
        cuts = STRAY_CUTS if base == roce else STRAY_MIDSTREAM_CUTS
        chosen = cut_subset.pick(cuts, 0, STRAY_DEFAULT[kind])
        cut_subset.note("RoCEv2, a %s to another QP first: cuts" % kind, chosen, len(cuts))
        for ks in chosen:
            d = cut_parts(smbscope, copy, list(ks), n, tmp)
            mc.expect("RoCEv2, a %s to another QP first, cut after packet %s" % (kind, " and ".join(map(str, ks))),
                      d is None, d or "")


def many_strays(smbscope, roce, tmp):
    """Review: 16 unanswered RC SENDs from the client to other QPs of the
    server before the sample (a one-sided capture of other RDMA traffic)
    kept the server's first packet from its pair (only the 16 oldest pairs
    missing their reverse were looked at): two connections, inconclusive
    where the sample fails --require-kerberos.  The 16 oldest and 16 newest
    now: the sample's connection and verdict after 16 and 40 strays, tshark
    dissects the copy cleanly, --jobs 2 equals the run."""
    policy = ["--require-kerberos"]
    rc0, alone, _ = mc.run([smbscope, "-q", "-T", "json"] + policy + [roce])
    alone = mc.json.loads(alone)
    for n in (16, 40):
        copy = os.path.join(tmp, "roce-strays-%d.pcap" % n)
        total = rdma_read.roce_strays_copy(roce, copy, n)
        t = subprocess.run([os.environ.get("TSHARK", "tshark"), "-r", copy, "-T", "fields",
                            "-e", "infiniband.bth.destqp", "-e", "_ws.malformed"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        rows = [r.split("\t") for r in t.stdout.splitlines()]
        mc.expect("RoCEv2, %d strays to other QPs first: tshark dissects its %d frames, each with a BTH" % (n, total),
                  len(rows) == total and all(r[0] and not r[1] for r in rows[:n]), "%r" % rows[:3])
        rc, doc, _ = mc.run([smbscope, "-q", "-T", "json"] + policy + [copy])
        doc = mc.json.loads(doc)
        mc.expect("RoCEv2, %d strays to other QPs first: the sample's connection and verdict (%s, exit %d)"
                  % (n, doc["verdict"]["outcome"], rc),
                  rc == rc0 == 1 and doc["verdict"] == alone["verdict"] and doc["connections"] == alone["connections"],
                  mc.first_diff(doc["connections"], alone["connections"]) or json_short(doc["verdict"]))
        rc2, two, err = mc.run([smbscope, "-q", "-T", "json", "--jobs", "2"] + policy + [copy])
        d = mc.first_diff(mc.normal(mc.json.loads(two)), mc.normal(doc))
        mc.expect("RoCEv2, %d strays to other QPs first: --jobs 2 == --jobs 1" % n, d is None and rc2 == rc,
                  d or "exit %d != %d %s" % (rc2, rc, err.strip()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples", required=True)
    ap.add_argument("--count", nargs="+", metavar="SAMPLE")
    a = ap.parse_args()
    if a.count:
        return count(a.smbscope, a.samples, a.count)
    with tempfile.TemporaryDirectory() as tmp:
        spans(a.smbscope, a.samples, tmp)
        tcp_edges(a.smbscope, a.samples, tmp)
        for src, ddp, ks, what, *grow in FRAGMENTED:
            grow = grow[0] if grow else None
            sample = os.path.join(tmp, "frag-%s%s%s.pcap" % (src or "plain", "-ddp" if ddp else "",
                                                             "-%d-%d" % grow if grow else ""))
            if not os.path.exists(sample):
                smbd_frag.fragmented_copy(os.path.join(a.samples, "rdma-iwarp-5445.pcap"), sample,
                                          os.path.join(a.samples, src) if src else None, ddp, grow)
            n = packets(sample)
            d = cut_parts(a.smbscope, sample, ks, n, tmp)
            mc.expect("SMBD pieces of %s cut after packet %s of %d (%s)" %
                      (src or "rdma-iwarp-5445.pcap", " and ".join(map(str, ks)), n, what), d is None, d or "")
        longs(a.smbscope, a.samples, tmp)
        roce = os.path.join(a.samples, "rdma-roce-4791.pcap")
        mid = os.path.join(tmp, "roce-midstream.pcap")
        n = rdma_read.roce_midstream_copy(roce, mid)
        twos = cut_subset.pick(range(1, n), 2)  # by default the first and the last
        cut_subset.note("RoCEv2 seen from its middle: cuts in two", twos, n - 1)
        for ks in [(k,) for k in twos] + ROCE_MIDSTREAM_CUTS:
            d = cut_parts(a.smbscope, mid, list(ks), n, tmp)
            mc.expect("RoCEv2 seen from its middle, its pair's first packets ACKs and a Write, cut after packet %s of %d"
                      % (" and ".join(map(str, ks)), n), d is None, d or "")
        doc = mc.json.loads(mc.run([a.smbscope, "-q", "-T", "json", mid])[1])
        c = doc["connections"][0]
        mc.expect("RoCEv2 seen from its middle, the server's ACK first: ports the client's and 4791, no alternative port",
                  (c["client_port"], c["server_port"], c["findings"]) == (52417, 4791, []),
                  "%r" % ((c["client_port"], c["server_port"], c["findings"]),))
        # the server's ACK before the SMBD negotiate request: the request is
        # the second sender's, the pair SMB Direct from its start (was: not
        # SMB for its run, and a part of that ACK lost the connection)
        first = os.path.join(tmp, "roce-ack-first.pcap")
        n = rdma_read.roce_ack_first_copy(roce, first)
        doc = mc.json.loads(mc.run([a.smbscope, "-q", "-T", "json", first])[1])
        c = doc["connections"][0] if doc["connections"] else {}
        mc.expect("RoCEv2, the server's ACK before the SMBD negotiate request: SMB Direct from its start",
                  c.get("client_rule") == "transport" and c.get("client_port") == 52417 and
                  c.get("smb_direct", {}).get("smbd", {}).get("invalid_messages") == 0 and
                  c["stream"]["midstream"] is False, json_short(c))
        for k in cut_subset.pick((1, 2, 3), 0, (1,)):  # by default the ACK alone
            d = cut_parts(a.smbscope, first, [k], n, tmp)
            mc.expect("RoCEv2, the server's ACK before the SMBD negotiate request, cut after packet %d" % k, d is None,
                      d or "")
        stray_first(a.smbscope, roce, tmp)
        many_strays(a.smbscope, roce, tmp)
        for k, what in ROCE_CUTS:
            ks = list(k) if isinstance(k, tuple) else [k]
            d = cut_parts(a.smbscope, roce, ks, packets(roce), tmp)
            mc.expect("rdma-roce-4791.pcap cut after packet %s (%s)" % (" and ".join(map(str, ks)), what), d is None,
                      d or "")
        for name, known in KNOWN.items():
            sample = os.path.join(a.samples, name)
            n = packets(sample)
            ks = cut_subset.pick(range(1, n), 0, KNOWN_DEFAULT[name])
            cut_subset.note("%s: cuts in two" % name, ks, n - 1)
            for k in ks:
                d = cut(a.smbscope, sample, k, n, tmp)
                label = "%s cut after packet %d of %d" % (name, k, n)
                if k in known:
                    print("%-4s %s (not joined yet: %s)%s" % ("note", label, known[k], "" if d else ": now equal"))
                    continue
                mc.expect(label, d is None, d or "")
    print("%d failure(s)" % len(mc.failures))
    return 1 if mc.failures else 0


if __name__ == "__main__":
    sys.exit(main())
