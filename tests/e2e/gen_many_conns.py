#!/usr/bin/python3
"""gen_many_conns.py - a capture of many short SMB connections, each a real
negotiate-only SMB 3.1.1 connection replicated with its own addresses and
client port (the fleet-scale case of issue 13, small enough for a test).

The template is the first TCP connection of a sample (default
samples/smb445-smb3_11.pcap): its packets up to the client's ACK of the
NEGOTIATE response (handshake, NEGOTIATE request and response), then a FIN
exchange built from the last ACK, so each replica closes like a real one.
Replica i gets client 10.(64+i/65536%64).(i/256%256).(i%256+1 capped) (or one
of --clients addresses), server 10.250.0.(1 + i % --servers), client port
1024 + i % 60000; IPv4 and TCP checksums are recomputed.

usage: gen_many_conns.py [--template PCAP] [--clients N] [--servers N] CONNECTIONS OUT
"""

import argparse
import array
import os
import struct
import sys


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic not in (0xA1B2C3D4, 0xA1B23C4D):
        sys.exit("%s: not a little-endian pcap file" % path)
    nano = magic == 0xA1B23C4D
    linktype = struct.unpack("<I", data[20:24])[0]
    if linktype != 1:
        sys.exit("%s: the template must be Ethernet" % path)
    off, out = 24, []
    while off + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack("<IIII", data[off:off + 16])
        out.append((sec * 1000000 + (frac // 1000 if nano else frac), data[off + 16:off + 16 + caplen]))
        off += 16 + caplen
    return out


def parse(frame):
    """(ip offset, ip header length, tcp offset, tcp header length) of an Ethernet/IPv4/TCP frame."""
    if frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return None
    ihl = (frame[14] & 15) * 4
    toff = 14 + ihl
    return 14, ihl, toff, (frame[toff + 12] >> 4) * 4


def template(path):
    """The first TCP connection's packets through the ACK of the NEGOTIATE response."""
    pkts = []
    first = None
    payload_seen = 0
    for ts, fr in read_pcap(path):
        p = parse(fr)
        if not p:
            continue
        _, ihl, toff, thl = p
        key = tuple(sorted([(fr[26:30], fr[toff:toff + 2]), (fr[30:34], fr[toff + 2:toff + 4])]))
        if first is None:
            first = key
        if key != first:
            continue
        plen = struct.unpack(">H", fr[16:18])[0] - ihl - thl
        pkts.append((ts, bytearray(fr)))
        payload_seen += plen > 0
        if payload_seen == 2 and plen == 0:
            break
    if payload_seen < 2:
        sys.exit("%s: no NEGOTIATE exchange in its first TCP connection" % path)
    return pkts, first


def fin_packets(pkts):
    """Client FIN, server FIN, client ACK from the last client ACK."""
    ts, last = pkts[-1]
    _, ihl, toff, thl = parse(last)
    seq, ack = struct.unpack(">II", last[toff + 4:toff + 12])
    out = []
    for i, (from_client, flags) in enumerate(((True, 0x11), (False, 0x11), (True, 0x10))):
        fr = bytearray(last)
        if not from_client:
            fr[0:6], fr[6:12] = last[6:12], last[0:6]
            fr[26:30], fr[30:34] = last[30:34], last[26:30]
            fr[toff:toff + 2], fr[toff + 2:toff + 4] = last[toff + 2:toff + 4], last[toff:toff + 2]
            fr[toff + 4:toff + 12] = struct.pack(">II", ack, seq + 1)
        else:
            fr[toff + 4:toff + 12] = struct.pack(">II", seq + (1 if i == 2 else 0), ack + (1 if i == 2 else 0))
        fr[toff + 13] = flags
        out.append((ts + 10 * (i + 1), fr))
    return out


def words(b):
    """One's complement sum (unfolded) of b's 16-bit words, native order."""
    if len(b) % 2:
        b += b"\0"
    return sum(array.array("H", b))


def fold(s):
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return struct.pack("=H", ~s & 0xFFFF)


class Prepared:
    """A template packet with its addresses, client port and checksums zeroed,
    and the sums of everything else, so a replica costs a few additions."""

    def __init__(self, fr, from_client):
        _, ihl, toff, _ = parse(fr)
        self.fr = bytearray(fr)
        self.toff, self.ihl = toff, ihl
        self.from_client = from_client
        self.cport_off = toff if from_client else toff + 2
        for a, b in ((24, 26), (26, 34), (toff + 16, toff + 18), (self.cport_off, self.cport_off + 2)):
            self.fr[a:b] = bytes(b - a)
        total = struct.unpack(">H", fr[16:18])[0]
        self.ip_sum = words(bytes(self.fr[14:14 + ihl]))
        seg = bytes(self.fr[toff:14 + total])
        self.tcp_sum = words(seg) + words(struct.pack(">BBH", 0, 6, len(seg)))

    def replica(self, caddr, saddr, cport):
        fr = bytearray(self.fr)
        src, dst = (caddr, saddr) if self.from_client else (saddr, caddr)
        fr[26:30], fr[30:34] = src, dst
        fr[self.cport_off:self.cport_off + 2] = cport
        a = words(src + dst)
        fr[24:26] = fold(self.ip_sum + a)
        fr[self.toff + 16:self.toff + 18] = fold(self.tcp_sum + a + words(cport))
        return fr


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--template", default=os.path.join(here, "..", "..", "samples", "smb445-smb3_11.pcap"))
    ap.add_argument("--clients", type=int, default=0, help="distinct client addresses (default: one per connection)")
    ap.add_argument("--servers", type=int, default=1)
    ap.add_argument("connections", type=int)
    ap.add_argument("out")
    args = ap.parse_args()
    pkts, _ = template(args.template)
    pkts += fin_packets(pkts)
    client_ip = bytes(pkts[0][1][26:30])
    prepared = [Prepared(fr, bytes(fr[26:30]) == client_ip) for _, fr in pkts]
    with open(args.out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        base = 1600000000 * 1000000
        for i in range(args.connections):
            c = (i % args.clients if args.clients else i) + 1  # no .0 host
            caddr = bytes([10, 64 + (c >> 16) % 64, (c >> 8) & 255, c & 255])
            saddr = bytes([10, 250, 0, 1 + i % max(1, args.servers)])
            cport = struct.pack(">H", 1024 + i % 60000)
            out = []
            for k, p in enumerate(prepared):
                fr = p.replica(caddr, saddr, cport)
                t = base + i * 200 + k * 15  # monotonic: one connection after another
                out.append(struct.pack("<IIII", t // 1000000, t % 1000000, len(fr), len(fr)))
                out.append(fr)
            f.write(b"".join(out))


if __name__ == "__main__":
    main()
