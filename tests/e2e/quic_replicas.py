#!/usr/bin/python3
"""quic_replicas.py - many copies of one real QUIC connection, open at once.

Every packet of a QUIC sample (samples/quic443-smb3_11.pcap by default: SMB
over QUIC, decrypted with its key log) is replayed N times, each copy with
its own client address and port and nothing else changed: the connection
IDs, keys and the ClientHello's random stay the sample's, so the sample's
key log opens every copy (its secrets are keyed by that random).  Copy i's
packets keep the sample's times plus i * gap_us (default 20 us), so all N
connections run side by side: the worst case for what a key-logged
connection holds in the QUIC table (issue 13's 64 MiB promise).

usage: quic_replicas.py [--sample PCAP] [--gap-us N] N OUT
"""

import argparse
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from quic_v2 import ETH, _frame  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SAMPLE = os.path.join(HERE, "..", "..", "samples", "quic443-smb3_11.pcap")


def read(sample):
    """(pcap global header, [(time us, frame)]) of a little-endian Ethernet pcap."""
    data = open(sample, "rb").read()
    if data[:4] != b"\xd4\xc3\xb2\xa1" or struct.unpack("<I", data[20:24])[0] != 1:
        raise ValueError("%s: not a little-endian Ethernet pcap" % sample)
    out, off = [], 24
    while off + 16 <= len(data):
        sec, usec, incl = struct.unpack("<III", data[off:off + 12])
        out.append((sec * 1000000 + usec, data[off + 16:off + 16 + incl]))
        off += 16 + incl
    return data[:24], out


def generate(n, out, sample=DEFAULT_SAMPLE, gap_us=20):
    ghdr, pkts = read(sample)
    first = pkts[0][1]
    client, cport = first[ETH + 12:ETH + 16], struct.unpack("!H", first[ETH + 20:ETH + 22])[0]
    parts = []
    for ts, frame in pkts:
        ihl = (frame[ETH] & 0x0F) * 4
        if frame[ETH + 9] != 17:
            raise ValueError("%s: a packet that is not UDP" % sample)
        src, dst = frame[ETH + 12:ETH + 16], frame[ETH + 16:ETH + 20]
        sport, dport = struct.unpack("!HH", frame[ETH + ihl:ETH + ihl + 4])
        udp_len = struct.unpack("!H", frame[ETH + ihl + 4:ETH + ihl + 6])[0]
        payload = frame[ETH + ihl + 8:ETH + ihl + udp_len]
        parts.append((ts - pkts[0][0], frame[:ETH], src == client, src, dst, sport, dport, payload))
    rows = []
    for i in range(n):
        addr = bytes([10, 128 + (i >> 16) % 64, (i >> 8) & 0xFF, i & 0xFF])
        port = 10000 + i % 50000
        for rel, eth, up, src, dst, sport, dport, payload in parts:
            if up:
                frame = _frame(eth, addr, dst, port, dport, payload, i & 0xFFFF)
            else:
                frame = _frame(eth, src, addr, sport, port, payload, i & 0xFFFF)
            rows.append((rel + i * gap_us, i, frame))
    rows.sort(key=lambda r: (r[0], r[1]))
    base = 1700000000 * 1000000
    with open(out, "wb") as f:
        f.write(ghdr)
        for rel, _, frame in rows:
            ts = base + rel
            f.write(struct.pack("<IIII", ts // 1000000, ts % 1000000, len(frame), len(frame)) + frame)
    return len(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sample", default=DEFAULT_SAMPLE)
    ap.add_argument("--gap-us", type=int, default=20)
    ap.add_argument("n", type=int)
    ap.add_argument("out")
    a = ap.parse_args()
    generate(a.n, a.out, a.sample, a.gap_us)
    return 0


if __name__ == "__main__":
    sys.exit(main())
