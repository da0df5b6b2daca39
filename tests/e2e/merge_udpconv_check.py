#!/usr/bin/python3
"""merge_udpconv_check.py - `smbscope merge` counts UDP conversations as
exactly as the run over the whole capture does.

A merge state writes a set of up to 4,096 conversations as their hashes and
a larger one as its HyperLogLog registers; one run counts exactly up to
1,048,576.  Before the state carried the larger sets' hashes too
(census.udp_convs.exact_more): the merge of a run's own report of 4,800
conversations said 4,863, labelled an estimate.  Checked on a capture made
here (13,000 conversations, IPv4 and IPv6, a third of them seen again at
the end, so a conversation falls in two cuts):

  * the run counts them exactly (the generator's number, not estimated);
  * the merge of its report alone, of the capture cut in 2 and in 3 parts
    (every part past 4,096), and of a merged report with a further part:
    the run's count, not estimated, nothing in stats.merged.state_folded;
  * 3,000 conversations (under the cap: the hashes listed): the same;
  * the parts' reports without exact_more (an older writer's): an
    estimate, labelled, and the conversations counted in state_folded;
  * forged states (digest made again): exact_more's n not the set's count,
    past 1,048,576, hashes not increasing, a stream of more records than n,
    not base64, udp_convs_folded below what is carried: refused (exit 2),
    naming the member.

The same for the NetBIOS flows past one run's 16,384 rows (the ledger's
overflow set, carried the same way when the state carries the rows): the
merge of nbmix's run report (25,000 clients) alone counts the run's flows.

And the DNS names past the state's 4,096 (census.dns_keys_more): 6,000
hosts looked up in DNS then queried in NBNS; the merge of the run's report
alone finds no NetBIOS-only name, as the run.

Usage: merge_udpconv_check.py --smbscope BIN
"""

import argparse
import base64
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from merge_check import redigest  # noqa: E402
from scale_check import nbmix_capture  # noqa: E402

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def udp_frame(src, dst, sport, dport, payload):
    """An Ethernet frame of one UDP datagram (IPv4 or IPv6 by the address
    length; checksums zero: smbscope does not check UDP's)."""
    l4 = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    if len(src) == 4:
        h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0, 64, 17, 0, src, dst)
        s = sum(struct.unpack("!10H", h))
        s = (s & 0xFFFF) + (s >> 16)
        s = (s & 0xFFFF) + (s >> 16)
        h = h[:10] + struct.pack("!H", ~s & 0xFFFF) + h[12:]
        return b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\x08\x00" + h + l4
    h = struct.pack("!IHBB16s16s", 6 << 28, len(l4), 17, 64, src, dst)
    return b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\x86\xdd" + h + l4


def conversations(n):
    """The frames of n UDP conversations (every 5th over IPv6), one
    datagram each way in turn, 1 ms apart; then every third conversation
    once more: that many distinct conversations."""
    server4, server6 = bytes([10, 9, 0, 1]), bytes.fromhex("fd00000000000000000000000000a001")

    def ends(i):
        if i % 5 == 4:
            return bytes.fromhex("fd000000000000000000000000") + struct.pack("!BH", 1, i), server6
        return bytes([10, 20 + (i >> 16), (i >> 8) & 255, i & 255]), server4

    frames = []
    for i in range(n):
        c, s = ends(i)
        frames.append(udp_frame(c, s, 20000 + i % 30000, 7777, b"ping %d" % i))
        frames.append(udp_frame(s, c, 7777, 20000 + i % 30000, b"pong"))
    for i in range(0, n, 3):
        c, s = ends(i)
        frames.append(udp_frame(c, s, 20000 + i % 30000, 7777, b"again"))
    return frames


def write_pcap(path, frames, first):
    """frames as a classic pcap, the k-th (counting from first) at 1 ms * k."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for k, fr in enumerate(frames, first):
            t = 1700000000 * 1000000 + k * 1000
            f.write(struct.pack("<IIII", t // 1000000, t % 1000000, len(fr), len(fr)) + fr)


def analyse(smbscope, cap):
    out = cap + ".json"
    with open(out, "wb") as f:
        p = subprocess.run([smbscope, "-q", "-T", "json", cap], stdout=f, stderr=subprocess.PIPE)
    if p.returncode not in (0, 1, 3):
        sys.exit("smbscope %s: exit %d: %s" % (cap, p.returncode, p.stderr.decode(errors="replace")))
    return out


def merge(smbscope, reports, out=None):
    """(exit status, report or None, stderr) of smbscope merge."""
    p = subprocess.run([smbscope, "merge", "-T", "json"] + reports, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if out and p.returncode != 2:
        with open(out, "wb") as f:
            f.write(p.stdout)
    return p.returncode, json.loads(p.stdout) if p.returncode != 2 else None, p.stderr.decode(errors="replace")


def udp(doc):
    e = doc["evidence"]
    return e["udp_conversations"], e["udp_conversations_estimated"]


def folded(doc):
    return doc["stats"]["merged"].get("state_folded", {}).get("udp_conversations", 0)


def parts(frames, k, d, tag):
    """The capture cut in k parts of consecutive frames, their reports."""
    reports, at = [], 0
    for j in range(k):
        end = len(frames) * (j + 1) // k
        path = os.path.join(d, "%s-%d.pcap" % (tag, j))
        write_pcap(path, frames[at:end], at)
        reports.append(analyse(smbscope_bin, path))
        at = end
    return reports


_texts = {}


def load(path):
    """A fresh parse of a report (its text read once: the forgeries below
    each change a copy of the same report; json.loads of the text is much
    cheaper than copy.deepcopy of the document)."""
    if path not in _texts:
        with open(path) as f:
            _texts[path] = f.read()
    return json.loads(_texts[path])


def census(path):
    doc = load(path)
    return doc, doc["merge_state"]["state"]["census"]


def write(doc, path):
    with open(path, "w") as f:
        f.write(json.dumps(redigest(doc)))  # json.dump() encodes in Python, dumps() in C: the same text
    return path


def exact_runs(n, d):
    frames = conversations(n)
    whole = os.path.join(d, "whole%d.pcap" % n)
    write_pcap(whole, frames, 0)
    joint_path = analyse(smbscope_bin, whole)
    joint = load(joint_path)
    check(udp(joint) == (n, False), "%d conversations: the run counts them exactly: %r" % (n, udp(joint)))
    _, c = census(joint_path)
    check(("exact_more" in c["udp_convs"]) == (n > 4096) and ("exact" in c["udp_convs"]) == (n <= 4096),
          "%d conversations: the state lists their hashes, or past 4,096 carries them (%s)"
          % (n, sorted(c["udp_convs"])))
    rc, m, err = merge(smbscope_bin, [joint_path])
    check(rc != 2 and udp(m) == (n, False) and not folded(m),
          "%d conversations, the run's report merged alone: %r, folded %r %s"
          % (n, m and udp(m), m and folded(m), err.strip()[:200]))
    cuts = {}
    for k in (2, 3):
        cuts[k] = parts(frames, k, d, "cut%d-%d" % (n, k))
        rc, m, err = merge(smbscope_bin, cuts[k])
        check(rc != 2 and udp(m) == (n, False) and not folded(m),
              "%d conversations in %d cuts: %r, folded %r %s" % (n, k, m and udp(m), m and folded(m), err.strip()[:200]))
    # a merged report merged with a further part: the parts' sets again
    first = os.path.join(d, "first-two-%d.json" % n)
    rc, _, err = merge(smbscope_bin, cuts[3][:2], first)
    rc, m, err = merge(smbscope_bin, [first, cuts[3][2]]) if rc != 2 else (rc, None, err)
    check(rc != 2 and udp(m) == (n, False) and not folded(m),
          "%d conversations, (cut 1 + cut 2) + cut 3: %r %s" % (n, m and udp(m), err.strip()[:200]))
    return joint_path, cuts


def older_states(cuts, d):
    """The parts without exact_more: the registers united, an estimate."""
    older, carried = [], 0
    for r in cuts:
        doc, c = census(r)
        carried += c["udp_convs"].pop("exact_more", {"n": 0})["n"]
        older.append(write(doc, r + ".older.json"))
    rc, m, err = merge(smbscope_bin, older)
    check(rc != 2 and m["evidence"]["udp_conversations_estimated"] is True and folded(m) == carried,
          "parts without exact_more (an older writer's): estimated and %d counted folded: %r, folded %r %s"
          % (carried, m and udp(m), m and folded(m), err.strip()[:200]))


def low_bytes(n):
    """mstate_hashes.c: the low bytes of each difference in n hashes."""
    return (64 - n.bit_length()) // 8


def decode(raw, low):
    """The hashes of an exact_more stream's bytes."""
    out, at, prev = [], 0, 0
    while at < len(raw):
        hi, shift = 0, 0
        while True:
            b = raw[at]
            at += 1
            hi |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                break
        prev += hi << (8 * low) | int.from_bytes(raw[at:at + low], "big")
        at += low
        out.append(prev)
    return out


def record(diff, low):
    """One difference as a record (the high part a varint, low bytes)."""
    hi, out = diff >> (8 * low), bytearray()
    while hi >= 0x80:
        out.append(hi & 0x7F | 0x80)
        hi >>= 7
    out.append(hi)
    return bytes(out) + (diff & ((1 << (8 * low)) - 1)).to_bytes(low, "big")


def encode(hashes, low):
    return b"".join(record(h - p, low) for p, h in zip([0] + hashes[:-1], hashes))


def forged(joint_path, d):
    """Forged exact_more streams: refused, the member named."""
    doc, c = census(joint_path)
    more = c["udp_convs"].get("exact_more")
    if not more:
        check(False, "forged exact_more: the run's state carries none")
        return
    n, low = more["n"], low_bytes(more["n"])
    raw = zlib.decompress(base64.b64decode(more["zlib"]))
    hashes = decode(raw, low)
    check(len(hashes) == n and hashes == sorted(set(hashes)) and encode(hashes, low) == raw,
          "exact_more: %d hashes, increasing, as this check reads and writes them" % len(hashes))

    def stream(b):
        return base64.b64encode(zlib.compress(b, 0)).decode()

    past = encode(hashes[:-1], low) + record((1 << 64) - hashes[-2], low)  # the last hash at 2^64
    cases = [
        ("n not the set's count", lambda u: u["exact_more"].update(n=n - 1)),
        ("n past what one run counts exactly", lambda u: (u.update(counted=(1 << 20) + 1),
                                                          u["exact_more"].update(n=(1 << 20) + 1))),
        ("one record more than n", lambda u: u["exact_more"].update(zlib=stream(encode(hashes + [hashes[-1] + 1],
                                                                                        low)))),
        ("the last record dropped", lambda u: u["exact_more"].update(zlib=stream(encode(hashes[:-1], low)))),
        ("two hashes the same", lambda u: u["exact_more"].update(zlib=stream(encode(hashes[:-1] + [hashes[-2]],
                                                                                    low)))),
        ("a hash past 2^64 - 1", lambda u: u["exact_more"].update(zlib=stream(past))),
        ("not base64", lambda u: u["exact_more"].update(zlib="*" + more["zlib"][1:])),
        ("not zlib", lambda u: u["exact_more"].update(zlib=base64.b64encode(raw).decode())),
    ]
    for what, change in cases:
        doc2 = load(joint_path)
        change(doc2["merge_state"]["state"]["census"]["udp_convs"])
        rc, _, err = merge(smbscope_bin, [write(doc2, os.path.join(d, "forged.json"))])
        check(rc == 2 and "exact_more" in err, "forged exact_more, %s: refused (%s)" % (what, err.strip()[:160]))
    doc2 = load(joint_path)
    doc2["merge_state"]["state"]["census"]["udp_convs_folded"] = n - 1
    rc, _, err = merge(smbscope_bin, [write(doc2, os.path.join(d, "forged.json"))])
    check(rc == 2 and "udp_convs_folded" in err, "udp_convs_folded below what exact_more carries: refused (%s)"
          % err.strip()[:160])


def netbios_flows(d):
    """NetBIOS flows past one run's 16,384 rows (nbmix, 25,000 clients, one
    flow each: 8,616 in the ledger's overflow) in the merge of the run's
    report alone: evidence.netbios_flows and the NetBIOS violation's flows
    are the run's (the state carries the overflow's hashes past 4,096,
    netbios.overflow_run.flows.exact_more; before: 25,120, unlabelled).
    Without exact_more (an older writer's): the registers, as before."""
    cap = os.path.join(d, "nbmix.pcap")
    nbmix_capture(cap, 25000)
    joint_path = analyse(smbscope_bin, cap)
    joint = load(joint_path)

    def flows(doc):
        return doc["evidence"]["netbios_flows"], doc["verdict"]["violations_summary"]["rules"]["netbios"]["flows"]

    check(joint["evidence"]["netbios_flows"] == 25000, "nbmix: the run counts its 25,000 NetBIOS flows: %r"
          % (flows(joint),))
    rc, m, err = merge(smbscope_bin, [joint_path])
    check(rc != 2 and flows(m) == flows(joint) and udp(m) == udp(joint),
          "nbmix, the run's report merged alone: NetBIOS flows %r and UDP conversations %r are the run's %r %r %s"
          % (m and flows(m), m and udp(m), flows(joint), udp(joint), err.strip()[:200]))
    doc, _ = census(joint_path)
    overflow = doc["merge_state"]["state"]["netbios"]["overflow_run"]["flows"]
    check("exact_more" in overflow, "nbmix: the state carries the overflow's flows (%s)" % sorted(overflow))
    overflow.pop("exact_more", None)
    rc, m, err = merge(smbscope_bin, [write(doc, os.path.join(d, "nbmix-older.json"))])
    check(rc != 2 and flows(m)[0] != flows(joint)[0],
          "nbmix without the overflow's exact_more: estimated from the registers, as before (%r)" % (m and flows(m),))


def nb_name(text):
    """A NetBIOS name (<00>), first-level encoded, as a question's name."""
    raw = text.ljust(15).encode() + b"\x00"
    return bytes([32]) + bytes(x for ch in raw for x in (0x41 + (ch >> 4), 0x41 + (ch & 15))) + b"\0"


def dns_capture(path, n):
    """n hosts looked up in DNS (host00000.example.com, ...), then an NBNS
    query of each one's NetBIOS name by a client of its own: no name is
    NetBIOS-only."""
    c4, dns, wins = bytes([10, 30, 0, 1]), bytes([10, 9, 0, 53]), bytes([10, 9, 0, 2])
    frames = []
    for i in range(n):
        q = struct.pack("!HHHHHH", i & 0xFFFF, 0x0100, 1, 0, 0, 0)
        q += b"".join(bytes([len(x)]) + x for x in (b"host%05d" % i, b"example", b"com")) + b"\0"
        frames.append(udp_frame(c4, dns, 10000 + i % 50000, 53, q + struct.pack("!HH", 1, 1)))
    for i in range(n):
        c = bytes([10, 31, i >> 8, i & 255])
        q = struct.pack("!HHHHHH", i & 0xFFFF, 0x0100, 1, 0, 0, 0) + nb_name("HOST%05d" % i) + struct.pack("!HH", 0x20, 1)
        frames.append(udp_frame(c, wins, 137, 137, q))
    write_pcap(path, frames, 0)


def dns_keys(d):
    """DNS names past the state's 4,096 (census.dns_keys_more): the merge of
    the run's report alone finds no netbios-only-name where the run finds
    none (before: 1,904 names, those past the first 4,096 by name, read as
    never seen in DNS).  Without dns_keys_more (an older writer's): those
    lines, and the names counted in state_folded.dns_keys.  Forged streams
    refused."""
    n = 6000
    cap = os.path.join(d, "dns.pcap")
    dns_capture(cap, n)
    joint_path = analyse(smbscope_bin, cap)
    joint = load(joint_path)

    def only_name(doc):
        return doc["findings_summary"]["rules"].get("netbios-only-name", {}).get("lines", 0)

    check(only_name(joint) == 0 and udp(joint) == (2 * n, False),
          "dns: the run finds no NetBIOS-only name among %d looked up in DNS (%d), %r UDP conversations"
          % (n, only_name(joint), udp(joint)))
    rc, m, err = merge(smbscope_bin, [joint_path])
    check(rc != 2 and m["findings_summary"] == joint["findings_summary"] and udp(m) == udp(joint) and
          not m["stats"]["merged"].get("state_folded", {}).get("dns_keys"),
          "dns, the run's report merged alone: its findings (netbios-only-name %r), no name folded (%r) %s"
          % (m and only_name(m), m and m["stats"]["merged"].get("state_folded"), err.strip()[:200]))
    doc, c = census(joint_path)
    more = c.get("dns_keys_more")
    check(bool(more) and more["n"] == n - 4096 == c["dns_keys_folded"],
          "dns: the state carries the %d names past its 4,096 (%r)" % (n - 4096, more and more["n"]))
    if not more:
        return
    older = load(joint_path)
    older["merge_state"]["state"]["census"].pop("dns_keys_more")
    rc, m, err = merge(smbscope_bin, [write(older, os.path.join(d, "dns-older.json"))])
    check(rc != 2 and only_name(m) == n - 4096 and
          m["stats"]["merged"].get("state_folded", {}).get("dns_keys") == n - 4096,
          "dns without dns_keys_more (an older writer's): the names past 4,096 read as NetBIOS-only, as before "
          "(%r, folded %r)" % (m and only_name(m), m and m["stats"]["merged"].get("state_folded")))
    raw = zlib.decompress(base64.b64decode(more["zlib"]))
    keys, at = [], 0
    while at < len(raw):
        keys.append(raw[at + 1:at + 1 + raw[at]])
        at += 1 + raw[at]

    def stream(ks):
        return base64.b64encode(zlib.compress(b"".join(bytes([len(k)]) + k for k in ks), 1)).decode()

    cases = [
        ("out of order", lambda m: m.update(zlib=stream(keys[1:2] + keys[:1] + keys[2:]))),
        ("a key twice", lambda m: m.update(zlib=stream(keys[:-1] + keys[-2:-1]))),
        ("a key with a dot", lambda m: m.update(zlib=stream(keys[:-1] + [b"ZZ.Z"]))),
        ("a key of 16 characters", lambda m: m.update(zlib=stream(keys[:-1] + [b"Z" * 16]))),
        ("n past the keys a run keeps", lambda m: m.update(n=65536)),
        ("one key more than n", lambda m: m.update(zlib=stream(keys + [b"ZZZ"]))),
    ]
    for what, change in cases:
        doc2 = load(joint_path)
        change(doc2["merge_state"]["state"]["census"]["dns_keys_more"])
        rc, _, err = merge(smbscope_bin, [write(doc2, os.path.join(d, "forged.json"))])
        check(rc == 2 and "dns_keys_more" in err, "forged dns_keys_more, %s: refused (%s)" % (what, err.strip()[:160]))
    doc2 = load(joint_path)
    doc2["merge_state"]["state"]["census"]["dns_keys_folded"] = n - 4096 - 1
    rc, _, err = merge(smbscope_bin, [write(doc2, os.path.join(d, "forged.json"))])
    check(rc == 2 and "dns_keys_folded" in err, "dns_keys_folded below what dns_keys_more carries: refused (%s)"
          % err.strip()[:160])


def main():
    global smbscope_bin
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    smbscope_bin = ap.parse_args().smbscope
    with tempfile.TemporaryDirectory(prefix="smbscope-udpconv-") as d:
        joint_path, cuts = exact_runs(13000, d)
        older_states(cuts[2], d)
        forged(joint_path, d)
        exact_runs(3000, d)
        netbios_flows(d)
        dns_keys(d)
    if failures:
        print("%d failed" % len(failures))
        return 1
    return 0


smbscope_bin = None

if __name__ == "__main__":
    sys.exit(main())
