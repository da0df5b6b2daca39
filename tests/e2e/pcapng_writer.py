#!/usr/bin/python3
"""pcapng_writer.py - rewrite a capture as a pcapng that exercises a reader.

The records of a classic pcap (or of anything `editcap -F pcap` converts) are
written as a pcapng of two sections (draft-ietf-opsawg-pcapng):

  section 1, big-endian: a section comment, a custom block, an unknown block,
    a name-resolution block; interface 0 with if_tsresol 10^-9, an
    if_tsoffset and if_filter "port 445 or port 139"; interface 1 with
    if_tsresol 2^-20 and a different snapshot length; the first half of
    the packets alternating between them, one as an obsolete Packet Block;
  section 2, little-endian: one interface at the default microseconds, the
    rest of the packets as Enhanced Packet Blocks, an interface statistics
    block and a custom block at the end.

Every timestamp is written so that it reads back as the same microsecond, so
the report must equal the original's, time fields included.

usage: pcapng_writer.py IN OUT
"""

import os
import struct
import subprocess
import sys
import tempfile

TSOFFSET = 1000000000  # seconds, subtracted from the section-1 timestamps of interface 0
FILTER = b"port 445 or port 139"


def read_pcap(path):
    """(linktype, [(ts_us, caplen, wirelen, data)]) of a classic pcap."""
    data = open(path, "rb").read()
    if data[:4] not in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"):
        with tempfile.TemporaryDirectory() as d:
            conv = os.path.join(d, "c.pcap")
            subprocess.run(["editcap", "-F", "pcap", path, conv], check=True, stderr=subprocess.DEVNULL)
            return read_pcap(conv)
    e = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    nsec = data[:4] in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(e + "I", data[20:24])[0]
    recs, off = [], 24
    while off + 16 <= len(data):
        sec, frac, cap, wire = struct.unpack(e + "IIII", data[off:off + 16])
        us = sec * 1000000 + (frac // 1000 if nsec else frac)
        recs.append((us, cap, wire, data[off + 16:off + 16 + cap]))
        off += 16 + cap
    return linktype, recs


def pad4(b):
    return b + b"\0" * (-len(b) % 4)


def block(e, btype, body):
    body = pad4(body)
    n = 12 + len(body)
    return struct.pack(e + "II", btype, n) + body + struct.pack(e + "I", n)


def opt(e, code, value):
    return struct.pack(e + "HH", code, len(value)) + pad4(value)


def end_opts(e):
    return struct.pack(e + "HH", 0, 0)


def shb(e):
    return block(e, 0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1) +
                 opt(e, 1, b"written by tests/e2e/pcapng_writer.py") + end_opts(e))


def idb(e, linktype, snaplen, opts):
    return block(e, 1, struct.pack(e + "HHI", linktype, 0, snaplen) + b"".join(opts) + end_opts(e))


def epb(e, iface, units, rec):
    _, cap, wire, data = rec
    return block(e, 6, struct.pack(e + "IIIII", iface, units >> 32, units & 0xFFFFFFFF, cap, wire) + data)


def old_pb(e, iface, units, rec):
    _, cap, wire, data = rec
    return block(e, 2, struct.pack(e + "HHIIII", iface, 0, units >> 32, units & 0xFFFFFFFF, cap, wire) + data)


def binary_units(us, bits=20):
    """Units of 2^-bits s that libpcap turns back into exactly us."""
    sec, frac = divmod(us, 1000000)
    u = (frac * (1 << bits) + 999999) // 1000000
    for cand in (u, u - 1, u + 1):
        if 0 <= cand < (1 << bits) and (cand * 1000000000 >> bits) // 1000 == frac:
            return (sec << bits) + cand
    raise ValueError("no exact binary timestamp for %d" % us)


def rewrite(src, dst):
    linktype, recs = read_pcap(src)
    half = len(recs) // 2
    be, le = ">", "<"
    out = [shb(be),
           block(be, 0x00000BAD, struct.pack(be + "I", 32473) + b"custom, copy allowed"),
           block(be, 0x0000BEEF, b"an unknown block type"),
           block(be, 4, end_opts(be)),
           idb(be, linktype, 0, [opt(be, 9, b"\x09"), opt(be, 14, struct.pack(be + "q", TSOFFSET)),
                                 opt(be, 11, b"\x00" + FILTER)]),
           idb(be, linktype, 262144, [opt(be, 9, b"\x94")])]
    for i, r in enumerate(recs[:half]):
        if i % 2 == 0:
            units = (r[0] - TSOFFSET * 1000000) * 1000
            out.append(old_pb(be, 0, units, r) if i == 2 else epb(be, 0, units, r))
        else:
            out.append(epb(be, 1, binary_units(r[0]), r))
    out += [shb(le), idb(le, linktype, 65535 if max((r[1] for r in recs), default=0) <= 65535 else 0, [])]
    out += [epb(le, 0, r[0], r) for r in recs[half:]]
    out += [block(le, 5, struct.pack(le + "III", 0, 0, 0) + end_opts(le)),
            block(le, 0x40000BAD, struct.pack(le + "I", 32473) + b"custom, do not copy")]
    with open(dst, "wb") as f:
        f.write(b"".join(out))


if __name__ == "__main__":
    rewrite(sys.argv[1], sys.argv[2])
