"""subset.py - the default run's share of an enumeration (captures x modes).

Each tshark start costs about half a second of CPU (libwireshark's dynamic
relocation and every dissector's registration), and the plugin checks used to
run tshark for every capture in every mode.  Under SMBSCOPE_FULL=1
(tests/run.sh --full) they still do.  By default they take the fewest cases
that together show every feature the whole enumeration shows at least once:
a greedy set cover, deterministic (the case adding the most features not yet
shown first; ties to the cheaper case, then to the first in the given order),
plus the cases a test names as `must` (the ones written to catch a bug).
The features are facts known before tshark runs with the plugin: the
manifest's rows (tshark's own facts), the file's format and link type, the
smbscope command's report."""

import os
import re
import struct

FULL = os.environ.get("SMBSCOPE_FULL") == "1"


def cover(cases, features, cost=None, must=()):
    """The cases to run, in their given order: all of them under
    SMBSCOPE_FULL=1, else the must cases and a greedy cover of the rest's
    features.  features(case) -> iterable of hashable; cost(case) -> number."""
    cases = list(cases)
    if FULL:
        return cases
    feats = [set(features(c)) for c in cases]
    costs = [cost(c) if cost else 0 for c in cases]
    chosen = {i for i, c in enumerate(cases) if c in must}
    seen = set()
    for i in chosen:
        seen |= feats[i]
    while True:
        best, key = None, None
        for i in range(len(cases)):
            gain = len(feats[i] - seen)
            if i in chosen or not gain:
                continue
            k = (-gain, costs[i], i)
            if key is None or k < key:
                best, key = i, k
        if best is None:
            break
        chosen.add(best)
        seen |= feats[best]
    return [c for i, c in enumerate(cases) if i in chosen]


def say(what, ran, total):
    """The line every subsetting check prints: how many of how many ran."""
    print("%s: %d of %d%s" % (what, ran, total, " (SMBSCOPE_FULL=1)" if FULL else " (SMBSCOPE_FULL=1: all)"))


def link_type(path):
    """("pcap"|"pcapng"|"?", link type of the first interface) from the file's header."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError:
        return ("?", None)
    if head[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") and len(head) >= 24:
        return ("pcap", struct.unpack("<I", head[20:24])[0])
    if head[:4] in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d") and len(head) >= 24:
        return ("pcap", struct.unpack(">I", head[20:24])[0])
    if head[:4] == b"\x0a\x0d\x0d\x0a" and len(head) >= 12:
        e = "<" if head[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
        shb = struct.unpack(e + "I", head[4:8])[0]
        if len(head) >= shb + 12 and struct.unpack(e + "I", head[shb:shb + 4])[0] == 1:
            return ("pcapng", struct.unpack(e + "H", head[shb + 8:shb + 10])[0])
        return ("pcapng", None)
    return ("?", None)


def words(text):
    """A note's words without its numbers and addresses (the kind of fact, not the instance)."""
    return re.sub(r"[0-9a-fA-F]*[0-9][0-9a-fA-F.:x]*", "#", text).strip()
