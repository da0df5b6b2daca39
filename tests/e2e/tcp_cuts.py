"""tcp_cuts.py - TCP edge cases a cut may fall into, made from a real sample
(classic pcap, Ethernet, IPv4): its client's SYN sent again later (a
retransmission), its 4-tuple opened again by a new SYN of another ISN
while the first connection is still open, and a connection seen from one
side after its handshake (the client's packets after the SYN lost: the
flow stays half-open, closed after the half-open timeout).  Each packet is
the sample's own bytes with only sequence numbers (checksum fixed) and
times changed, so tshark dissects them as it dissects the sample."""

import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hostile"))
from pcapio import csum  # noqa: E402

US = 1000000


def read(path):
    """(global header, [[ts_us, orig_len, frame bytes]])."""
    with open(path, "rb") as f:
        d = f.read()
    if d[:4] != b"\xd4\xc3\xb2\xa1":
        raise ValueError("%s: not a little-endian microsecond pcap" % path)
    off, recs = 24, []
    while off + 16 <= len(d):
        s, us, incl, orig = struct.unpack("<IIII", d[off:off + 16])
        recs.append([s * US + us, orig, d[off + 16:off + 16 + incl]])
        off += 16 + incl
    return d[:24], recs


def write(path, hdr, recs):
    with open(path, "wb") as f:
        f.write(hdr)
        for ts, orig, frame in recs:
            f.write(struct.pack("<IIII", ts // US, ts % US, len(frame), orig))
            f.write(frame)


def _tcp_at(frame):
    """Offsets (ip, tcp) of an Ethernet IPv4 TCP frame, or None."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return None
    ip = 14
    return ip, ip + (frame[ip] & 0x0F) * 4


def flags(frame):
    at = _tcp_at(frame)
    return frame[at[1] + 13] if at else 0


def src(frame):
    at = _tcp_at(frame)
    return frame[at[0] + 12:at[0] + 16] if at else None


def shift_seq(frame, seq_add, ack_add):
    """The frame with seq_add added to its sequence number, ack_add to its
    acknowledgment (when ACK is set), the TCP checksum made again."""
    at = _tcp_at(frame)
    if not at:
        return frame
    ip, tcp = at
    b = bytearray(frame)
    seq, ack = struct.unpack("!II", b[tcp + 4:tcp + 12])
    seq = (seq + seq_add) & 0xFFFFFFFF
    if b[tcp + 13] & 0x10:
        ack = (ack + ack_add) & 0xFFFFFFFF
    b[tcp + 4:tcp + 12] = struct.pack("!II", seq, ack)
    total = struct.unpack("!H", b[ip + 2:ip + 4])[0]
    seg = bytes(b[tcp:ip + total])
    seg = seg[:16] + b"\0\0" + seg[18:]
    pseudo = bytes(b[ip + 12:ip + 20]) + struct.pack("!BBH", 0, 6, len(seg))
    b[tcp + 16:tcp + 18] = struct.pack("!H", csum(pseudo + seg))
    return bytes(b)


def syn_again(sample, out, delay_us):
    """The client's SYN sent delay_us before the sample's (the sample's own
    SYN becomes its retransmission)."""
    hdr, recs = read(sample)
    first = recs[0]
    if flags(first[2]) & 0x12 != 0x02:
        raise ValueError("%s: does not begin with a SYN" % sample)
    write(out, hdr, [[first[0] - delay_us, first[1], first[2]]] + recs)
    return len(recs) + 1


def reused(sample, out, keep, gap_us, isn_add=0x10000000):
    """The sample's first `keep` packets (its connection left open), then
    the whole connection again gap_us after them on the same 4-tuple, the
    client's ISN isn_add further (a SYN that reuses the 4-tuple)."""
    hdr, recs = read(sample)
    client = src(recs[0][2])
    base = recs[keep - 1][0] + gap_us - recs[0][0]
    again = []
    for ts, orig, frame in recs:
        c2s = src(frame) == client
        again.append([ts + base, orig, shift_seq(frame, isn_add if c2s else 0, 0 if c2s else isn_add)])
    write(out, hdr, recs[:keep] + again)
    return keep + len(recs)


def half_open_then(sample, out, gap_us, before=10):
    """The sample's connection seen from its server's side after the SYN
    (its client's later packets lost: a half-open flow, flow.c), and beside
    it the whole sample again on another client port, its first `before`
    packets with the first connection's, the rest gap_us after (what a
    later part begins with).  Returns (packets before the gap, all)."""
    hdr, recs = read(sample)
    client = src(recs[0][2])
    one = [r for i, r in enumerate(recs) if i == 0 or src(r[2]) != client]
    again = []
    for i, (ts, orig, frame) in enumerate(recs):
        b = bytearray(frame)
        ip, tcp = _tcp_at(frame)
        port = tcp if src(frame) == client else tcp + 2  # the client's port: source or destination
        b[port:port + 2] = struct.pack("!H", struct.unpack("!H", b[port:port + 2])[0] + 1)
        again.append([ts + 1000 + (gap_us + one[-1][0] - recs[0][0] if i >= before else 0), orig,
                      shift_seq(bytes(b), 0, 0)])
    recs = sorted(one + again, key=lambda r: r[0])
    write(out, hdr, recs)
    return len(one) + before, len(recs)
