"""roce_pairs.py - the plugin pairs RoCEv2 directions as the command does.

The `roce` check of plugin_test.py.  A RoCEv2 BTH names only the
destination QP, so which two directions make one queue-pair pair is decided
by their PSNs (dissector/rdma/roce_pair.c, called by the command's table and
by the plugin alike).  Captures made at test time from
samples/rdma-roce-4791.pcap (tests/e2e/rdma_read.py, as merge_cuts_check.py
stray_first() makes them):

  stray-ack        an RC Acknowledge from the server to another QP of the
                   client's host, before the session
  stray-send       an RC SEND Only (not SMBD) the same way
  stray-midstream  a stray ACK before the mid-stream copy (the capture begins
                   at the server's RDMA Write; the client's first packet is
                   an ACK of it)
  3pairs-rev       the sample three times over between the same two hosts,
                   the server's answers in reverse order
                   (tests/bench/plugin_roce.py)
  strays-40        40 unanswered RC SENDs from the client to other QPs of
                   the server first (review: past the 16 oldest pairs
                   missing their reverse, the server's first packet found
                   no pair; the 16 newest are looked at too)
  damaged-first    the client's SMBD negotiate request with a bad ICRC: the
                   command pairs nothing with it (its direction joins the
                   server's at its next packet) and counts it in no
                   connection, a decode loss only

and the sample and the mid-stream copy as controls.  Joined in order of
appearance (the plugin before this check) the client's first packet joins
the stray packet's direction: the session splits in two, the second named
from the server's UDP port, and the verdict under --require-kerberos is
inconclusive where the command's is FAIL.

For each capture, tshark with the plugin in two passes and in one pass
(-o smbscope.require_kerberos:TRUE) and the command (--require-kerberos):

  - the frames of each of the command's connections are those its two QPs
    name (smb_direct.roce: the client's frames to server_qp, the server's
    to client_qp), but for one with a bad ICRC the command counted in no
    pair; two passes: the plugin's flows with the connection's ends
    (smbscope.client, client_port, server, server_port) hold as many frames
    as the command's roce.packets of the connections with those ends, none
    to a QP not theirs, and every frame of
    the connection with smbscope.verdict the connection's (fail when a
    violation names it, inconclusive when the command left a rule
    undecided, else pass); no frame outside the connections is in a flow;
  - both passes: on each connection's last frame the "so far" fields
    (transport, dialect, violations, verdict) are the connection's final
    answer, the same in one pass and in two.

plugin_test.py adds the comparisons every capture gets: flows, words and
violations against the command's JSON, the capture's verdict, "so far"
fields equal in both runs.
"""

import os
import sys

from command_view import CONNECTION_GAPS, conn_key, dash
from wsenv import Failure

# What tshark prints beside plugin_test.py's RUN_FIELDS for this check.
EXTRA = ["ip.src", "infiniband.bth.destqp"]
# The command's options and the plugin's preferences that mean the same.
COMMAND_POLICY = ["--require-kerberos"]
PLUGIN_POLICY = ["-o", "smbscope.require_kerberos:TRUE"]
CASES = ("rdma-roce-4791.pcap", "stray-ack", "stray-send", "midstream", "stray-midstream", "3pairs-rev",
         "strays-40", "damaged-first")


def captures(source_root, samples, tmp):
    """(name, capture) of every case and control, made into tmp."""
    sys.path.insert(0, os.path.join(source_root, "tests", "e2e"))
    sys.path.insert(0, os.path.join(source_root, "tests", "bench"))
    import rdma_read
    from plugin_roce import three_pairs
    roce = os.path.join(samples, "rdma-roce-4791.pcap")
    out = {"rdma-roce-4791.pcap": roce, "midstream": os.path.join(tmp, "roce-midstream.pcap")}
    rdma_read.roce_midstream_copy(roce, out["midstream"])
    for name, base, kind in (("stray-ack", roce, "ack"), ("stray-send", roce, "send"),
                             ("stray-midstream", out["midstream"], "ack")):
        out[name] = os.path.join(tmp, "roce-%s.pcap" % name)
        rdma_read.roce_stray_first_copy(base, out[name], kind)
    out["strays-40"] = os.path.join(tmp, "roce-strays-40.pcap")
    rdma_read.roce_strays_copy(roce, out["strays-40"], 40)
    out["3pairs-rev"] = os.path.join(tmp, "roce-3pairs-rev.pcap")
    three_pairs(roce, out["3pairs-rev"], True)
    import rdma_samples_check
    # the client's SMBD negotiate request (frame 1), one octet of its
    # credits flipped: a bad ICRC (Ethernet 14 + IPv4 20 + UDP 8 + BTH 12)
    out["damaged-first"] = os.path.join(tmp, "roce-damaged-first.pcap")
    os.replace(rdma_samples_check.flipped_copy(roce, 1, 14 + 20 + 8 + 12 + 4, tmp), out["damaged-first"])
    return [(name, out[name]) for name in CASES]


def _qp(v):
    return int(v, 16) if v else None


def connection_verdict(doc, c, rules):
    """The verdict of one of the command's connections: fail when a
    violation names it, inconclusive when a connection's evidence is missing
    (the command's unknowns of that kind; these captures hold one SMB
    connection or copies of one), else pass."""
    if rules:
        return "fail"
    gaps = [u for u in (doc.get("verdict") or {}).get("unknowns", []) if u.get("reason") in CONNECTION_GAPS]
    return "inconclusive" if gaps else "pass"


SO_FAR = [("smbscope.transport_so_far", "transport"), ("smbscope.dialect_so_far", "dialect_code"),
          ("smbscope.violation_so_far", "violations"), ("smbscope.verdict_so_far", "verdict")]


def check_pairs(name, command, one, two, errors):
    """The checks above, for one capture: command is the command's report
    (command_view.Command), one and two the plugin's runs (one pass, two)."""
    doc = command.doc
    want_rules, _ = command.violations()
    conns = [c for c in doc.get("connections", []) if c.get("transport") == "rdma-roce"]
    if not conns:
        errors.append("%s: the command reports no RoCEv2 connection: the case proves nothing" % name)
        return
    mine = set()
    by_ends = {}  # the connections' ends -> [their packets, their QPs] (copies of one session share their ends)
    for c in conns:
        roce = (c.get("smb_direct") or {}).get("roce") or {}
        halves = {(c["client"], roce.get("server_qp")), (c["server"], roce.get("client_qp"))}
        key = conn_key(c)
        rules = sorted(want_rules.get(key[1:], set()))
        verdict = connection_verdict(doc, c, rules)
        final = {"transport": "rdma-roce", "dialect_code": c.get("dialect"), "violations": rules, "verdict": verdict}
        ends = (c["client"], str(c["client_port"]), c["server"], str(c["server_port"]))
        for run, label in ((one, "1-pass"), (two, "2-pass")):
            # a frame to its QPs whose ICRC is bad, seen before its direction
            # joined, is counted in no pair by the command: a decode loss only
            frames = [r for r in run.rows if (r["ip.src"], _qp(r["infiniband.bth.destqp"])) in halves
                      and "roce-icrc" not in r["smbscope.decode_loss"]]
            mine |= {r["frame.number"] for r in run.rows if (r["ip.src"], _qp(r["infiniband.bth.destqp"])) in halves}
            what = "%s (%s): connection %s:%s" % (name, label, c["client"], c["client_port"])
            if label == "2-pass":
                packets, qps = by_ends.setdefault(ends, [0, set()])
                by_ends[ends] = [packets + roce.get("packets", 0), qps | halves]
                seen = {(r["smbscope.client"], r["smbscope.client_port"], r["smbscope.server"],
                         r["smbscope.server_port"], r["smbscope.verdict"]) for r in frames}
                if seen != {ends + (verdict,)}:
                    errors.append("%s: the plugin's flows and verdicts %s, the command's %s" %
                                  (what, sorted(seen), ends + (verdict,)))
            if not frames:
                continue
            last = frames[-1]
            got = {"transport": last["smbscope.transport_so_far"],
                   "dialect_code": dialect_name(last["smbscope.dialect_so_far"]),
                   "violations": sorted(v for v in last["smbscope.violation_so_far"].split("\x1f") if v),
                   "verdict": last["smbscope.verdict_so_far"]}
            if got != final:
                errors.append("%s: last frame %s so far %s, the command %s" % (what, last["frame.number"], got, final))
    for ends, (packets, halves) in sorted(by_ends.items()):
        flow = [r for r in two.rows if (r["smbscope.client"], r["smbscope.client_port"], r["smbscope.server"],
                                        r["smbscope.server_port"]) == ends]
        what = "%s (2-pass): %s:%s -> %s:%s" % ((name,) + ends)
        if len(flow) != packets:
            errors.append("%s: %d frames in the plugin's flows, the command counts %d" % (what, len(flow), packets))
        stray = [r["frame.number"] for r in flow if (r["ip.src"], _qp(r["infiniband.bth.destqp"])) not in halves]
        if stray:
            errors.append("%s: frames %s to other QPs in its flows" % (what, ",".join(stray[:8])))
    for run, label in ((one, "1-pass"), (two, "2-pass")):
        extra = [r["frame.number"] for r in run.rows if r["frame.number"] not in mine and
                 (r["smbscope.verdict_so_far"] or r["smbscope.client"])]
        if extra:
            errors.append("%s (%s): frames %s of no connection of the command's are in a flow of the plugin" %
                          (name, label, ",".join(extra[:8])))


# smbscope.dialect_so_far prints as a hex code; the command names dialects.
DIALECTS = {0x0202: "2.0.2", 0x0210: "2.1", 0x0300: "3.0", 0x0302: "3.0.2", 0x0311: "3.1.1"}


def dialect_name(v):
    if not dash(v):
        return None
    code = int(v, 16)
    if code not in DIALECTS:
        raise Failure("dialect code %s not in the test's table" % v)
    return DIALECTS[code]
