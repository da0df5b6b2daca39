"""pcapio.py - just enough pcap/pcapng reading and writing for the hostile tests.

Standard library only.  Independent of smbscope: the sweep tests compare
smbscope's packet counts with what this module computes from the record
headers, so it must not share code or assumptions with analyzer/input/capture.c.
"""
import struct

PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": "<",  # little-endian, microseconds
    b"\xa1\xb2\xc3\xd4": ">",
    b"\x4d\x3c\xb2\xa1": "<",  # nanoseconds
    b"\xa1\xb2\x3c\x4d": ">",
}
PCAPNG_SHB = 0x0A0D0D0A


def record_spans(data):
    """Return (format, header_len, spans) for a whole, undamaged capture.

    spans lists (start, end) byte ranges of every packet record (pcap
    records, pcapng EPB/SPB/OPB blocks).  For pcapng, other blocks are
    skipped but their spans are not listed."""
    magic = data[:4]
    if magic in PCAP_MAGICS:
        e = PCAP_MAGICS[magic]
        off = 24
        spans = []
        while off + 16 <= len(data):
            incl = struct.unpack_from(e + "I", data, off + 8)[0]
            end = off + 16 + incl
            if end > len(data):
                break
            spans.append((off, end))
            off = end
        return "pcap", 24, spans
    if len(data) >= 12 and struct.unpack_from("<I", data, 0)[0] == PCAPNG_SHB:
        spans = []
        off = 0
        e = "<"
        while off + 12 <= len(data):
            btype = struct.unpack_from(e + "I", data, off)[0]
            if btype == PCAPNG_SHB:
                bom = data[off + 8:off + 12]
                e = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
            blen = struct.unpack_from(e + "I", data, off + 4)[0]
            if blen < 12 or off + blen > len(data):
                break
            if btype in (2, 3, 6):  # packet blocks: obsolete, simple, enhanced
                spans.append((off, off + blen))
            off += blen
        return "pcapng", 0, spans
    raise ValueError("not a pcap or pcapng file")


def complete_before(spans, cut):
    """Packet records entirely inside the first `cut` bytes."""
    return sum(1 for (_, end) in spans if end <= cut)


class PcapWriter:
    """Write a little-endian microsecond pcap, buffered, fast enough for
    millions of small records."""

    def __init__(self, f, linktype=1, snaplen=262144):
        self.f = f
        self.buf = []
        self.size = 0
        self.count = 0
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype))

    def add(self, ts_us, frame, wirelen=None):
        n = len(frame)
        self.buf.append(struct.pack("<IIII", ts_us // 1000000, ts_us % 1000000, n,
                                    n if wirelen is None else wirelen))
        self.buf.append(frame)
        self.size += 16 + n
        self.count += 1
        if self.size > (1 << 20):
            self.flush()

    def flush(self):
        self.f.write(b"".join(self.buf))
        self.buf = []
        self.size = 0


def csum(data):
    if len(data) & 1:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


ETH_V4 = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"


def ipv4(src, dst, proto, payload, ident=0):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, 0x4000,
                      64, proto, 0, bytes(src), bytes(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def tcp(sport, dport, seq, ack, flags, payload=b"", window=65535):
    # Checksum left zero: captures made with offload look like this too, and
    # no reader we compare with validates it by default.
    return struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                       0x50, flags, window, 0, 0) + payload


def udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def eth_tcp(src, dst, sport, dport, seq, ack, flags, payload=b""):
    return ETH_V4 + ipv4(src, dst, 6, tcp(sport, dport, seq, ack, flags, payload))


def eth_udp(src, dst, sport, dport, payload):
    return ETH_V4 + ipv4(src, dst, 17, udp(sport, dport, payload))
