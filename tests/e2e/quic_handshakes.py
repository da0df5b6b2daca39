#!/usr/bin/python3
"""quic_handshakes.py - many SMB over QUIC handshakes open at once, made from a real sample.

The first client Initial of samples/quic443-smb3_11.pcap (its whole
ClientHello: ALPN "smb", SNI) is replayed N times, each copy a connection of
its own: its own client address and port, and its own Destination and Source
Connection IDs, so each copy is re-protected with the Initial keys of its
new DCID (RFC 9001 5.2, written with quic_v2.py's independent protection)
and decrypts.  No server ever answers: every handshake stays open, which is
the worst case for the QUIC table (issue 13's 64 MiB promise): each copy
starts an SMB connection waiting for its ServerHello.  The copies are
`gap_us` apart (default 20 us: 50,000 in one second of capture time, far
inside QUIC's idle timeout), so all of them are open together.

--initials K replays the sample's first K client Initials of its connection
(samples/quic443-split-hello.pcap: a ClientHello in two), each copy's k-th
after every copy's (k-1)-th: n handshakes open at once, each between its
Initials when the next copies come.

usage: quic_handshakes.py [--sample PCAP] [--gap-us N] [--first N] [--initials K] N OUT
"""

import argparse
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from quic_v2 import ETH, V1, _frame, parse_initial, protect, unprotect  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SAMPLE = os.path.join(HERE, "..", "..", "samples", "quic443-smb3_11.pcap")


def first_initials(sample, k=1):
    """(pcap global header, Ethernet header, ip dst, dport, [the first k client Initial datagrams]) of
    the sample's first connection: its first packet and the client's next Initials to the same DCID."""
    data = open(sample, "rb").read()
    if data[:4] != b"\xd4\xc3\xb2\xa1" or struct.unpack("<I", data[20:24])[0] != 1:
        raise ValueError("%s: not a little-endian Ethernet pcap" % sample)
    initials, off = [], 24
    while len(initials) < k and off + 16 <= len(data):
        incl = struct.unpack("<I", data[off + 8:off + 12])[0]
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        udp = ETH + (frame[ETH] & 0x0F) * 4
        if frame[ETH + 9] != 17:
            raise ValueError("%s: a packet that is not UDP" % sample)
        initial = frame[udp + 8:]
        if initial[0] & 0xF0 != 0xC0 or struct.unpack("!I", initial[1:5])[0] != V1:
            if not initials:
                raise ValueError("%s: the first datagram is not a version 1 Initial" % sample)
            continue
        if not initials:
            head = (frame[:ETH], frame[ETH + 12:ETH + 16], frame[ETH + 16:ETH + 20],
                    struct.unpack("!H", frame[udp + 2:udp + 4])[0], parse_initial(initial)[0])
        elif frame[ETH + 12:ETH + 16] != head[1] or parse_initial(initial)[0] != head[4]:
            continue  # the server's, or after a Retry
        initials.append(initial)
    if len(initials) < k:
        raise ValueError("%s: fewer than %d client Initials" % (sample, k))
    return data[:24], head[0], head[2], head[3], initials


def generate(n, out, sample=DEFAULT_SAMPLE, gap_us=20, first=0, k=1):
    ghdr, eth, ip_dst, dport, initials = first_initials(sample, k)
    parts = []
    for initial in initials:
        header, plaintext, rest = unprotect(initial, V1)
        dcid, scid, _, _ = parse_initial(initial)
        if len(dcid) < 4 or len(scid) < 4:
            raise ValueError("connection IDs too short to number %d copies" % n)
        parts.append((header, plaintext, rest, dcid, scid, header[6 + len(dcid) + 1 + len(scid):]))
    with open(out, "wb") as f:
        f.write(ghdr)
        for j, (header, plaintext, rest, dcid, scid, after) in enumerate(parts):
            for i in range(first, first + n):
                tag = struct.pack("!I", i)
                new_dcid = dcid[:-4] + tag          # each copy its own keys
                new_scid = bytes(b ^ 0xA5 for b in scid[:-4]) + tag
                hdr = header[:5] + bytes([len(new_dcid)]) + new_dcid + bytes([len(new_scid)]) + new_scid + after
                payload = protect(hdr, plaintext, V1) + rest
                src = bytes([10, 64 + (i >> 16) % 64, (i >> 8) & 0xFF, i & 0xFF])
                frame = _frame(eth, src, ip_dst, 10000 + i % 50000, dport, payload, (i + j * n) & 0xFFFF)
                ts = 1700000000 * 1000000 + (j * n + i - first) * gap_us
                f.write(struct.pack("<IIII", ts // 1000000, ts % 1000000, len(frame), len(frame)) + frame)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sample", default=DEFAULT_SAMPLE)
    ap.add_argument("--gap-us", type=int, default=20)
    ap.add_argument("--first", type=int, default=0, help="number of the first copy (another file's connections)")
    ap.add_argument("--initials", type=int, default=1, help="the sample's first K client Initials per copy")
    ap.add_argument("n", type=int)
    ap.add_argument("out")
    a = ap.parse_args()
    generate(a.n, a.out, a.sample, a.gap_us, a.first, a.initials)
    return 0


if __name__ == "__main__":
    sys.exit(main())
