#!/usr/bin/python3
"""merge_fragtcp_check.py - `smbscope merge` puts a TCP segment whose IP
fragments a cut divides into its connection, as the run over the parts
does (issue 13; analyzer/merge/mstate_frags_tcp.h).

The parts' merge joined the datagram's fragments (state.ip_frags) only for
UDP: a TCP segment stayed lost in each part, so a NEGOTIATE response cut
between its fragments left the merged connection without a dialect,
signing or cipher (INCONCLUSIVE, two datagrams lost) where the run over
the parts PASSed.  Merge now decodes the segment as a part of the
connection between the early and the late part when the records at the cut
say what the run did with it (in order, both framings at a message
boundary); otherwise it says so (stats.merged.fragment_datagrams_not_placed)
and the datagram stays lost as the parts counted it.

Captures made here from real Samba samples: every TCP segment longer than
SIZE octets of IP payload in IPv4 fragments (RFC 791, DF cleared), in order
and last fragment first; tshark must reassemble them (the same SMB and SMB2
frames as the sample, no error).  Checks:

  * the run over the fragmented capture: nothing lost, the sample's
    connection facts and verdict;
  * cut in two inside every TCP datagram (after its first fragment, before
    its last): merge of
    the parts' reports = the run over the parts (report JSON, exit code),
    or, where the early part's records do not say where its framing stood
    (it saw only the handshake; its framer still held a NetBIOS positive
    response waiting for a header to follow), the label and the two losses;
  * a cut in three inside two datagrams: merged at once, in two steps and in
    reverse order, the same bytes, = the run;
  * a labelled merge merged again (its runs' states): the same label;
  * RoCEv2 in fragments cut inside a datagram: labelled, the losses left;
  * an NBDS datagram in IPv6 fragments whose fragmentable part begins with a
    Destination Options header (and one with another ahead of the fragment
    header too): reassembled by tshark and the run, cut at each fragment:
    merge = the run (merge left such a datagram undecoded: two losses).

Usage: merge_fragtcp_check.py --smbscope BIN --samples DIR
"""

import argparse
import concurrent.futures
import json
import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cut_subset  # noqa: E402
import tshark_cache  # noqa: E402
from merge_frags_check import (EXPERT_ERROR, Cut, csum, expect, failures, frag4, is_netbios_udp, read_pcap,  # noqa: E402
                               run, same_in_any_grouping, write_pcap)

def is_tcp4(frame):
    return frame[12:14] == b"\x08\x00" and frame[23] == 6


def frag_id(frame):
    """The IP id of an IPv4 fragment, else None."""
    if frame[12:14] != b"\x08\x00" or not struct.unpack("!H", frame[20:22])[0] & 0x3FFF:
        return None
    return struct.unpack("!H", frame[18:20])[0]


def fragmented(records, size, reverse=False):
    """Each TCP segment with more than size octets of IP payload in
    fragments of size octets (DF cleared), the last first when reverse."""
    out, ident, last = [], 0x6000, 0
    for ts, b in records:
        pieces = [b]
        if is_tcp4(b) and len(b) - 34 > size:
            ident += 1
            b = bytearray(b)
            b[20] &= 0xBF  # DF off: a router may fragment it
            pieces = frag4(bytes(b), size, ident)
            if reverse:
                pieces.reverse()
        for p in pieces:
            last = max(ts, last + 1)
            out.append((last, p))
    return out


def tshark_smb(cap):
    """tshark's SMB and SMB2 frames (reassembled), and its frames with an
    expert error or malformed (what -Y '_ws.expert.severity >= error ||
    _ws.malformed' counts; one pass, through the suite's tshark cache)."""
    rc, out, err = tshark_cache.run(["tshark", "-n", "-r", cap, "-d", "tcp.port==139,nbss", "-T", "fields", "-e",
                                     "frame.protocols", "-e", "_ws.expert.severity", "-e", "_ws.malformed",
                                     "-E", "occurrence=a"])
    if rc:
        sys.exit("tshark %s: exit %d: %s" % (cap, rc, err.decode(errors="replace")[:300]))
    rows = [x.split("\t") for x in out.decode().splitlines()]
    smb = sum(1 for x in rows if ":smb" in x[0])
    return smb, sum(1 for x in rows if x[2] or any(int(v, 0) >= EXPERT_ERROR for v in x[1].split(",") if v))


def losses(doc):
    return doc["evidence"]["decode_losses"]["fragment_datagrams_lost"]


def label(doc):
    return doc["stats"].get("merged", {}).get("fragment_datagrams_not_placed", 0)


def conn_facts(doc):
    keep = ("dialect", "signing", "encryption", "transport", "smb_version", "server_guid", "negotiate_contexts",
            "capabilities", "sessions", "shares", "auth")
    return [dict((k, c.get(k)) for k in keep) for c in doc.get("connections", [])], doc["verdict"]["outcome"]


def whole(smbscope, tmp, linktype, name, sample, original, recs):
    # the sample's copy named after it: tshark's answer about it cached once (two captures of one sample)
    cap, orig = os.path.join(tmp, name + ".pcap"), os.path.join(tmp, sample)
    write_pcap(cap, linktype, recs)
    write_pcap(orig, linktype, original)
    nfrag = sum(1 for _, b in recs if frag_id(b) is not None)
    got, want = tshark_smb(cap), tshark_smb(orig)
    expect("%s: %d fragments; tshark reassembles them (%d SMB frames as the sample), no error" % (name, nfrag, want[0]),
           nfrag > 0 and got == (want[0], 0), "%r != %r" % (got, (want[0], 0)))
    _, out, _ = run([smbscope, "-q", "-T", "json", cap])
    _, out0, _ = run([smbscope, "-q", "-T", "json", orig])
    doc, doc0 = json.loads(out), json.loads(out0)
    expect("%s: the run reads the sample's connection facts and verdict, nothing lost" % name,
           conn_facts(doc) == conn_facts(doc0) and losses(doc) == 0, "%d lost" % losses(doc))


def sweep(cut, name, recs):
    """Cut in two inside every TCP datagram: after its first fragment and
    before its last.  By default (cut_subset) only inside the first two
    datagrams (the NEGOTIATE request, labelled where only the handshake is
    before it; the response: main lost its dialect, signing and cipher, or
    labelled behind NBSS's positive response; three() cuts later ones);
    SMBSCOPE_FULL=1: inside every one."""
    every = [k for k in range(1, len(recs)) if frag_id(recs[k][1]) is not None and
             frag_id(recs[k][1]) == frag_id(recs[k - 1][1]) and
             (k < 2 or frag_id(recs[k - 2][1]) != frag_id(recs[k][1]) or k + 1 == len(recs) or
              frag_id(recs[k + 1][1]) != frag_id(recs[k][1]))]
    first_two = [frag_id(recs[k][1]) for k in every]
    first_two = sorted(set(first_two), key=first_two.index)[:2]
    at = cut_subset.pick(every, 0, [k for k in every if frag_id(recs[k][1]) in first_two])
    cut_subset.note("%s: cuts inside TCP datagrams" % name, at, len(every))

    def two(k):
        d, m, j, reports = cut.compare(name, [recs[:k], recs[k:]])
        if m is None:
            return k, "merge failed: %s" % d, False
        if label(m) == 0:
            return k, d, False
        # labelled: the datagram left lost as the parts counted it, and only
        # where the early part saw no byte of that connection
        # where the early part's records do not say where its framing stood
        # (it saw only the handshake, or its framer was still looking for a
        # header: a NetBIOS positive response waits for one to follow it)
        st = json.load(open(reports[0]))["merge_state"]["state"]
        frames = st.get("edge_frames", [])
        unknown = not st.get("edges") or any(-1 in (f[5], f[6]) for f in frames)
        ok = label(m) == 1 and losses(m) == 2 and unknown
        return k, None if ok else "labelled %d, %d lost, early framing known: %s" % (label(m), losses(m),
                                                                                     not unknown), True

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        res = list(pool.map(two, at))
    bad = ["%d: %s" % (k, d) for k, d, _ in res if d]
    placed = sum(1 for _, d, lab in res if not d and not lab)
    expect("%s: cut inside %s TCP datagrams: merge = the run over the parts (%d), or labelled (%d)" %
           (name, "each of %d" % len(at) if len(at) == len(every) else "%d of the %d" % (len(at), len(every)),
            placed, len(at) - placed - len(bad)), not bad and placed > 0, "; ".join(bad[:4]))
    return every


def three_at(every):
    """three()'s cuts: a third of the way, and the last."""
    return every[len(every) // 3], every[-1]


def three(cut, name, recs, at):
    k1, k2 = three_at(at)
    d, m, j, reports = cut.compare(name, [recs[:k1], recs[k1:k2], recs[k2:]])
    expect("%s: cut in three at %d and %d (inside TCP datagrams): merge = the run over the parts" % (name, k1, k2),
           d is None, d or "")
    if m is None:
        return reports
    same_in_any_grouping(cut.smbscope, reports, cut.merged.get(tuple(reports)))
    return reports


def labelled_carry(cut, tmp, recs, name):
    """A cut the records cannot place: the label survives a second merge."""
    k = next((k for k in range(1, len(recs)) if frag_id(recs[k][1]) is not None and
              frag_id(recs[k][1]) == frag_id(recs[k - 1][1])), None)
    d, m, j, reports = cut.compare(name, [recs[:k], recs[k:]])
    merged = os.path.join(tmp, "labelled.json")
    out = cut.merged.get(tuple(reports), b"")  # compare()'s merge
    with open(merged, "wb") as f:
        f.write(out)
    rc2, again, _ = run([cut.smbscope, "merge", "-T", "json", merged])
    doc = json.loads(again) if again else {}
    expect("%s cut at %d (only the handshake before it): labelled, merged again: the same label, the losses" %
           (name, k), m is not None and label(m) == 1 and doc and label(doc) == 1 and losses(doc) == 2,
           "%s %s" % (label(m) if m else "?", label(doc) if doc else "?"))
    return doc


def dstopts(nxt):
    """A Destination Options header of 8 octets (one PadN option)."""
    return struct.pack("!BBBB4x", nxt, 0, 1, 4)


def frag6_ext(frame, size, ident, before):
    """An Ethernet IPv4 UDP datagram as IPv6 (fd00::1 to ff02::1) in
    fragments whose fragmentable part begins with a Destination Options
    header (RFC 8200 4.5: options for the final destination), and when
    before, another one in the unfragmentable part ahead of the fragment
    header."""
    ip = frame[14:]
    ihl = (ip[0] & 15) * 4
    udp = bytearray(ip[ihl:struct.unpack("!H", ip[2:4])[0]])
    struct.pack_into("!H", udp, 6, 0)
    src, dst = bytes.fromhex("fd00" + "00" * 13 + "01"), bytes.fromhex("ff02" + "00" * 13 + "01")
    psum = src + dst + struct.pack("!IxxxB", len(udp), 17) + bytes(udp) + (b"\0" if len(udp) % 2 else b"")
    struct.pack_into("!H", udp, 6, csum(psum) or 0xFFFF)
    body = dstopts(17) + bytes(udp)
    unfrag = dstopts(44) if before else b""
    out = []
    for off in range(0, len(body), size):
        chunk = body[off:off + size]
        fh = struct.pack("!BBHI", 60, 0, off | (1 if off + size < len(body) else 0), ident)
        h = struct.pack("!IHBB16s16s", 6 << 28, len(unfrag) + len(fh) + len(chunk), 60 if before else 44, 64,
                        src, dst)
        out.append(b"\x33\x33\x00\x00\x00\x01" + frame[6:12] + b"\x86\xdd" + h + unfrag + fh + chunk)
    return out


def ipv6_ext(smbscope, tmp, samples):
    """A browser datagram in IPv6 fragments whose fragmentable part begins
    with a Destination Options header: the run reassembles it as tshark
    does; cut at each fragment, merge = the run (it counted two losses)."""
    lt, records = read_pcap(os.path.join(samples, "nbdgm-nmbd-startup.pcap"))
    ts, frame = next((ts, b) for ts, b in records if is_netbios_udp(b) and len(b) > 200)
    cut = Cut(smbscope, tmp, lt)
    for before in (False, True):
        recs = [(ts + i, b) for i, b in enumerate(frag6_ext(frame, 64, 0x77, before))]
        name = "IPv6 fragments, destination options after the fragment header" + (" and before it" if before else "")
        cap = os.path.join(tmp, "v6ext%d.pcap" % before)
        write_pcap(cap, lt, recs)
        rc, out, _ = tshark_cache.run(["tshark", "-n", "-r", cap, "-T", "fields", "-e", "frame.protocols"])
        protos = [x for x in out.decode().split("\n") if x] if rc == 0 else []
        _, out, _ = run([smbscope, "-q", "-T", "json", cap])
        doc = json.loads(out)
        flows = [(f["service"], f["packets"]) for f in doc["netbios"]["flows"]]
        bad = []
        ks = cut_subset.pick(range(1, len(recs)), 1)  # by default the middle one
        cut_subset.note(name + ": cuts", ks, len(recs) - 1)
        for k in ks:
            d, m, j, _ = cut.compare(name, [recs[:k], recs[k:]])
            if d:
                bad.append("%d: %s" % (k, d))
        expect("%s (%d): tshark reassembles the NBDS datagram (%s), the run too (nothing lost); cut at %s: "
               "merge = the run" % (name, len(recs), protos[-1] if protos else "?",
                                    "each" if len(ks) == len(recs) - 1 else " and ".join(map(str, ks))),
               protos and protos[-1].endswith("ipv6.dstopts:udp:nbdgm:smb:browser") and flows == [("nbdgm", 1)] and
               losses(doc) == 0 and not bad, "; ".join(bad[:3]) or "%r %r" % (protos[-1:], flows))


def roce(smbscope, tmp, samples):
    """RoCEv2 (UDP 4791) packets in 48-octet IPv4 fragments (tshark and the
    run read the sample's SMB Direct the same): cut inside a datagram,
    merge cannot place the packet in its queue pair (the parts' records
    hold no place for it): it says so, the datagram left lost as the parts
    counted it, where it said nothing before."""
    lt, records = read_pcap(os.path.join(samples, "rdma-roce-4791.pcap"))
    out, ident, last = [], 0x7000, 0
    for ts, b in records:
        pieces = [b]
        if b[12:14] == b"\x08\x00" and b[23] == 17 and len(b) - 34 > 48:
            ident += 1
            pieces = frag4(b, 48, ident)
        for p in pieces:
            last = max(ts, last + 1)
            out.append((last, p))
    cut = Cut(smbscope, tmp, lt)
    at = [k for k in range(1, len(out)) if frag_id(out[k][1]) is not None and
          frag_id(out[k][1]) == frag_id(out[k - 1][1])][:8]
    cut_subset.note("RoCEv2 in IPv4 fragments: cuts inside datagrams", cut_subset.pick(at, 1), len(at))
    at = cut_subset.pick(at, 1)  # by default the middle one of the 8
    bad = []
    for k in at:
        d, m, j, _ = cut.compare("roce", [out[:k], out[k:]])
        if m is None or label(m) != 1 or losses(m) != 2 or losses(j) != 0:
            bad.append("%d: %s" % (k, d if m is None else "label %d, %d lost" % (label(m), losses(m))))
    expect("RoCEv2 in IPv4 fragments, cut inside %d datagrams: merge labels each not placed, two losses (the run: "
           "none)" % len(at), at and not bad, "; ".join(bad[:3]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples", required=True)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="merge-fragtcp-") as tmp:
        for sample, size, rev in (("smb445-smb3_11.pcap", 256, False), ("smb445-smb3_11.pcap", 256, True),
                                  ("smb445-smb2_10.pcap", 128, False), ("nbt139-nt1.pcap", 128, False)):
            lt, records = read_pcap(os.path.join(args.samples, sample))
            recs = fragmented(records, size, rev)
            name = "%s in %d-octet fragments%s" % (sample, size, ", last first" if rev else "")
            whole(args.smbscope, tmp, lt, name.replace(" ", "_").replace(",", ""), sample, records, recs)
            cut = Cut(args.smbscope, tmp, lt)
            at = sweep(cut, name, recs)
            three(cut, name, recs, at)
        ipv6_ext(args.smbscope, tmp, args.samples)
        roce(args.smbscope, tmp, args.samples)
        lt, records = read_pcap(os.path.join(args.samples, "smb445-smb3_11.pcap"))
        # by default the sweep's capture in 256-octet fragments (its first cut
        # made there), SMBSCOPE_FULL=1 one in 128-octet fragments of its own
        size = 128 if cut_subset.FULL else 256
        labelled_carry(Cut(args.smbscope, tmp, lt), tmp, fragmented(records, size), "smb445-smb3_11.pcap, %d" % size)
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
