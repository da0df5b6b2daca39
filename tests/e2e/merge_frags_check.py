#!/usr/bin/python3
"""merge_frags_check.py - `smbscope merge` joins the IP fragments of a
datagram that a cut divides, as the run over the parts reassembles it
(issue 13, F7 of the review).

A capture cut between the fragments of one datagram (editcap -c / -i)
left each part counting an incomplete datagram (fragment_datagrams_lost)
and the datagram (an NBDS browser datagram, an NBNS message) lost: the
merge of the parts' reports was inconclusive, or missed the NetBIOS flow,
where the run over the parts reassembled it.  The state now carries the
datagrams a run's reassembly held incomplete (state.ip_frags) and merge
puts them together (analyzer/merge/mstate_frags.h).

Captures made here from a real nmbd start (samples/nbdgm-nmbd-startup.pcap:
NBNS registrations and queries, NBDS browser datagrams), every NBNS and
NBDS datagram fragmented into 64-octet pieces as IPv4 fragments them
(RFC 791; built here: tshark must dissect and reassemble them all):

  * in order, and the last fragment first (the later part then begins
    with a datagram's first fragment): cut into two at every packet, and
    into three at several pairs of points: merge equals the run over the
    parts (the report's JSON as merge_check.py compares it), exit codes
    too, no fragment-incomplete left;
  * the run over the whole capture finds tshark's reassembled NBNS and
    NBDS message counts;
  * one browser datagram alone (IPv4, and IPv6 with a fragment header),
    cut inside it: the parts' merge FAILs on NetBIOS as the run over them
    does (it was INCONCLUSIVE, no NetBIOS flow);
  * the later part's pieces expired there (another datagram 40 s on): the
    part's reassembly keeps them (fate timed out), merge joins them;
  * its second half 31 s after its first (past the reassembly timeout):
    not joined, as the run does not (two losses each);
  * the first part's report written with --jobs 2: the same merge;
  * the parts' reports without state.ip_frags (an older writer's): the
    merge counts the losses as before (what an older smbscope does with
    the member: it ignores it);
  * NBNS samples (a broadcast query answered from the server's own
    address, unicast, node status, refused by ICMP) in 24-octet fragments
    cut at every packet: merge equals the run (a query the cut divides is
    answered in the later part: its transaction joins the states');
  * forged state.ip_frags (digest made again): refused, exit 2, naming it.

Usage: merge_frags_check.py --smbscope BIN --samples DIR
"""

import argparse
import concurrent.futures
import copy
import hashlib
import json
import threading
import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cut_subset  # noqa: E402
import tshark_cache  # noqa: E402
from merge_check import first_diff, normal, redigest  # noqa: E402

SANITIZER = ("runtime error:", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer")
failures = []


def expect(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond or not detail else ": " + detail))
    if not cond:
        failures.append(name)


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    err = p.stderr.decode(errors="replace")
    if any(s in err for s in SANITIZER):
        expect("no sanitizer report from " + " ".join(os.path.basename(c) for c in cmd[:3]), False, err[:2000])
    return p.returncode, p.stdout, err


# ---- pcap and fragments ----------------------------------------------------

def read_pcap(path):
    d = open(path, "rb").read()
    magic = struct.unpack("<I", d[:4])[0]
    assert magic in (0xA1B2C3D4, 0xA1B23C4D), hex(magic)
    nano = magic == 0xA1B23C4D
    linktype = struct.unpack("<I", d[20:24])[0]
    off, recs = 24, []
    while off + 16 <= len(d):
        sec, frac, caplen, _ = struct.unpack("<IIII", d[off:off + 16])
        recs.append((sec * 1000000 + (frac // 1000 if nano else frac), d[off + 16:off + 16 + caplen]))
        off += 16 + caplen
    return linktype, recs


def write_pcap(path, linktype, recs):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, linktype))
        for ts, b in recs:
            f.write(struct.pack("<IIII", ts // 1000000, ts % 1000000, len(b), len(b)) + b)


def csum(h):
    s = sum(struct.unpack("!%dH" % (len(h) // 2), h))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frag4(frame, size, ident):
    """An Ethernet IPv4 frame's fragments of at most size octets of its
    payload (a multiple of 8), offsets in 8-octet units (RFC 791)."""
    eth, ip = frame[:14], frame[14:]
    ihl = (ip[0] & 15) * 4
    total = struct.unpack("!H", ip[2:4])[0]
    hdr, payload = ip[:ihl], ip[ihl:total]
    out = []
    for off in range(0, len(payload), size):
        chunk = payload[off:off + size]
        more = off + size < len(payload)
        h = bytearray(hdr)
        struct.pack_into("!HHH", h, 2, ihl + len(chunk), ident, (0x2000 if more else 0) | (off // 8))
        struct.pack_into("!H", h, 10, 0)
        struct.pack_into("!H", h, 10, csum(bytes(h)))
        out.append(eth + bytes(h) + chunk)
    return out


def frag6(frame, size, ident):
    """The same datagram as IPv6 (fd00::1 to ff02::1) in fragments with a
    fragment header (RFC 8200)."""
    ip = frame[14:]
    ihl = (ip[0] & 15) * 4
    total = struct.unpack("!H", ip[2:4])[0]
    udp = bytearray(ip[ihl:total])
    struct.pack_into("!H", udp, 6, 0)  # the checksum (smbscope does not check it; tshark skips 0)
    src, dst = bytes.fromhex("fd00" + "00" * 13 + "01"), bytes.fromhex("ff02" + "00" * 13 + "01")
    psum = src + dst + struct.pack("!IxxxB", len(udp), 17) + bytes(udp) + (b"\0" if len(udp) % 2 else b"")
    struct.pack_into("!H", udp, 6, csum(psum) or 0xFFFF)
    out = []
    for off in range(0, len(udp), size):
        chunk = bytes(udp[off:off + size])
        more = off + size < len(udp)
        fh = struct.pack("!BBHI", 17, 0, off | (1 if more else 0), ident)
        h = struct.pack("!IHBB16s16s", 6 << 28, len(fh) + len(chunk), 44, 64, src, dst)
        out.append(b"\x33\x33\x00\x00\x00\x01" + frame[6:12] + b"\x86\xdd" + h + fh + chunk)
    return out


def is_netbios_udp(frame):
    return (frame[12:14] == b"\x08\x00" and frame[23] == 17 and
            not set(struct.unpack("!HH", frame[34:38])).isdisjoint((137, 138)))


def fragmented(records, size=64, reverse=False, only=None, v6=False):
    """The records with each NetBIOS datagram longer than size octets of IP
    payload in fragments (reverse: its last fragment first; only: just
    record number only, alone), times kept increasing."""
    out, ident, last = [], 0x4000, 0
    for i, (ts, b) in enumerate(records):
        if only is not None and i != only:
            continue
        pieces = [b]
        if is_netbios_udp(b) and len(b) - 34 > size:
            ident += 1
            pieces = frag6(b, size, ident) if v6 else frag4(b, size, ident)
            if reverse:
                pieces.reverse()
        for p in pieces:
            last = max(ts, last + 1)
            out.append((last, p))
    return out


# ---- checks ----------------------------------------------------------------

class Cut:
    """Cuts of a capture's records compared: each distinct part written and
    analysed once (the part before a cut in two is the first part of a cut
    in three at the same place, and a check may ask for a cut the sweep
    made), each compare made once, whichever Cut object asks (the parts'
    files are named by their content).  Safe on several threads (sweep())."""

    lock = threading.Lock()
    paths, reports, compares = {}, {}, {}
    merged = {}  # tuple of reports -> the bytes of their merge (compare()'s)

    def __init__(self, smbscope, tmp, linktype):
        self.smbscope, self.tmp, self.linktype = smbscope, tmp, linktype

    def parts(self, pieces):
        """Each piece's capture, named by its content (Cut objects of one
        directory share it: the same records, the same file)."""
        paths = []
        for recs in pieces:
            h = hashlib.sha256(struct.pack("<I", self.linktype))
            for ts, b in recs:
                h.update(struct.pack("<QI", ts, len(b)))
                h.update(b)
            p = os.path.join(self.tmp, "part-%s.pcap" % h.hexdigest()[:20])
            with self.lock:  # written once, before any thread reads it
                if p not in self.paths:
                    write_pcap(p, self.linktype, recs)
                    self.paths[p] = True
            paths.append(p)
        return paths

    def _once(self, memo, key, make):
        """make() for key once; a thread asking for it meanwhile waits."""
        with self.lock:
            slot = memo.get(key)
            mine = slot is None
            if mine:
                slot = memo[key] = [threading.Event(), None]
        if mine:
            slot[1] = make()
            slot[0].set()
        else:
            slot[0].wait()
        return slot[1]

    def report(self, cap):
        out = cap + ".json"
        return self._once(self.reports, cap, lambda: run([self.smbscope, "-q", "-T", "json", "-o", out, cap]) and out)

    def compare(self, name, pieces, quiet=False):
        """merge of the parts' reports against the run over the parts: the
        first difference, or None; both documents."""
        caps = self.parts(pieces)
        return self._once(self.compares, (self.smbscope,) + tuple(caps), lambda: self._compare(caps))

    def _compare(self, caps):
        rc_j, joint, err_j = run([self.smbscope, "-q", "-T", "json"] + caps)
        reports = [self.report(c) for c in caps]
        rc_m, merged, err_m = run([self.smbscope, "merge", "-T", "json"] + reports)
        if rc_m == 2 or not merged:
            return "merge failed: " + err_m.strip(), None, None, reports
        self.merged[tuple(reports)] = merged
        m, j = json.loads(merged), json.loads(joint)
        d = first_diff(normal(m), normal(j))
        if d is None and rc_m != rc_j:
            d = "exit %d != %d" % (rc_m, rc_j)
        return d, m, j, reports


def same_in_any_grouping(smbscope, reports, once=None):
    """Three parts' reports merged in two steps (the first two, then the
    third) and in the reverse order: the bytes of merging them at once
    (once: those bytes when a compare already made them)."""
    _, first, _ = run([smbscope, "merge", "-T", "json", reports[0], reports[1]])
    step = reports[0] + ".step.json"
    with open(step, "wb") as f:
        f.write(first)
    _, two_steps, _ = run([smbscope, "merge", "-T", "json", step, reports[2]])
    _, reverse, _ = run([smbscope, "merge", "-T", "json"] + reports[::-1])
    if once is None:
        _, once, _ = run([smbscope, "merge", "-T", "json"] + reports)
    expect("... merged in two steps, and in the reverse order: the same bytes",
           once and two_steps == once and reverse == once)


def losses(doc):
    return doc["evidence"]["decode_losses"]["fragment_datagrams_lost"]


def flows(doc):
    return sorted((f["service"], f["packets"]) for f in doc["netbios"]["flows"])


def tshark_counts(cap):
    """tshark's reassembled NBNS and NBDS messages, and its frames with an
    expert error or malformed (what -Y '_ws.expert.severity >= error ||
    _ws.malformed' counts; one pass, through the suite's tshark cache)."""
    rc, out, err = tshark_cache.run(["tshark", "-n", "-r", cap, "-T", "fields", "-e", "frame.protocols", "-e",
                                     "_ws.expert.severity", "-e", "_ws.malformed", "-E", "occurrence=a"])
    if rc:
        sys.exit("tshark %s: exit %d: %s" % (cap, rc, err.decode(errors="replace")[:300]))
    rows = [x.split("\t") for x in out.decode().splitlines()]
    nbns = sum(1 for x in rows if ":nbns" in x[0])
    nbdgm = sum(1 for x in rows if ":nbdgm" in x[0])
    errors = sum(1 for x in rows if x[2] or any(int(v, 0) >= EXPERT_ERROR for v in x[1].split(",") if v))
    return nbns, nbdgm, errors


EXPERT_ERROR = 0x00800000  # epan/proto.h PI_ERROR; PI_WARN is 0x00600000


def sweep(cut, name, recs, three=(0, 1, 2), n=4, keep=()):
    """Cut in two at every packet; in three at pairs of cuts inside
    datagrams (the pairs numbered in three).  By default (cut_subset) the
    cuts in two are keep and n more spread over the capture, the pairs
    those in three; SMBSCOPE_FULL=1: every cut, every pair."""
    def two(k):
        d, m, j, _ = cut.compare(name, [recs[:k], recs[k:]])
        return "%d: %s" % (k, d) if d or losses(m) != losses(j) else None

    ks = cut_subset.pick(range(1, len(recs)), n, keep)
    # each cut its own files and runs: the answers do not depend on the threads
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        bad = [b for b in pool.map(two, ks) if b]
    cut_subset.note("%s: cuts in two" % name, ks, len(recs) - 1)
    expect("%s: cut in two at %s of %d packets, merge = the run over the parts" %
           (name, "each" if len(ks) == len(recs) - 1 else "%d (%s)" % (len(ks), " ".join(map(str, ks))),
            len(recs) - 1), not bad, "; ".join(bad[:5]))
    if not three:
        return
    inside = [k for k in range(1, len(recs)) if is_fragment(recs[k][1])]
    pairs = [(inside[i], inside[j]) for i, j in ((0, 1), (0, len(inside) // 2), (len(inside) // 3, -1))]
    pairs = [pq for i, pq in enumerate(pairs) if pq[0] < pq[1] and (cut_subset.FULL or i in three)]
    for k1, k2 in pairs:
        d, m, j, reports = cut.compare(name, [recs[:k1], recs[k1:k2], recs[k2:]])
        expect("%s: cut in three at %d and %d (inside datagrams): merge = the run over the parts" % (name, k1, k2),
               d is None, d or "")
        if m is None:
            continue
        # in two steps (the merged report's leaves), and in the other order: the same report
        same_in_any_grouping(cut.smbscope, reports, cut.merged.get(tuple(reports)))


def frag_offset(frame):
    """An IPv4 fragment's offset (0 for the first fragment and for a whole
    datagram)."""
    return struct.unpack("!H", frame[20:22])[0] & 0x1FFF if frame[12:14] == b"\x08\x00" else 0


def is_fragment(frame):
    if frame[12:14] == b"\x86\xdd":
        return frame[20] == 44
    return frame[12:14] == b"\x08\x00" and (struct.unpack("!H", frame[20:22])[0] & 0x3FFF) != 0


def whole_run(smbscope, tmp, linktype, original, recs, name):
    cap = os.path.join(tmp, name + ".pcap")
    write_pcap(cap, linktype, recs)
    orig = os.path.join(tmp, "unfragmented.pcap")  # one name: tshark's answer about it cached once
    write_pcap(orig, linktype, original)
    nbns, nbdgm, errors = tshark_counts(cap)
    o_nbns, o_nbdgm, _ = tshark_counts(orig)
    nfrag = sum(1 for _, b in recs if is_fragment(b))
    expect("%s: %d fragments; tshark reassembles every NBNS and NBDS message (%d, %d as unfragmented), no "
           "error" % (name, nfrag, nbns, nbdgm), nfrag > 0 and (nbns, nbdgm, errors) == (o_nbns, o_nbdgm, 0),
           "%r != %r" % ((nbns, nbdgm, errors), (o_nbns, o_nbdgm, 0)))
    rc, out, _ = run([smbscope, "-q", "-T", "json", cap])
    doc = json.loads(out)
    pk = dict((s, p) for s, p in flows(doc))
    expect("%s: the run finds them all (NBNS %d, NBDS %d packets), nothing lost" % (name, nbns, nbdgm),
           pk.get("nbns", 0) == nbns and pk.get("nbdgm", 0) == nbdgm and losses(doc) == 0,
           "%r, %d lost" % (pk, losses(doc)))
    return nbns, nbdgm


def middle_cut(recs):
    """The cut inside the datagram nearest the middle."""
    return min((k for k in range(1, len(recs)) if is_fragment(recs[k][1]) and is_fragment(recs[k - 1][1])),
               key=lambda k: abs(k - len(recs) // 2))


def tshark_agrees(cut, name, recs, counts):
    """Cut inside the datagram nearest the middle: the merge counts tshark's
    reassembled messages."""
    k = middle_cut(recs)
    d, m, j, _ = cut.compare(name, [recs[:k], recs[k:]])  # one of sweep()'s: made once
    pk = dict(flows(m)) if m else {}
    expect("%s cut inside a datagram at %d: merge = the run, NBNS %d and NBDS %d packets as tshark reassembles "
           "them, nothing lost" % (name, k, counts[0], counts[1]),
           d is None and (pk.get("nbns", 0), pk.get("nbdgm", 0)) == counts and losses(m) == 0,
           d or "%r, %s lost" % (pk, losses(m) if m else "?"))


def many_parts(cut, name, recs, counts, every=5):
    """Cut inside every fifth (every) datagram (parts of a few packets): the same
    flows, counts and verdict as the run, nothing lost, whatever the order
    of the reports.  (The order of a row's names may differ: a datagram put
    together goes after the names its first pieces' part saw in its row,
    and a part that saw none there puts it first: README, merge.)"""
    at = [k for k in range(1, len(recs)) if is_fragment(recs[k][1]) and is_fragment(recs[k - 1][1])]
    cuts = at[::every]
    pieces = [recs[a:b] for a, b in zip([0] + cuts, cuts + [len(recs)])]
    d, m, j, reports = cut.compare(name, pieces)
    if m is None:
        expect("%s cut in %d parts: merged" % (name, len(pieces)), False, d)
        return

    def facts(doc):
        fl = sorted(json.dumps(dict(f, names=sorted(f.get("names", []))), sort_keys=True)
                    for f in doc["netbios"]["flows"])
        return fl, doc["evidence"]["decode_losses"], doc["verdict"]["outcome"], doc["inputs"]

    _, reverse, _ = run([cut.smbscope, "merge", "-T", "json"] + reports[::-1])
    once = cut.merged.get(tuple(reports))  # compare()'s merge of them in order
    pk = dict(flows(m))
    expect("%s cut inside %d datagrams (%d parts): the run's flows (NBNS %d, NBDS %d packets as tshark), losses "
           "(none), verdict and inputs; the reports in reverse order: the same bytes" %
           (name, len(cuts), len(pieces), counts[0], counts[1]),
           facts(m) == facts(j) and (pk.get("nbns", 0), pk.get("nbdgm", 0)) == counts and losses(m) == 0 and
           once == reverse, "%r" % (pk,))


def alone(smbscope, tmp, cut, linktype, records):
    """The browser datagram alone, cut inside: the verdict."""
    host = next(i for i, (_, b) in enumerate(records) if is_netbios_udp(b) and len(b) > 200)
    for v6 in (False, True):
        recs = fragmented(records, only=host, v6=v6)
        fam = "IPv6" if v6 else "IPv4"
        d, m, j, reports = cut.compare("alone", [recs[:2], recs[2:]])
        expect("%s browser datagram in %d fragments, cut after 2: merge = the run over the parts" % (fam, len(recs)),
               d is None, d or "")
        if m is None:
            continue
        expect("... the run FAILs on its NBDS flow, merge too (no loss left)",
               j["verdict"]["outcome"] == "fail" and m["verdict"]["outcome"] == "fail" and
               flows(m) == [("nbdgm", 1)] and losses(m) == 0, "%s %r %d" % (m["verdict"]["outcome"], flows(m),
                                                                           losses(m)))
        if v6:
            continue
        # the first part read with --jobs 2: its threads' datagrams carried as one run's
        jobs = reports[0] + ".jobs.json"
        run([cut.smbscope, "-q", "-T", "json", "--jobs", "2", "-o", jobs, reports[0][:-len(".json")]])
        rc, out, err = run([cut.smbscope, "merge", "-T", "json", jobs, reports[1]])
        d2 = first_diff(normal(json.loads(out)), normal(m)) if out else err
        expect("... the first part's report written with --jobs 2: the same merge", d2 is None, d2 or "")
        # an older writer's reports (no ip_frags): losses as before
        old = []
        for r in reports:
            doc = json.load(open(r))
            doc["merge_state"]["state"].pop("ip_frags", None)
            p = r + ".old.json"
            json.dump(redigest(doc), open(p, "w"))
            old.append(p)
        rc, out, err = run([smbscope, "merge", "-T", "json"] + old)
        doc = json.loads(out) if out else None
        expect("the parts' reports without state.ip_frags (an older writer's): merged, the datagram lost in "
               "each part (inconclusive, no NetBIOS flow), as before",
               doc is not None and losses(doc) == 2 and flows(doc) == [] and doc["verdict"]["outcome"] ==
               "inconclusive", err.strip() if doc is None else "%d %r" % (losses(doc), flows(doc)))
        forged(smbscope, tmp, reports)
        jobs_inputs(cut, recs)
        names_memory(smbscope, tmp, cut, records, host)
    # the later part's pieces dropped there as timed out (another datagram
    # 40 s on expires them): kept by its reassembly as the start of a
    # datagram begun before it, joined by merge as the run joins them
    recs = fragmented(records, only=host)
    query = next(i for i, (_, b) in enumerate(records) if is_netbios_udp(b) and 100 < len(b) < 200)
    later = [(ts + 40_000_000, b) for ts, b in fragmented(records, only=query)]
    d, m, j, reports = cut.compare("expired", [recs[:2], recs[2:] + later])
    heads = json.load(open(reports[1]))["merge_state"]["state"].get("ip_frags", {}).get("datagrams", [])
    expect("the later part's pieces timed out there (another datagram 40 s on): carried as such, joined as the "
           "run joins them", d is None and [h[4] for h in heads] == [1] and losses(m) == 0,
           d or "%r, %s lost" % ([h[4] for h in heads], losses(m) if m else "?"))
    # past the timeout: the rest 31 s later
    late = recs[:2] + [(ts + 31_000_000, b) for ts, b in recs[2:]]
    d, m, j, _ = cut.compare("late", [late[:2], late[2:]])
    expect("its second half 31 s after its first (past the 30 s timeout): not joined, as the run (%s lost)" %
           (losses(j) if j else "?"), d is None and m is not None and losses(m) == 2 and flows(m) == [],
           d or "")


def jobs_inputs(cut, recs):
    """--jobs over the parts as captures of their own (review F5): the
    datagram the files divide joined as --jobs 1 and merge join it."""
    caps = cut.parts([recs[:1], recs[1:2], recs[2:]])
    docs = {}
    for jobs in ("1", "2"):
        rc, out, err = run([cut.smbscope, "-q", "-T", "json", "--jobs", jobs] + caps)
        docs[jobs] = json.loads(out) if out else None
    got = {k: (d["verdict"]["outcome"], flows(d), losses(d)) if d else None for k, d in docs.items()}
    expect("the browser datagram's fragments in three captures: --jobs 2 = --jobs 1 (%r)" % (got["1"],),
           got["1"] == got["2"] and got["1"] == ("fail", [("nbdgm", 1)], 0), repr(got))


def names_memory(smbscope, tmp, cut, records, host):
    """A forged state: 64 open datagrams beside 1,024 NetBIOS rows of 32
    long names between their addresses (review F3: merge copied the names
    for every datagram, 17 times the report's memory).  Peak RSS of the
    merge against the same report without the datagrams."""
    whole = records[host]
    pieces = fragmented(records, only=host)
    first = [(pieces[0][0] - 1000, whole[1])] + pieces[:2]
    caps = cut.parts([first, pieces[2:]])
    reports = [cut.report(c) for c in caps]
    doc = json.load(open(reports[0]))
    st = doc["merge_state"]["state"]
    rows, frags = st["netbios"]["rows"], st.get("ip_frags", {}).get("datagrams", [])
    ok = len(rows) == 1 and len(frags) == 1
    expect("forged names: the first part's state has a UDP row and an open datagram", ok,
           "%d rows, %d datagrams" % (len(rows), len(frags)))
    if not ok:
        return
    many = []
    for port in range(1, 1025):
        r = copy.deepcopy(rows[0])
        r[2] = port
        r[-1] = ["%04d%s<%02x>" % (port, "N" * 242, k) for k in range(32)]
        many.append(r)
    st["netbios"]["rows"] = many
    rss = {}
    for n in (0, 64):
        forged_doc = copy.deepcopy(doc)
        ds = []
        for i in range(n):
            d = copy.deepcopy(frags[0])
            d[2] = 1000 + i
            ds.append(d)
        forged_doc["merge_state"]["state"]["ip_frags"]["datagrams"] = ds
        path = os.path.join(tmp, "names%d.json" % n)
        json.dump(redigest(forged_doc), open(path, "w"))
        proc = subprocess.Popen([smbscope, "merge", "-q", "-T", "json", "-o", os.devnull, path, reports[1]],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        err = proc.stderr.read().decode(errors="replace")
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        rss[n] = usage.ru_maxrss
        expect("forged names, %d datagrams: merged (exit %d)" % (n, proc.returncode),
               proc.returncode in (0, 1, 3) and not any(x in err for x in SANITIZER), err[:500])
    expect("forged names: 64 datagrams' merge within 2x the peak RSS of none's (%d KiB, %d KiB)" % (rss[64], rss[0]),
           rss[64] < 2 * rss[0], "")


def quic_initial(smbscope, tmp, samples):
    """The client's first Initial of samples/quic443-smb3_11.pcap in two
    IPv4 fragments, the cut between them (review F4): merge put the
    datagram into a QUIC table of its own, a second connection without
    the label of a loss.  Not joined (the parts' QUIC joins hold the
    connection): both losses stay, the merge inconclusive."""
    lt, recs = read_pcap(os.path.join(samples, "quic443-smb3_11.pcap"))
    ts, b = recs[0]
    size = ((len(b) - 34) // 2 + 7) // 8 * 8
    fr = frag4(b, size, 0x1234)
    out = [(ts, fr[0]), (ts + 1, fr[1])] + [(max(t, ts + 2), x) for t, x in recs[1:]]
    cut = Cut(smbscope, tmp, lt)
    d, m, j, _ = cut.compare("quic", [out[:1], out[1:]])
    if m is None:
        expect("QUIC Initial in fragments, cut between them: merged", False, d or "")
        return
    q = m["stats"]["quic"]
    expect("QUIC Initial in fragments, cut between them: no second QUIC connection (%d, the run %d), the two "
           "losses kept (%d), inconclusive" % (q["connections"], j["stats"]["quic"]["connections"], losses(m)),
           q["connections"] == j["stats"]["quic"]["connections"] and losses(m) == 2 and
           m["verdict"]["outcome"] == "inconclusive", m["verdict"]["outcome"])
    placed = m["stats"].get("merged", {}).get("fragment_datagrams_not_placed")
    expect("... and said: stats.merged.fragment_datagrams_not_placed 1 (%r)" % placed, placed == 1)


def forged(smbscope, tmp, reports):
    """Forged ip_frags in the first part's report (an open datagram)."""
    base = json.load(open(reports[0]))
    frags = base["merge_state"]["state"].get("ip_frags")
    expect("the first part's state carries its open datagram",
           frags is not None and len(frags["datagrams"]) == 1 and frags["datagrams"][0][4] == 0, repr(frags)[:300])
    if not frags:
        return
    rec = frags["datagrams"][0]

    def with_rec(change):
        doc = copy.deepcopy(base)
        r = doc["merge_state"]["state"]["ip_frags"]["datagrams"][0]
        change(doc, r)
        return doc

    def put(r, i, v):
        r[i] = v

    cases = [
        ("more datagrams than a state carries (65)",
         lambda d, r: d["merge_state"]["state"]["ip_frags"].__setitem__("datagrams", [rec] * 65), "ip_frags"),
        ("an offset not in units of 8 octets", lambda d, r: r[11][0].__setitem__(0, 4), "units"),
        ("runs out of order", lambda d, r: r[11].append([0, "AAAAAAAAAAA="]), "units"),
        ("bytes not base64", lambda d, r: r[11][0].__setitem__(1, "!!!!"), "base64"),
        ("past 65535 octets", lambda d, r: r[11].append([65528, "AAAAAAAAAAAAAAAAAAAAAA=="]), "65535"),
        ("a partial unit inside the datagram", lambda d, r: r[11].append([4096, "AAAA"]), "partial"),
        ("a whole datagram (the run would have completed it)",
         lambda d, r: put(r, 10, len(__import__("base64").b64decode(r[11][0][1]))), "whole"),
        ("an IPv4 id past 16 bits", lambda d, r: put(r, 2, 70000), "ip_frags"),
        ("an unknown fate", lambda d, r: put(r, 4, 3), "ip_frags"),
        ("its last fragment before its first", lambda d, r: put(r, 6, r[5] - 1), "before its first"),
        ("a first unit without the first fragment's protocol", lambda d, r: put(r, 9, -1), "first unit"),
        ("more bytes than a state carries (256 KiB)",
         lambda d, r: d["merge_state"]["state"]["ip_frags"].__setitem__(
             "datagrams", [[r[0], r[1], i, 17, 0, r[5], r[6], 98, 98, -1, -1,
                            [[8, __import__("base64").b64encode(bytes(65520)).decode()]]] for i in range(5)]),
         "256 KiB"),
    ]
    for name, change, needle in cases:
        doc = redigest(with_rec(change))
        p = os.path.join(tmp, "forged.json")
        json.dump(doc, open(p, "w"))
        rc, out, err = run([smbscope, "merge", "-T", "json", p, reports[1]])
        expect("forged ip_frags, %s: refused (exit 2), naming it" % name,
               rc == 2 and "ip_frags" in err and needle in err, "exit %d: %s" % (rc, err.strip()[:300]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples", required=True)
    args = ap.parse_args()
    linktype, records = read_pcap(os.path.join(args.samples, "nbdgm-nmbd-startup.pcap"))
    with tempfile.TemporaryDirectory(prefix="merge-frags-") as tmp:
        cut = Cut(args.smbscope, tmp, linktype)
        # by default: the cut in two tshark_agrees() makes (inside the
        # datagram nearest the middle), in order also the first and the
        # last; one cut in three (in order the middle part one fragment,
        # last fragment first the last part a datagram's last fragments);
        # the cut into many parts last fragment first, inside every tenth
        # datagram
        for name, rev, three in (("in order", False, (0,)), ("last fragment first", True, (2,))):
            recs = fragmented(records, reverse=rev)
            counts = whole_run(args.smbscope, tmp, linktype, records, recs, "nmbd-" + name.replace(" ", "-"))
            sweep(cut, "nmbd fragmented, " + name, recs, three, 0 if rev else 2, [middle_cut(recs)])
            tshark_agrees(cut, "nmbd fragmented, " + name, recs, counts)
            if rev or cut_subset.FULL:
                many_parts(cut, "nmbd fragmented, " + name, recs, counts, 5 if cut_subset.FULL else 10)
        alone(args.smbscope, tmp, cut, linktype, records)
        quic_initial(args.smbscope, tmp, args.samples)
        # NBNS queries and answers in 24-octet fragments: a broadcast query
        # the cut divides is answered from the server's own address in the
        # later part (another row: the states' nbns_xids match it)
        # (by default every cut inside that query, one cut of the others)
        for sample in ("nbns-broadcast.pcap", "nbns-unicast.pcap", "nbns-node-status.pcap",
                       "netbios-refused-udp137.pcap"):
            lt, recs = read_pcap(os.path.join(args.samples, sample))
            recs = fragmented(recs, size=24)
            inside = [k for k in range(1, len(recs)) if frag_offset(recs[k][1])]
            keep = ([k for k in inside if all(frag_offset(b) for _, b in recs[1:k + 1])]
                    if sample == "nbns-broadcast.pcap" else [min(inside, key=lambda k: abs(k - len(recs) // 2))])
            sweep(Cut(args.smbscope, tmp, lt), sample + " in 24-octet fragments", recs, (), 0, keep)
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
