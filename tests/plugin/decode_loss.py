"""decode_loss.py - the plugin's whole-input decode-loss verdict equals the command's.

The `decodeloss` check of plugin_test.py.  Damaged copies of the SMB Direct
and SMB over QUIC samples, made at test time as the command's own tests make
them (tests/e2e/rdma_samples_check.py, tests/e2e/quic_loss_check.py):

  iwarp          one octet flipped inside an FPDU: one bad CRC32c
  roce           one octet of the Tree Connect's share path flipped: one bad ICRC
  quic-initial   the client's first Initial's AEAD tag damaged (with and
                 without the key log: Initial keys need none)
  quic-initials  both client Initials damaged: no connection, the datagrams
                 that open with an Initial cannot be attributed
  quic-app       one client 1-RTT packet damaged: a loss with the key log,
                 none without (1-RTT is unreadable without keys anyway)
  headers        frames cut inside the IPv4 and the TCP header, and IPv4/TCP
                 headers that do not parse (version, IHL, total length,
                 data offset): truncated and malformed; a total length
                 beyond the frame: no loss
  link types     samples/nbt139-nt1.pcap on 802.11 (a pcap; a radiotap
                 pcapng with beacons; A-MSDUs of up to three subframes,
                 bare and behind radiotap; every MSDU in three fragments;
                 A-MSDUs of up to three subframes sent in fragments)
                 and in NULL-encrypted ESP: no loss, both FAIL
                 (tests/e2e/encap_link_check.py makes them); wlan-frag-gap:
                 one MSDU's middle fragment not captured, one
                 fragment-incomplete loss; esp-sweep: NULL ESP of every
                 next header the command does not decode itself,
                 encrypted-esp where Wireshark's heuristic does not open it;
                 wlan-protected, esp-encrypted: every frame sealed, no keys
                 (encrypted-link, encrypted-esp), both inconclusive

  drops          a pcapng whose second packet block says 1,000 packets were
                 lost (epb_dropcount; an obsolete Packet Block's drops
                 count): the command's capture-drops unknown, inconclusive

and the untouched samples as controls (no loss, the command's outcome).  For
each, tshark with the plugin runs in one pass and in two passes, and the
command (--format json, --tls-keylog with the key log) reads the same file.
That is under SMBSCOPE_FULL=1; by default (subset.py) the damaged cases
named in LOSSY, wlan-frag-amsdu3 and a cover of the others' link types,
outcomes and loss kinds run in two passes, a cover of the loss kinds also
in one pass:

  - the frames' smbscope.decode_loss items, identical in both passes, add up
    to the command's decode-loss count, kind by kind (evidence.decode_losses
    truncated and malformed, stats.iwarp_crc_bad_fpdus,
    stats.roce_icrc_bad_packets, stats.quic undecryptable_*);
  - two passes: every smbscope frame's smbscope.capture.verdict is the
    command's outcome, smbscope.capture.decode_losses its count and
    smbscope.capture.unknown "decode-loss" exactly when it has one; one pass
    shows none of these final fields; with drops, smbscope.capture.unknown
    "capture-drops" and smbscope.capture.drops the command's count;
  - -z smbscope,tree, both passes: the whole input's row "verdict X" is the
    command's outcome, its "decode-loss KIND" rows the counts above.
"""

import collections
import json
import os
import shutil
import struct
import subprocess
import sys

import subset
from command_view import PLUGIN_LOSSES
from wsenv import Failure

FIELDS = ["frame.number", "smbscope", "smbscope.decode_loss", "smbscope.capture.verdict",
          "smbscope.capture.decode_losses", "smbscope.capture.unknown", "smbscope.capture.drops"]
FINAL = ["smbscope.capture.verdict", "smbscope.capture.decode_losses", "smbscope.capture.unknown",
         "smbscope.capture.drops"]
WHOLE = "Whole input (the command's outcome and decode losses)"
AGG = "\x1f"


def damaged_copies(samples, tmp):
    """(name, capture, key log or None) for every case and control."""
    import quic_loss_check as q
    import rdma_samples_check as r
    cases = []
    for name in ("rdma-iwarp-5445.pcap", "rdma-iwarp-markers-15445.pcap", "rdma-roce-4791.pcap"):
        cases.append((name, os.path.join(samples, name), None))
    iwarp = r.flipped_copy(os.path.join(samples, "rdma-iwarp-5445.pcap"), 10, 94, tmp)
    cases.append(("iwarp", shutil.move(iwarp, os.path.join(tmp, "iwarp-bad.pcap")), None))
    roce = os.path.join(samples, "rdma-roce-4791.pcap")
    frames = list(r.pcap_frames(roce))
    # the Tree Connect request: the one naming the share
    tc = [int(x["frame.number"]) for x in r.rows(roce) if x["smb2.cmd"] == "3"
          and "IPC".encode("utf-16-le") in frames[int(x["frame.number"]) - 1]]
    at = frames[tc[0] - 1].find("IPC".encode("utf-16-le")) if tc else -1
    if at < 0:
        raise Failure("rdma-roce-4791.pcap: no Tree Connect naming IPC$ to damage")
    cases.append(("roce", shutil.move(r.flipped_copy(roce, tc[0], at, tmp), os.path.join(tmp, "roce-bad.pcap")), None))
    pcap = os.path.join(samples, q.CAPTURE)
    keylog = os.path.join(tmp, "quic.keylog")
    shutil.copy(os.path.join(samples, q.KEYLOG), keylog)
    rows = q.tshark(pcap, keylog)
    client = rows[0]["udp.srcport"][0]
    initials = [x for x in rows if x["udp.srcport"][0] == client and x["quic.header_form"][:1] == ["1"]
                and x["quic.long.packet_type"][:1] == ["0"]]
    app = [x for x in rows if x["udp.srcport"][0] == client and x["quic.header_form"][:1] == ["0"]
           and "0" in x["quic.stream.stream_id"]]
    damage = {"quic-initial": initials[:1], "quic-initials": initials[:2], "quic-app": [app[len(app) // 2]]}
    for keys in (None, keylog):
        cases.append((q.CAPTURE, pcap, keys))
        for name, hit in damage.items():
            bad = os.path.join(tmp, name + ".pcap")
            if not os.path.exists(bad):
                q.flip_last_octet(pcap, bad, {int(x["frame.number"][0]): x for x in hit})
            cases.append((name, bad, keys))
    cases.append(("headers", header_damage(os.path.join(samples, "smb445-smb3_11.pcap"),
                                           os.path.join(tmp, "headers-bad.pcap")), None))
    import encap_link_check as link
    nbt = os.path.join(samples, "nbt139-nt1.pcap")
    for mode in ("wlan-qos", "esp-null", "esp-natt", "wlan-protected", "esp-encrypted", "esp-natt-encrypted",
                 "wlan-amsdu3", "radiotap-amsdu3", "wlan-frag", "wlan-frag-gap", "wlan-frag-amsdu3"):
        link.rewrite(nbt, os.path.join(tmp, mode + ".pcap"), mode)
        cases.append((mode, os.path.join(tmp, mode + ".pcap"), None))
    # NULL ESP of every next header but those of the protocols the command
    # decodes itself (its decoder judges their payload): opened where
    # Wireshark opens it.  Not 53 (swIPe): Wireshark reads its payload as
    # an IP header and calls the sweep's octets a malformed one, a header
    # loss the command (which opens no swIPe) does not see.
    link.esp_sweep(os.path.join(tmp, "esp-sweep.pcap"),
                   [n for n in range(256) if n not in link.ESP_OWN and n != 53])
    cases.append(("esp-sweep", os.path.join(tmp, "esp-sweep.pcap"), None))
    link.rewrite(nbt, os.path.join(tmp, "radiotap-beacons.pcap"), "radiotap", beacons=True)
    subprocess.run(["editcap", "-F", "pcapng", os.path.join(tmp, "radiotap-beacons.pcap"),
                    os.path.join(tmp, "radiotap-beacons.pcapng")], check=True, capture_output=True)
    cases.append(("radiotap-beacons", os.path.join(tmp, "radiotap-beacons.pcapng"), None))
    # a pcapng whose second packet block says 1,000 packets were lost before
    # it (an Enhanced Packet Block's epb_dropcount; an obsolete Packet
    # Block's drops count), as tests/e2e/input_bounds_check.py writes them:
    # the command's capture-drops unknown, inconclusive
    import input_bounds_check as ib
    for kind in ("epb", "pb"):
        path = os.path.join(tmp, "%s-drops.pcapng" % kind)
        with open(path, "wb") as f:
            f.write(ib.SHB + ib.idb(1))
            for i, (ts, fr) in enumerate(ib.ethernet_frames(os.path.join(samples, "smb445-smb3_11.pcap"))):
                n = 1000 if i == 1 else 0
                f.write(ib.epb_opts(ts, fr, ib.opt(4, struct.pack("<Q", n))) if kind == "epb" else ib.pb(ts, fr, n))
        cases.append((kind + "-drops", path, None))
    for _, path, keys in cases:
        for f in (path, keys):
            if f and os.path.dirname(f) == tmp:
                os.chmod(f, 0o644)
    return cases


def header_damage(src, dst):
    """A copy of an Ethernet/IPv4 capture whose frames 5 to 10 lose their
    headers as the command's link/IP/TCP/UDP decoder sees it
    (analyzer/net/packet*.c): cut inside the IPv4 header, cut inside the
    TCP header (truncated, 2); IHL 4, total length below the header, TCP
    data offset 2, IP version 5 (malformed, 4); and frame 11's total length
    300 octets beyond the frame, which both clamp (no loss)."""
    import struct
    with open(src, "rb") as f:
        data = f.read()
    head, off, frames = data[:24], 24, []
    while off + 16 <= len(data):
        ts, us, cap, wire = struct.unpack("<IIII", data[off:off + 16])
        frames.append([ts, us, bytearray(data[off + 16:off + 16 + cap]), wire])
        off += 16 + cap
    frames[4][2] = frames[4][2][:14 + 16]
    frames[5][2] = frames[5][2][:14 + 20 + 10]
    frames[6][2][14] = 0x44
    frames[7][2][16:18] = struct.pack(">H", 10)
    frames[8][2][14 + 20 + 12] = 0x20
    frames[9][2][14] = 0x55
    # no loss, for either: a total length beyond the frame (clamped)
    total = struct.unpack(">H", bytes(frames[10][2][16:18]))[0]
    frames[10][2][16:18] = struct.pack(">H", total + 300)
    with open(dst, "wb") as f:
        f.write(head)
        for ts, us, b, wire in frames:
            f.write(struct.pack("<IIII", ts, us, len(b), wire) + bytes(b))
    return dst


def command(binary, capture, keylog):
    cmd = [binary, "--format", "json", "-q"] + (["--tls-keylog", keylog] if keylog else []) + [capture]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, check=False)
    if p.returncode not in (0, 1, 3):
        raise Failure("smbscope exit %d on %s" % (p.returncode, capture))
    doc = json.loads(p.stdout)
    count = sum(u["count"] for u in doc["verdict"]["unknowns"] if u["reason"] == "decode-loss")
    drops = sum(u["count"] for u in doc["verdict"]["unknowns"] if u["reason"] == "capture-drops")
    kinds = {k: f(doc) for k, f in PLUGIN_LOSSES.items()}
    return doc["verdict"]["outcome"], count, {k: v for k, v in kinds.items() if v}, drops


def run(ts, capture, keylog, two_pass):
    args = (["-2"] if two_pass else []) + (["-o", "tls.keylog_file:" + keylog] if keylog else []) + [
        "--disable-protocol", "rpcordma", "-n", "-r", capture, "-T", "fields", "-E", "occurrence=a",
        "-E", "aggregator=" + AGG, "-z", "smbscope,tree"]
    for f in FIELDS:
        args += ["-e", f]
    out, _, _ = ts.run(args)
    lines = out.split("\n")
    cut = next((i for i, line in enumerate(lines) if line.startswith("====")), len(lines))
    rows = []
    for line in lines[:cut]:
        if line.strip():
            v = line.split("\t") + [""] * len(FIELDS)
            rows.append({f: (v[i].split(AGG) if v[i] else []) for i, f in enumerate(FIELDS)})
    whole, table = {}, None
    for line in lines[cut:]:
        if "|" not in line:
            table = line.strip()
            continue
        cells = [c.strip() for c in line.split("|")]
        if table == WHOLE and len(cells) == 3 and cells[1].isdigit() and int(cells[1]):
            whole[cells[0]] = int(cells[1])
    return rows, whole


def check_case(ts, name, capture, keylog, answer, passes, errors):
    label = name + (" (key log)" if keylog else "")
    outcome, count, kinds, drops = answer
    runs = {two: run(ts, capture, keylog, two) for two in passes}
    per_frame = {}
    for two, (rows, whole) in runs.items():
        mode = "2-pass" if two else "1-pass"
        lost = collections.Counter(k for r in rows for k in r["smbscope.decode_loss"])
        per_frame[two] = {r["frame.number"][0]: r["smbscope.decode_loss"] for r in rows if r["smbscope.decode_loss"]}
        if dict(lost) != kinds or sum(lost.values()) != count:
            errors.append("%s (%s): frames lose %s, the command %d by kind %s" % (label, mode, dict(lost), count, kinds))
        want = {"verdict " + outcome: 1}
        want.update({"decode-loss " + k: v for k, v in kinds.items()})
        if drops:
            want["capture-drops"] = drops
        if whole != want:
            errors.append("%s (%s): statistics' whole input %s, the command %s" % (label, mode, whole, want))
        shown = [r for r in rows if r["smbscope"]]
        if not two:
            leaked = [r["frame.number"][0] for r in rows if any(r[f] for f in FINAL)]
            if leaked:
                errors.append("%s: one pass shows the capture's final fields on frames %s" % (label, leaked[:5]))
            continue
        for r in shown:
            got = (r["smbscope.capture.verdict"], r["smbscope.capture.decode_losses"], r["smbscope.capture.unknown"],
                   r["smbscope.capture.drops"])
            exp = ([outcome], [str(count)], (["capture-drops"] if drops else []) + (["decode-loss"] if count else []),
                   [str(drops)] if drops else [])
            if got != exp:
                errors.append("%s: frame %s: capture verdict, losses, unknown %s; the command %s" %
                              (label, r["frame.number"][0], got, exp))
                break
    if len(per_frame) == 2 and per_frame[False] != per_frame[True]:
        errors.append("%s: lost frames differ between one pass %s and two %s" % (label, per_frame[False],
                                                                               per_frame[True]))
    print("%s: command %s, decode-loss %d %s, capture-drops %d; plugin agrees in %s%s" %
          (label, outcome, count, kinds, drops, "one and two passes" if len(passes) == 2 else "two passes",
           "" if not errors else " (so far %d mismatches)" % len(errors)))
    return count + drops


# The damaged cases that must each be a loss on at least one side of the key
# log (or the test proves nothing).  Every default run has them in two
# passes (quic-initial and quic-app with and without the key log: Initial
# keys need none, 1-RTT does), and wlan-frag-amsdu3, where the command
# counted 3 losses the plugin did not (tests/bench/RESULTS.md).
LOSSY = ("iwarp", "roce", "quic-initial", "quic-initials", "quic-app", "headers", "wlan-protected",
         "esp-encrypted", "wlan-frag-gap", "esp-sweep", "epb-drops", "pb-drops")
MUST = set(LOSSY) | {"wlan-frag-amsdu3"}
MUST_KEYLESS_ONLY = {"quic-initials"}
# Where a loss is decided, for the one-pass runs: from the packet's own
# link, IP and TCP layers, by an SMB transport's decoder (CRC, QUIC
# decryption), from the capture file's drop counts.
LOSS_GROUPS = {"truncated": "packet", "malformed": "packet", "encrypted-link": "packet", "encrypted-esp": "packet",
               "fragment-incomplete": "packet", "iwarp-crc": "transport", "roce-icrc": "transport",
               "quic-undecryptable": "transport"}


def case_features(case):
    """Two passes: the file's link type, the command's outcome, loss kinds and
    drops.  (The untouched samples' outcomes and losses are compared on
    every sample plugin-samples runs, too: compare_outcome.)"""
    name, capture, keylog, (outcome, count, kinds, drops) = case
    return {("link",) + subset.link_type(capture), ("outcome", outcome), ("drops", bool(drops))} | {
        ("loss", k) for k in kinds} | ({("no loss",)} if not count else set())


def first_pass_features(case):
    """One pass: where each loss was decided, drops."""
    name, capture, keylog, (outcome, count, kinds, drops) = case
    return {("loss", LOSS_GROUPS.get(k, k)) for k in kinds} | ({("drops",)} if drops else set())


def check_decodeloss(ts, args):
    samples = args.samples or os.path.join(args.source_root, "samples")
    if not args.smbscope:
        print("SKIP: needs --smbscope")
        sys.exit(77)
    sys.path.insert(0, os.path.join(args.source_root, "tests", "e2e"))
    errors = []
    lossy = collections.Counter()
    cases = []
    for name, capture, keylog in damaged_copies(samples, ts.tmp):
        local_keylog = ts.capture(keylog) if keylog else None
        local = ts.capture(capture)
        # the command's answer (no tshark) helps choose the subset
        cases.append((name, local, local_keylog, command(args.smbscope, local, local_keylog)))
    # by default: the named cases and a cover of the others' features in two
    # passes, a cover of the loss kinds also in one pass (subset.py);
    # SMBSCOPE_FULL=1: every case in both
    two = subset.cover(cases, case_features, cost=lambda c: os.path.getsize(c[1]),
                       must=[c for c in cases if c[0] in MUST and not (c[2] and c[0] in MUST_KEYLESS_ONLY)])
    one = subset.cover(two, first_pass_features, cost=lambda c: os.path.getsize(c[1]))
    subset.say("decodeloss: cases in two passes", len(two), len(cases))
    subset.say("decodeloss: cases also in one pass", len(one), len(cases))
    for case in two:
        name, local, local_keylog, answer = case
        if check_case(ts, name, local, local_keylog, answer, (False, True) if case in one else (True,), errors):
            lossy[name] += 1
    # every damaged case must be a loss on at least one side of the key log,
    # or the test proves nothing
    missing = set(LOSSY) - set(lossy)
    if missing:
        errors.append("no decode-loss at all for %s" % sorted(missing))
    for e in errors:
        print("FAIL " + e)
    if errors:
        raise Failure("%d mismatches" % len(errors))
