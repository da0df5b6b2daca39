#!/usr/bin/python3
"""plugin_test.py - end-to-end checks of the Wireshark plugin smbscope.so.

Usage:
    plugin_test.py CHECK --plugin SO --source-root DIR [--tshark BIN]
                   [--samples DIR] [--smbscope BIN [--smbscope-arg ARG]...]

CHECK is one of:
  listed    tshark -G plugins lists smbscope.so (a plugin with a missing
            symbol is skipped by tshark with one stderr line and exit 0)
  fields    tshark -G fields lists every smbscope.* field; smbscope.dialect
            is numeric (smbscope.dialect >= 0x0300 compiles)
  samples   every samples/*.pcap, tshark run once in two passes (-2) and
            once in one pass, each output shared by these comparisons:
            - per connection / NetBIOS flow: transport, dialect, NetBIOS
              service and state equal samples/MANIFEST.tsv (tshark's own
              facts) on every packet of the flow (two passes);
            - final fields (state, transport, violation, verdict ...) never
              appear on a first pass; every "so far" field is the same on
              both runs, and on the flow's last packet equals the final value;
            - expert items: one "NetBIOS traffic" per NetBIOS flow, one
              "refused" per refused flow, SMB1, NBSS off port 139,
              alternative port; the same in both runs;
            - the statistics (-z smbscope,tree) count connections and flows
              as the manifest does, in both runs;
            - with --smbscope: flows and violations per conversation equal
              the command's JSON report (default arguments --format json)
            SMB over QUIC samples with a key log beside them (NAME.keylog)
            go through all of it twice: with the key log (tshark -o
            tls.keylog_file:, smbscope --tls-keylog) and without;
            every frame of an SMB over QUIC connection (tshark's
            quic.connection.number) is in the plugin's flow.  Edge cases
            made at test time join the samples (tests/e2e/quic_edge.py,
            facts by tshark_facts.py): a QUIC client NAT-rebound to a new
            port after the handshake, a RoCEv2 pair that only negotiated
            SMB Direct, the RoCEv2 sample after a stray packet to another
            QP
  policy    the preferences (-o smbscope.require_signing:TRUE ...,
            smbscope.allow_transport) change the violations exactly as the
            command's options do
  altport   SMB on a port other than 139/445 is decoded as SMB without any
            -d option, frame for frame as plain tshark does with -d
  decodeloss  the whole input's decode-loss verdict (damaged copies of the
            SMB Direct and SMB over QUIC samples, one pass and two) equals
            the command's: tests/plugin/decode_loss.py
  roce      RoCEv2 directions paired by PSN as the command pairs them (a
            stray packet to another QP before the session), one pass and
            two, against the command's report: tests/plugin/roce_pairs.py
  valgrind  tshark with the plugin over every sample under valgrind: no
            error (opt-in: SMBSCOPE_VALGRIND=1)
  corpus    `samples` over the public captures of ../shared/corpus that hold
            SMB or NetBIOS, facts by tests/e2e/tshark_facts.py (skips when
            absent; fails when absent and CI=true)

samples, policy, corpus and decodeloss enumerate captures x modes (x
policies); under SMBSCOPE_FULL=1 (tests/run.sh --full) every case runs.  By
default each takes the deterministic subset of tests/plugin/subset.py: the
fewest cases that show every feature the whole enumeration shows (manifest
rows, file format and link type, mode, the command's answer), the edge
cases and the cases named as bug catchers always; each prints how many of
how many ran.

Expected values never come from the plugin: they come from MANIFEST.tsv,
which tshark_facts.py builds from tshark's own dissection, from plain tshark
runs, or from the smbscope command.  tshark runs as engineers run it: the
plugin in WIRESHARK_PLUGIN_DIR/<version>/epan, as "nobody" when we are root
(wsenv.py).

Exit status: 0 pass, 1 fail, 77 skip (no tshark, no plugin build, no samples).
"""

import argparse
import collections
import csv
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wsenv import Failure, SKIP, WsEnv  # noqa: E402
from command_view import PLUGIN_LOSSES, QUIC_VERSION_NAMES, Command, conn_kind, dash  # noqa: E402
from decode_loss import check_decodeloss  # noqa: E402
import roce_pairs  # noqa: E402
from manifest_view import (STAT_TABLES, alt_port_expected, expected_stats, manifest_dialect,  # noqa: E402
                           manifest_flows, keylog_for, modes, samples_or_skip)
import subset  # noqa: E402

# Final fields: the whole capture's answer, only after the first pass.
FINAL = [
    "smbscope.client", "smbscope.client_port", "smbscope.server", "smbscope.server_port",
    "smbscope.netbios", "smbscope.netbios.service", "smbscope.netbios.state",
    "smbscope.transport", "smbscope.transport.evidence", "smbscope.alt_port", "smbscope.dialect",
    "smbscope.dialect_name", "smbscope.dialects_offered", "smbscope.smb_version", "smbscope.signing", "smbscope.signed",
    "smbscope.encryption", "smbscope.auth", "smbscope.violation", "smbscope.undecided", "smbscope.verdict",
    "smbscope.quic.version", "smbscope.quic.sni",
    "smbscope.capture.verdict", "smbscope.capture.decode_losses", "smbscope.capture.unknown",
]
# "So far" fields: decided on the first pass, the same on every dissection.
SO_FAR = [
    "smbscope.netbios.state_so_far", "smbscope.transport_so_far", "smbscope.dialect_so_far",
    "smbscope.violation_so_far", "smbscope.verdict_so_far", "smbscope.decode_loss",
]
FIELDS = FINAL + SO_FAR
# What one run prints per frame (-T fields), in this order.
RUN_FIELDS = ["frame.number", "tcp.stream", "icmp.type", "icmpv6.type", "_ws.expert.message",
              "quic.connection.number"] + FIELDS
AGG = "\x1f"


# ---- checks ----------------------------------------------------------------

def check_listed(ts, args):
    out, err, _ = ts.run(["-G", "plugins"])
    lines = [l for l in out.splitlines() if l.split("\t")[0].strip() == "smbscope.so"]
    if not lines:
        raise Failure("smbscope.so not in tshark -G plugins; stderr: %s" % err.strip()[-400:])
    print("listed: " + " ".join(lines[0].split()))


def check_fields(ts, args):
    out, _, _ = ts.run(["-G", "fields"])
    have = {l.split("\t")[2] for l in out.splitlines() if l.startswith("F\t") and "\tsmbscope" in l}
    missing = [f for f in FIELDS if f not in have]
    if missing:
        raise Failure("fields missing from tshark -G fields: " + ", ".join(missing))
    protos = [l for l in out.splitlines() if l.startswith("P\t") and l.endswith("\tsmbscope")]
    if not protos:
        raise Failure("protocol smbscope not registered")
    types = {l.split("\t")[2]: l.split("\t")[3] for l in out.splitlines() if l.startswith("F\t")}
    if types.get("smbscope.dialect") != "FT_UINT16":
        raise Failure("smbscope.dialect is %s, not FT_UINT16" % types.get("smbscope.dialect"))
    # The filter compiles (a string field would reject the comparison).
    ts.run(["-Y", "smbscope.dialect >= 0x0300", "-r", ts.capture(os.path.join(args.source_root, "samples",
                                                                            "smb445-smb3_11.pcap"))])
    print("fields: %d smbscope fields, all %d expected present" % (len(have), len(FIELDS)))



class Run:
    """One tshark run over one capture: a row of RUN_FIELDS per frame, and the
    statistics tree printed after them.  Every check reads these rows; no
    check runs tshark again for the same capture and mode."""

    def __init__(self, ts, capture, two_pass, options=(), extra=()):
        # tshark 4.0's RPC-over-RDMA heuristic hits a dissector bug (tvbuff
        # assertion) on InfiniBand SEND Middle/Last payloads in two passes
        # (samples/rdma-roce-4791.pcap); it never concerns SMB.
        args = (["-2"] if two_pass else []) + list(options) + [
            "--disable-protocol", "rpcordma", "-n", "-r", capture, "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a",
            "-E", "aggregator=" + AGG, "-z", "smbscope,tree"]
        fields = RUN_FIELDS + list(extra)
        for f in fields:
            args += ["-e", f]
        out, _, _ = ts.run(args)
        lines = out.split("\n")
        cut = next((i for i, l in enumerate(lines) if l.startswith("====")), len(lines))
        self.rows = []
        for line in lines[:cut]:
            if not line.strip():
                continue
            v = line.split("\t")
            v += [""] * (len(fields) - len(v))
            self.rows.append(dict(zip(fields, v)))
        self.stats = parse_stats("\n".join(lines[cut:]))

    def by_frame(self):
        return {r["frame.number"]: r for r in self.rows}


def values(row, field):
    v = row.get(field, "")
    return v.split(AGG) if v else []


def flow_key(row):
    """The flow a frame belongs to, as the manifest and the command name it."""
    if not row["smbscope.client"]:
        return None
    # TCP (also an ICMP error quoting a TCP header) has a tcp.stream; SMB
    # over QUIC and SMB Direct over RoCEv2 are named by their transport.
    transport = row["smbscope.transport"]
    if transport:
        kind = conn_kind(transport)
    else:
        kind = "tcp" if row["tcp.stream"] else "udp"
    return (kind, row["smbscope.client"], int(row["smbscope.client_port"]),
            row["smbscope.server"] or "-", int(row["smbscope.server_port"]))


def flow_values(row):
    return (dash(row["smbscope.transport"]), dash(row["smbscope.dialect_name"]),
            dash(row["smbscope.netbios.service"]), dash(row["smbscope.netbios.state"]))


def plugin_flows(run):
    """key -> set of flow values over the flow's packets; and the TCP streams
    where some packets lack smbscope.transport while others carry it."""
    seen = collections.defaultdict(set)
    streams = collections.defaultdict(lambda: ([], []))
    for r in run.rows:
        if r["tcp.stream"] and not r["icmp.type"] and not r["icmpv6.type"]:
            streams[r["tcp.stream"]][1 if r["smbscope.transport"] else 0].append(r["frame.number"])
        key = flow_key(r)
        if key:
            seen[key].add(flow_values(r))
    uncovered = {st: without for st, (without, with_) in streams.items() if with_ and without}
    return seen, uncovered


def plugin_violations(run):
    """(client, cport, server, sport) -> set of violated rules."""
    v = collections.defaultdict(set)
    for r in run.rows:
        key = flow_key(r)
        if key:
            v[key[1:]] |= set(values(r, "smbscope.violation"))
    return {k: s for k, s in v.items() if s}


def compare_flows(name, expected, got, what, errors):
    for key in sorted(set(expected) | set(got)):
        exp = expected.get(key)
        have = got.get(key)
        if exp is None:
            errors.append("%s: %s %s: plugin reports %s, %s has no such flow" % (name, what, key, sorted(have), "manifest"))
        elif have is None:
            errors.append("%s: %s %s: expected %s, plugin shows nothing" % (name, what, key, exp))
        elif len(have) != 1:
            errors.append("%s: %s %s: packets disagree: %s" % (name, what, key, sorted(have, key=str)))
        elif set(exp) != have:
            errors.append("%s: %s %s: expected %s, plugin %s" % (name, what, key, exp, sorted(have, key=str)))


def check_first_pass(name, one, two, rows, errors):
    """Final fields never on a first pass; "so far" fields identical on both
    runs and, on a flow's last packet, equal to the final answer."""
    second = two.by_frame()
    leaked = [(r["frame.number"], f) for r in one.rows for f in FINAL if r[f]]
    if leaked:
        errors.append("%s: one pass shows final fields: %s" % (name, leaked[:5]))
    for r in one.rows:
        other = second.get(r["frame.number"])
        if other is None:
            errors.append("%s: frame %s missing from the two-pass run" % (name, r["frame.number"]))
            continue
        # Expert items of frames smbscope shows (Wireshark's own may differ
        # between passes: QUIC decryption messages of a reserved version do)
        ours = any(r[f] or other[f] for f in SO_FAR)
        for f in SO_FAR + (["_ws.expert.message"] if ours else []):
            if r[f] != other[f]:
                errors.append("%s: frame %s: %s is %r in one pass, %r in two" %
                              (name, r["frame.number"], f, r[f], other[f]))
    answered_elsewhere = {(m["kind"], m["client"], int(m["client_port"]), m["server"], int(m["server_port"]))
                          for m in rows if m["kind"] == "udp" and "answered by" in m.get("note", "")}
    last = {}
    for r in two.rows:
        key = flow_key(r)
        if key:
            last[key] = r
    pairs = [("smbscope.netbios.state_so_far", "smbscope.netbios.state"),
             ("smbscope.transport_so_far", "smbscope.transport"),
             ("smbscope.dialect_so_far", "smbscope.dialect"),
             ("smbscope.violation_so_far", "smbscope.violation"),
             ("smbscope.verdict_so_far", "smbscope.verdict")]
    for key, r in sorted(last.items()):
        for so_far, final in pairs:
            want = r[final]
            if key in answered_elsewhere:
                # A broadcast query answered from another address is answered
                # on another flow's packet, after the query's last one.
                if so_far != "smbscope.netbios.state_so_far":
                    continue
                want = "no-answer"
            if r[so_far] != want:
                errors.append("%s: %s: last packet %s: %s = %r, final %r" %
                              (name, key, r["frame.number"], so_far, r[so_far], want))


EXPERT = {
    "netbios": re.compile(r"^NetBIOS traffic \("),
    "refused": re.compile(r"^NetBIOS attempt refused"),
    "smb1": re.compile(r"^SMB1 negotiated"),
    "offport": re.compile(r"^NBSS session setup on TCP port \d+ \(not 139\)"),
    "altport": re.compile(r"^SMB on alternative (TCP|UDP) port \d+"),
}


def expert_counts(run):
    counts = collections.Counter()
    for r in run.rows:
        for msg in values(r, "_ws.expert.message"):
            for k, rx in EXPERT.items():
                if rx.search(msg):
                    counts[k] += 1
    return counts


def check_expert(name, run, rows, errors):
    tcp = [r for r in rows if r["kind"] == "tcp"]
    alt = [r for r in rows if alt_port_expected(r)]
    exact = {
        "netbios": sum(1 for r in rows if dash(r["netbios_service"])),
        "refused": sum(1 for r in rows if r["netbios_state"] == "refused"),
        "smb1": sum(1 for r in tcp if r["smb_version"] == "1" and dash(r["dialect"])),
        "altport": len(alt),
    }
    offport = any(r["transport"] == "nbt-nonstandard-port" for r in tcp)
    got = expert_counts(run)
    for k, n in exact.items():
        if got[k] != n:
            errors.append("%s: %d \"%s\" expert items, expected %d" % (name, got[k], k, n))
    if bool(got["offport"]) != offport:
        errors.append("%s: NBSS-off-139 expert %s, expected %s" % (name, bool(got["offport"]), offport))


def parse_stats(text):
    """{"table/value": count} of -z smbscope,tree, zero rows left out; and
    every column header seen (the test wants only Value and Count)."""
    counts = {}
    table = None
    for line in text.splitlines():
        if line.strip() in STAT_TABLES:
            table = line.strip()
            continue
        if "|" not in line:
            table = None  # another table's title (whole input, verdicts: check_decodeloss)
            continue
        cells = [c.strip() for c in line.split("|")]
        if table and len(cells) == 3 and cells[1].isdigit():
            if int(cells[1]):
                counts[table + "/" + cells[0]] = int(cells[1])
        elif len(cells) >= 2 and cells[0] == "Value":
            counts["columns"] = "|".join(c for c in cells if c)
    return counts


def plugin_words(run):
    words = collections.defaultdict(set)
    for r in run.rows:
        key = flow_key(r)
        if key and r["smbscope.transport"]:
            version = int(r["smbscope.quic.version"], 16) if r["smbscope.quic.version"] else None
            words[key].add((dash(r["smbscope.signing"]), r["smbscope.signed"], dash(r["smbscope.encryption"]),
                            dash(r["smbscope.auth"]), "1" if r["smbscope.alt_port"] else "0",
                            dash(r["smbscope.quic.sni"]), QUIC_VERSION_NAMES.get(version, version)))
    return words


def compare_violations(name, cmd_doc, run, errors, what="violations"):
    want, loose = cmd_doc.violations()
    got = plugin_violations(run)
    for key in sorted(set(want) | set(got)):
        if want.get(key, set()) != got.get(key, set()):
            errors.append("%s: %s %s: command %s, plugin %s" %
                          (name, what, key, sorted(want.get(key, ())), sorted(got.get(key, ()))))
    for v in loose:
        print("note: %s: the command's %s violation names no conversation: %s" % (name, v["rule"], v.get("detail")))
    undecided = set()
    for r in run.rows:
        undecided |= set(values(r, "smbscope.undecided"))
    if undecided != cmd_doc.undecided():
        errors.append("%s: %s: undecided rules: command %s, plugin %s" %
                      (name, what, sorted(cmd_doc.undecided()), sorted(undecided)))


# The command's words per connection (command_view.Command.words), by name.
WORDS = ("signing", "signed", "encryption", "auth", "alt_port", "sni", "quic_version")


def capture_features(cap, label, rows, keyless, command):
    """What one (capture, mode) case shows, for subset.cover(): its manifest
    rows (tshark's facts: flow kind, transport, NetBIOS service and state,
    whether a dialect was chosen; SMB version), alternative-port items, the
    kinds of the notes, the mode, and the command's answer (each word of
    each connection's, violated and undecided rules, outcome, unknowns).
    Not the dialect's name nor the link type: the plugin reads both from
    Wireshark's fields and names dialects with the command's table
    (dissector/smb/dialect.c), and tests/e2e/manifest_check.py checks the
    command against the manifest on every sample."""
    f = {("mode", label)}
    for r in rows:
        f.add(("flow", r["kind"], dash(r["transport"]), dash(r["netbios_service"]), dash(r["netbios_state"]),
               bool(manifest_dialect(r, keyless))))
        f.add(("smb version", dash(r["smb_version"])))
        if alt_port_expected(r):
            f.add(("altport", r["transport"]))
        f |= {("note", subset.words(n)) for n in (r.get("note") or "").split(";") if dash(n.strip())}
    if command and command.readable:
        for w in command.words().values():
            f |= {(k, bool(v) if k == "sni" else v) for k, v in zip(WORDS, w)}
        for rules in command.violations()[0].values():
            f |= {("violation", v) for v in rules}
        f |= {("undecided", v) for v in command.undecided()}
        f.add(("outcome", command.doc["verdict"]["outcome"]))
        f |= {("unknown", u["reason"]) for u in command.doc["verdict"]["unknowns"]}
    elif command:
        f.add(("unreadable",))
    return f


def first_pass_features(case):
    """What the one-pass comparison depends on: each flow's kind and
    transport, its NetBIOS state ("so far" until the flow's last packet), a
    broadcast answered from elsewhere, the mode."""
    rows, label = case[5], case[1]
    f = {("mode", label)}
    for r in rows:
        f.add((r["kind"], dash(r["transport"])))
        f.add(("netbios", dash(r["netbios_state"])))
        if "answered by" in (r.get("note") or ""):
            f.add(("answered elsewhere",))
    return f


def check_captures(ts, args, caps, by_file, one_pass=True, must=(), select=True, what="captures"):
    """Every comparison over (capture, mode) cases, from two tshark runs each
    (one: -2 only, without the first-pass comparisons); an SMB over QUIC
    sample twice: with its key log and without.  By default (select) the
    two-pass runs cover every feature the cases show (subset.cover; the
    must captures always, with their key log when they have one) and the
    one-pass runs every first-pass feature of those; SMBSCOPE_FULL=1: every
    case in both."""
    cmd = [args.smbscope] + (args.smbscope_arg or ["--format", "json"]) if args.smbscope else None
    cases = []
    for cap in caps:
        rows = by_file.get(os.path.basename(cap), [])
        for label, options, cmd_options, keyless in modes(ts, cap):
            # the command is cheap (no tshark): its report helps choose the subset
            command = Command(cmd + cmd_options, cap) if cmd else None
            name = os.path.basename(cap) + (" (%s)" % label if label else "")
            cases.append((cap, label, name, options, keyless, rows, command))
    two_cases = cases
    if select:
        # a must capture in its first mode (with its key log when it has one)
        first = [c for i, c in enumerate(cases) if c[0] in must and (i == 0 or cases[i - 1][0] != c[0])]
        two_cases = subset.cover(cases, lambda c: capture_features(c[0], c[1], c[5], c[4], c[6]),
                                 cost=lambda c: os.path.getsize(c[0]), must=first)
    one_cases = subset.cover(two_cases, first_pass_features) if one_pass else []
    if select:
        subset.say("%s in two passes" % what, len(two_cases), len(cases))
    if one_pass:
        subset.say("%s also in one pass" % what, len(one_cases), len(cases))
    if len(two_cases) < len(cases):
        print("ran: " + ", ".join(c[2] + (" (+1 pass)" if c in one_cases else "") for c in two_cases))
    errors = []
    checked = 0
    for case in two_cases:
        cap, label, name, options, keyless, rows, command = case
        check_capture(ts, name, cap, ts.capture(cap), rows, options, command, keyless, case in one_cases, errors)
        checked += len(rows)
    for e in errors:
        print("FAIL " + e)
    if errors:
        raise Failure("%d mismatches" % len(errors))
    print("%d flows in %d cases agree with the manifest%s; first pass and statistics as expected" %
          (checked, len(two_cases), " and the command" if cmd else ""))


def compare_outcome(name, command, run, errors):
    """The whole input's verdict on every smbscope frame (two passes) is the
    command's outcome, and its decode losses the command's of the kinds the
    plugin decides.  Losses the command alone counts (IP fragments that
    never reassembled: plugin/README.md, Limits) are left out of the
    expected outcome, and said."""
    doc = command.doc
    outcome = doc["verdict"]["outcome"]
    reasons = {u["reason"]: u["count"] for u in doc["verdict"]["unknowns"]}
    loss = sum(f(doc) for f in PLUGIN_LOSSES.values())
    if reasons.get("decode-loss", 0) != loss:
        print("note: %s: the command's decode-loss %d, of which %d of the plugin's kinds" %
              (name, reasons.get("decode-loss", 0), loss))
        if outcome == "inconclusive" and set(reasons) == {"decode-loss"} and not loss:
            outcome = "pass"
    got = {(r["smbscope.capture.verdict"], r["smbscope.capture.decode_losses"]) for r in run.rows
           if r["smbscope.capture.verdict"]}
    if got and got != {(outcome, str(loss))}:
        errors.append("%s: capture verdict and decode losses %s, the command %s" % (name, sorted(got), (outcome, loss)))


def check_capture(ts, name, cap, local, rows, options, command, keyless, one_pass, errors):
    two = Run(ts, local, True, options)
    one = Run(ts, local, False, options) if one_pass else None
    got, uncovered = plugin_flows(two)
    compare_flows(name, manifest_flows(rows, keyless), got, "2-pass", errors)
    for stream, frames in sorted(uncovered.items()):
        errors.append("%s: tcp.stream %s: frames %s lack smbscope.transport on two passes" %
                      (name, stream, ",".join(frames[:10])))
    # Every frame of an SMB over QUIC connection (tshark's
    # quic.connection.number, which follows a migration, and with the key
    # log the IDs of NEW_CONNECTION_ID) is in its flow: the manifest's count
    # (tshark with the key log), and in this run's mode tshark's own.
    frames = collections.Counter(flow_key(r) for r in two.rows)
    for r in rows:
        key = ("quic", r["client"], int(r["client_port"]), r["server"], int(r["server_port"]))
        if not keyless and r["kind"] == "quic" and dash(r["transport"]) and frames[key] != int(r["packets"]):
            errors.append("%s: %s: %d frames in the plugin's flow, tshark's connection has %s" %
                          (name, key, frames[key], r["packets"]))
    # (a frame tshark leaves out of every connection, a 0-RTT packet after a
    # Retry, joins its UDP conversation's flow as in the command)
    inflow, sizes = collections.defaultdict(collections.Counter), collections.Counter()
    for r in two.rows:
        n = values(r, "quic.connection.number")[:1]
        sizes.update(n)
        if n and flow_key(r) and flow_key(r)[0] == "quic":
            inflow[flow_key(r)].update(n)
    for key, numbered in sorted(inflow.items()):
        for n, k in sorted(numbered.items()):
            if k != sizes[n]:
                errors.append("%s: %s: %d frames of tshark's QUIC connection %s in the plugin's flow, of %d in "
                              "this mode" % (name, key, k, n, sizes[n]))
    if one:
        check_first_pass(name, one, two, rows, errors)
    check_expert(name, two, rows, errors)
    exp = expected_stats(rows, keyless)
    for run, label in ((one, "1-pass"), (two, "2-pass")):
        if run and run.stats != exp:
            errors.append("%s (%s): stats %s, expected %s" % (name, label, run.stats, exp))
    if not command:
        return
    if not command.readable:
        print("note: %s: the command cannot read this file; not compared" % name)
        return
    compare_flows(name, command.flows(), got, "vs smbscope", errors)
    compare_flows(name, {k: [v] for k, v in command.words().items()}, plugin_words(two),
                  "signing/encryption/auth vs smbscope", errors)
    compare_violations(name, command, two, errors)
    compare_outcome(name, command, two, errors)


def edge_captures(ts, args):
    """Edge cases made from the samples at test time (tests/e2e/quic_edge.py,
    quic_v2.py), with tshark_facts.py's rows for them (the stray ones under
    SMBSCOPE_FULL=1: plugin-roce has them by default): SMB over QUIC whose
    client is NAT-rebound after the handshake (tshark keeps one connection:
    checked here, or the case proves nothing), a RoCEv2 pair that only
    negotiated SMB Direct, the RoCEv2 sample after a stray ACK or non-SMBD
    SEND from its server to another QP of its client's host (one
    connection: tshark_facts.py pairs by PSN, roce_pairs.py has the
    details), SMB over QUIC version 2 on UDP 9443 after
    Version Negotiation, and SMB over QUIC whose client moves to a
    connection ID announced in NEW_CONNECTION_ID (quic_nci.py: one
    connection with the key log, as in the command)."""
    samples = args.samples or os.path.join(args.source_root, "samples")
    sys.path.insert(0, os.path.join(args.source_root, "tests", "e2e"))
    import quic_edge
    made = {}
    mig = os.path.join(ts.tmp, "edge-quic443-migrated.pcap")
    quic_edge.migrated_copy(os.path.join(samples, "quic443-smb3_11.pcap"), mig)
    shutil.copy(os.path.join(samples, "quic443-smb3_11.keylog"), os.path.join(ts.tmp, "edge-quic443-migrated.keylog"))
    made[mig] = ("quic", "3.1.1")
    roce = os.path.join(ts.tmp, "edge-roce-negotiate-only.pcap")
    quic_edge.negotiate_only_copy(os.path.join(samples, "rdma-roce-4791.pcap"), roce, quic_edge.ROCE_NEGOTIATE_FRAMES)
    made[roce] = ("rdma-roce", "-")
    import rdma_read
    # plugin-roce (roce_pairs.py) has the same two copies in both passes
    # against the command's pairs; here they add tshark's facts, under
    # SMBSCOPE_FULL=1 only
    for kind in ("ack", "send") if subset.FULL else ():
        stray = os.path.join(ts.tmp, "edge-roce-stray-%s.pcap" % kind)
        rdma_read.roce_stray_first_copy(os.path.join(samples, "rdma-roce-4791.pcap"), stray, kind)
        made[stray] = ("rdma-roce", "3.1.1")
    import quic_nci
    import quic_v2
    nci = os.path.join(ts.tmp, "edge-quic443-new-cid.pcap")
    quic_nci.new_cid_copy(os.path.join(samples, "quic443-smb3_11.pcap"), os.path.join(samples, "quic443-smb3_11.keylog"),
                          nci)
    shutil.copy(os.path.join(samples, "quic443-smb3_11.keylog"), os.path.join(ts.tmp, "edge-quic443-new-cid.keylog"))
    made[nci] = ("quic", "3.1.1")
    v2 = os.path.join(ts.tmp, "edge-quic9443-v2-vn.pcap")
    quic_v2.version2_copy(os.path.join(samples, "quic443-smb3_11.pcap"), v2, 9443)
    made[v2] = ("quic", "-")
    for f in os.listdir(ts.tmp):
        if f.startswith("edge-"):
            os.chmod(os.path.join(ts.tmp, f), 0o644)
    facts = os.path.join(args.source_root, "tests", "e2e", "tshark_facts.py")
    p = subprocess.run(["/usr/bin/python3", facts, "--tshark", args.tshark] + list(made),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise Failure("tshark_facts.py failed: %s" % p.stderr.decode()[-400:])
    by_file = collections.defaultdict(list)
    for r in csv.DictReader(p.stdout.decode("utf-8", "replace").splitlines(), delimiter="\t"):
        by_file[r["file"]].append(r)
    for cap, (transport, dialect) in made.items():
        got = [(r["transport"], r["dialect"]) for r in by_file[os.path.basename(cap)]]
        if got != [(transport, dialect)]:
            raise Failure("%s: tshark sees %s, not one %s connection (dialect %s)" %
                          (os.path.basename(cap), got, transport, dialect))
    return sorted(made), by_file


def check_samples(ts, args):
    caps, by_file = samples_or_skip(args)
    edges, edge_rows = edge_captures(ts, args)
    by_file.update(edge_rows)
    # the edge cases were each made to catch a bug: every one, with its key log
    check_captures(ts, args, caps + edges, by_file, must=edges, what="samples and edge cases")


def check_roce(ts, args):
    """RoCEv2 directions paired as the command pairs them, a stray packet
    before the session: tests/plugin/roce_pairs.py."""
    if not args.smbscope:
        print("SKIP: needs --smbscope")
        sys.exit(SKIP)
    check_listed(ts, args)  # or tshark runs without the plugin and proves nothing
    samples = args.samples or os.path.join(args.source_root, "samples")
    errors = []
    for name, cap in roce_pairs.captures(args.source_root, samples, ts.tmp):
        local = ts.capture(cap)
        two = Run(ts, local, True, roce_pairs.PLUGIN_POLICY, roce_pairs.EXTRA)
        one = Run(ts, local, False, roce_pairs.PLUGIN_POLICY, roce_pairs.EXTRA)
        command = Command([args.smbscope, "--format", "json"] + roce_pairs.COMMAND_POLICY, cap)
        roce_pairs.check_pairs(name, command, one, two, errors)
        got, _ = plugin_flows(two)
        compare_flows(name, command.flows(), got, "vs smbscope", errors)
        compare_flows(name, {k: [v] for k, v in command.words().items()}, plugin_words(two),
                      "signing/encryption/auth vs smbscope", errors)
        compare_violations(name, command, two, errors)
        compare_outcome(name, command, two, errors)
        check_first_pass(name, one, two, [], errors)
        print("%s: %d frames; the command %s, %d connection(s)" %
              (name, len(two.rows), command.doc["verdict"]["outcome"], len(command.doc.get("connections", []))))
    for e in errors:
        print("FAIL " + e)
    if errors:
        raise Failure("%d mismatches" % len(errors))


# The command's options and the plugin's preferences that mean the same.
POLICIES = [
    (["--require-signing", "--require-encryption", "--min-dialect", "3.1.1"],
     ["-o", "smbscope.require_signing:TRUE", "-o", "smbscope.require_encryption:TRUE",
      "-o", "smbscope.min_dialect:3.1.1"]),
    (["--allow-netbios", "--allow-smb1", "--min-dialect", "3.0"],
     ["-o", "smbscope.allow_netbios:TRUE", "-o", "smbscope.allow_smb1:TRUE", "-o", "smbscope.min_dialect:3.0"]),
    (["--allow-transport", "direct:445,quic:443,rdma-iwarp:*"],
     ["-o", "smbscope.allow_transport:direct:445,quic:443,rdma-iwarp:*"]),
]


def policy_features(case):
    """What one (capture, mode, policy) case shows: per flow of the command's
    report the rules the policy finds it violating, under the policy's number
    and under the flow's transport (or NetBIOS service); the rules naming no
    conversation and the undecided rules, under the policy's number; the mode."""
    label, i, command = case[1], case[4], case[-1]
    want, loose = command.violations()
    f = {("mode", label), (i, "undecided") + tuple(sorted(command.undecided()))}
    for key, vals in command.flows().items():
        rules = tuple(sorted(want.get(key[1:], ())))
        f.add((i,) + rules)
        f |= {(key[0], transport or service) + rules for transport, _, service, _ in vals}
    f |= {(i, "loose", v["rule"]) for v in loose}
    return f


def check_policy(ts, args):
    caps, by_file = samples_or_skip(args)
    if not args.smbscope:
        print("SKIP: needs --smbscope")
        sys.exit(SKIP)
    cases = []
    for cap in caps:
        smb = any(dash(r["transport"]) for r in by_file.get(os.path.basename(cap), []))
        for label, kl_options, kl_cmd, _ in modes(ts, cap):
            name = os.path.basename(cap) + (" (%s)" % label if label else "")
            for i, (options, prefs) in enumerate(POLICIES):
                if "--allow-netbios" not in options and not smb:
                    continue  # the SMB rules need an SMB connection to judge
                # the command is cheap (no tshark): every case's answer helps choose the subset
                command = Command([args.smbscope, "--format", "json"] + kl_cmd + options, cap)
                if command.readable:
                    cases.append((cap, label, name, kl_options, i, options, prefs, command))
    # by default the tshark runs cover every (policy, flow, violated rules)
    # the command shows (subset.py); SMBSCOPE_FULL=1: every case
    chosen = subset.cover(cases, policy_features, cost=lambda c: os.path.getsize(c[0]))
    subset.say("policy: captures x modes x policies", len(chosen), len(cases))
    errors = []
    rules = collections.Counter()
    for cap, label, name, kl_options, i, options, prefs, command in chosen:
        run = Run(ts, ts.capture(cap), True, kl_options + prefs)
        compare_violations(name, command, run, errors, " ".join(options))
        for s in plugin_violations(run).values():
            rules.update(s)
    for e in errors:
        print("FAIL " + e)
    if errors:
        raise Failure("%d mismatches" % len(errors))
    # Each non-default policy must have been exercised, or the test proves nothing.
    needed = {"signing", "encryption", "min-dialect", "transport"}
    if not needed <= set(rules):
        raise Failure("samples exercised only %s" % sorted(rules))
    print("policy: %d cases of %d captures x %d policies agree with the command (%s)" %
          (len(chosen), len(caps), len(POLICIES), ", ".join("%s %d" % kv for kv in sorted(rules.items()))))


# Public captures whose manifest rows cannot be compared, and why.
CORPUS_KNOWN = {}
# Public captures every default run compares, and why (tests/bench/RESULTS.md).
CORPUS_MUST = {
    "zeek__zeek__kerberos_tso.pcapng": "Kerberos over TCP 88 (0x00 and a length, no SMB protocol id) was once "
                                       "reported as a direct SMB connection",
}
CATALOG_COUNTS = ("tcp_445_packets", "tcp_139_packets", "udp_137_packets", "udp_138_packets", "nbss_packets")


def corpus_features(entry, command):
    """What one public capture shows before the plugin reads it: its format
    and link type, which of the SMB and NetBIOS ports and messages tshark's
    catalogue counts, the SMB2 dialects offered and chosen, the catalogue's
    notes (has_ipx, malformed packets ...), and the command's answer (each
    connection's transport, dialect and words, violated rule sets,
    undecided rules, outcome, unknowns)."""
    f = {("ext", os.path.splitext(entry["relpath"].replace(".gz", ""))[1]), ("link", entry["link_type"])}
    f |= {("count", k) for k in CATALOG_COUNTS + ("smb1_negotiate_req", "smb1_negotiate_resp", "smb2_negotiate_req",
                                                  "smb2_negotiate_resp") if int(entry.get(k) or 0)}
    for k in ("offered_dialects", "selected_dialects"):
        for part in filter(None, (entry.get(k) or "").split(";")):
            kind, _, rest = part.partition(":")
            f |= {(k, kind, d if kind == "smb2" else "") for d in rest.replace("|", ",").split(",")}
    for note in (entry.get("notes") or "").split(";"):
        name, _, value = note.strip().partition("=")
        if name and value != "0":
            f.add(("note", name))
    if command.readable:
        flows = command.flows()
        for key, vals in flows.items():
            f |= {("flow", key[0], transport, service, state) for transport, _, service, state in vals}
            f |= {("dialect", dialect) for _, dialect, _, _ in vals}
        for w in command.words().values():
            f |= {(k, bool(v) if k == "sni" else v) for k, v in zip(WORDS, w)}
        for rules in command.violations()[0].values():
            f.add(("violations",) + tuple(sorted(rules)))
        f.add(("undecided",) + tuple(sorted(command.undecided())))
        f.add(("outcome", command.doc["verdict"]["outcome"]))
        f |= {("unknown", u["reason"]) for u in command.doc["verdict"]["unknowns"]}
    else:
        f.add(("unreadable",))
    return f


def check_corpus(ts, args):
    """check_captures over the public captures (../shared/corpus, read in
    place and never copied into the repository), with facts computed by
    tests/e2e/tshark_facts.py from plain tshark.  By default CORPUS_MUST
    and the captures that cover every feature of corpus_features() (the
    smaller first: subset.py); SMBSCOPE_FULL=1: all."""
    corpus = args.corpus or os.path.join(args.source_root, "..", "shared", "corpus")
    catalog = os.path.join(corpus, "CATALOG.tsv")
    facts = os.path.join(args.source_root, "tests", "e2e", "tshark_facts.py")
    if not os.path.exists(catalog) or not os.path.exists(facts):
        # skipped, but failed under CI=true (tests/e2e/absent.py)
        sys.path.insert(0, os.path.join(args.source_root, "tests", "e2e"))
        from absent import absent
        sys.exit(absent("needs %s and %s" % (catalog, facts)))
    with open(catalog, newline="") as f:
        entries = [r for r in csv.DictReader(f, delimiter="\t")
                   if any(int(r.get(k) or 0) for k in CATALOG_COUNTS)]
    cases = []
    for r in entries:
        name = r["relpath"].replace("/", "__")
        if name in CORPUS_KNOWN:
            print("skipping %s: %s" % (name, CORPUS_KNOWN[name]))
            continue
        path = os.path.join(corpus, r["relpath"])
        command = Command([args.smbscope, "--format", "json"], path) if args.smbscope else None
        cases.append((r, name, path, command))
    if not cases:
        print("SKIP: no SMB or NetBIOS capture in the corpus")
        sys.exit(SKIP)
    chosen = subset.cover(cases, lambda c: corpus_features(c[0], c[3]) if c[3] else {("all", c[1])},
                          cost=lambda c: os.path.getsize(c[2]), must=[c for c in cases if c[1] in CORPUS_MUST])
    subset.say("corpus captures", len(chosen), len(cases))
    caps = [ts.capture(path, name) for _, name, path, _ in chosen]
    p = subprocess.run(["/usr/bin/python3", facts, "--tshark", args.tshark] + caps,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise Failure("tshark_facts.py failed: %s" % p.stderr.decode()[-400:])
    by_file = collections.defaultdict(list)
    for r in csv.DictReader(p.stdout.decode("utf-8", "replace").splitlines(), delimiter="\t"):
        by_file[r["file"]].append(r)
    # The first-pass properties hold by construction and are checked on
    # the samples; the corpus adds captures, not modes (one run each).
    check_captures(ts, args, caps, by_file, one_pass=False, select=False, what="corpus captures")


def smb_frames(ts, capture, plugin, decode_as=None):
    a = ["-n", "-r", capture, "-Y", "smb || smb2", "-T", "fields", "-e", "frame.number"]
    if decode_as:
        a += ["-d", decode_as]
    out, _, _ = ts.run(a, plugin=plugin)
    return out.split()


def check_altport(ts, args):
    caps, by_file = samples_or_skip(args)
    tested = 0
    errors = []
    for cap in caps:
        name = os.path.basename(cap)
        ports = {int(r["server_port"]) for r in by_file.get(name, [])
                 if r["kind"] == "tcp" and int(r["server_port"]) not in (139, 445) and dash(r["transport"])
                 and not r["transport"].startswith("rdma-")}
        for port in sorted(ports):
            local = ts.capture(cap)
            ours = smb_frames(ts, local, True)
            ref = smb_frames(ts, local, False, "tcp.port==%d,nbss" % port)
            bare = smb_frames(ts, local, False)
            tested += 1
            if not ref:
                errors.append("%s: plain tshark -d decodes no SMB on %d" % (name, port))
            if ours != ref:
                errors.append("%s: port %d: plugin decodes SMB in %d frames, tshark -d in %d" %
                              (name, port, len(ours), len(ref)))
            if bare == ref:
                errors.append("%s: port %d: tshark decodes SMB without help: test proves nothing" % (name, port))
            print("%s: port %d: %d SMB frames with the plugin, %d with -d, %d without either" %
                  (name, port, len(ours), len(ref), len(bare)))
    if not tested:
        print("SKIP: no sample with SMB on an alternative port")
        sys.exit(SKIP)
    for e in errors:
        print("FAIL " + e)
    if errors:
        raise Failure("%d mismatches" % len(errors))


def valgrind_blocks(text):
    """valgrind's report split into its error blocks (blank-prefix lines)."""
    blocks, cur = [], []
    for line in text.splitlines():
        body = re.sub(r"^==\d+== ?", "", line)
        if body.strip():
            cur.append(body)
        elif cur:
            blocks.append("\n".join(cur))
            cur = []
    if cur:
        blocks.append("\n".join(cur))
    return blocks


def check_valgrind(ts, args):
    if os.environ.get("SMBSCOPE_VALGRIND") != "1":
        print("SKIP: slow; run with SMBSCOPE_VALGRIND=1")
        sys.exit(SKIP)
    caps, _ = samples_or_skip(args)
    vg = shutil.which("valgrind")
    if not vg:
        print("SKIP: valgrind not installed")
        sys.exit(SKIP)
    os.chmod(ts.tmp, 0o777)  # the log is written by the unprivileged user
    errors = []
    for cap in caps:
        name = os.path.basename(cap)
        log = os.path.join(ts.tmp, "vg-%s.log" % name)
        wrapper = [vg, "--error-exitcode=99", "--num-callers=40", "--log-file=" + log]
        kl = keylog_for(cap)
        a = (["-o", "tls.keylog_file:" + ts.capture(kl)] if kl else []) + [
            "-2", "--disable-protocol", "rpcordma", "-n", "-r", ts.capture(cap), "-z", "smbscope,tree", "-T", "fields"]
        for f in FIELDS:
            a += ["-e", f]
        _, _, rc = ts.run(a, wrapper=wrapper, check=False)
        text = open(log, errors="replace").read() if os.path.exists(log) else ""
        m = re.search(r"ERROR SUMMARY: (\d+) errors", text)
        ours = [b for b in valgrind_blocks(text)
                if "smbscope.so" in b and re.search(r"Invalid|uninitialised|Mismatched|overlap", b)]
        print("%s: valgrind exit %d, %s errors, %d through smbscope.so" %
              (name, rc, m.group(1) if m else "?", len(ours)))
        if not m:
            errors.append("%s: no valgrind summary (exit %d): %s" % (name, rc, text[-500:]))
        elif m.group(1) != "0":
            errors.append("%s: %s" % (name, ours[0] if ours else "errors outside the plugin:\n" + text[-1500:]))
    for e in errors:
        print("FAIL " + e)
    if errors:
        raise Failure("%d captures with valgrind errors" % len(errors))


CHECKS = {
    "listed": check_listed, "fields": check_fields, "samples": check_samples, "policy": check_policy,
    "altport": check_altport, "valgrind": check_valgrind, "corpus": check_corpus, "decodeloss": check_decodeloss,
    "roce": check_roce,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("check", choices=sorted(CHECKS))
    ap.add_argument("--plugin", default="", help="the built smbscope.so")
    ap.add_argument("--source-root", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    ap.add_argument("--samples", default=None, help="default: SOURCE_ROOT/samples")
    ap.add_argument("--corpus", default=None, help="default: SOURCE_ROOT/../shared/corpus")
    ap.add_argument("--tshark", default=os.environ.get("TSHARK", "tshark"))
    ap.add_argument("--smbscope", default=None, help="the smbscope command, to compare its JSON report")
    ap.add_argument("--smbscope-arg", action="append", default=None,
                    help="argument placed before the capture (default: --format json); repeatable")
    args = ap.parse_args()
    if not shutil.which(args.tshark):
        print("SKIP: tshark not found")
        return SKIP
    if not args.plugin or not os.path.exists(args.plugin):
        print("SKIP: plugin not built")
        return SKIP
    ts = None
    try:
        ts = WsEnv(args.tshark, args.plugin)
        CHECKS[args.check](ts, args)
    except Failure as e:
        print("FAIL: %s" % e)
        return 1
    finally:
        if ts:
            ts.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
