"""quic_edge.py - edge-case captures made at test time from the real samples.

migrated_copy(): SMB over QUIC whose client is NAT-rebound after the
handshake.  From the client's third short-header (1-RTT) datagram on, the
client's UDP port is rewritten in both directions (source of its datagrams,
destination of the server's), as a NAT that lost its mapping would; the
connection IDs stay, so a QUIC endpoint (and tshark, whose
quic.connection.number follows the CIDs) still sees one connection
(RFC 9000 9.3: an endpoint recognises a peer's new address by its
connection ID).  UDP checksums are recomputed.  Classic pcap, Ethernet,
IPv4 (what samples/quic*.pcap are).

negotiate_only_copy(): the first n frames of a capture (editcap -r): an SMB Direct
connection that only negotiated SMBD.

Used by tests/plugin/plugin_test.py and tests/e2e/quic_loss_check.py.
"""

import struct
import subprocess

ETH = 14
NEW_PORT_DELTA = 1000
# samples/rdma-roce-4791.pcap: SMBD negotiate request, ACK, response, ACK
ROCE_NEGOTIATE_FRAMES = 4
# samples/rdma-iwarp-5445.pcap: SYN, SYN-ACK, ACK, MPA request, reply, SMBD negotiate request, response
IWARP_NEGOTIATE_FRAMES = 7


def _checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _records(data):
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack("<I", data[off + 8:off + 12])[0]
        yield off + 16, incl
        off += 16 + incl


def migrated_copy(src, dst):
    """Returns (old client port, new client port, first rewritten frame number)."""
    data = bytearray(open(src, "rb").read())
    if data[:4] != b"\xd4\xc3\xb2\xa1" or struct.unpack("<I", data[20:24])[0] != 1:
        raise ValueError("%s: not a little-endian Ethernet pcap" % src)
    client = None
    short_from_client = 0
    first = None
    new = None
    for n, (off, incl) in enumerate(_records(data), 1):
        frame = data[off:off + incl]
        if struct.unpack("!H", frame[12:14])[0] != 0x0800 or frame[ETH + 9] != 17:
            continue
        ihl = (frame[ETH] & 0x0F) * 4
        udp = ETH + ihl
        sport, dport, ulen = struct.unpack("!HHH", frame[udp:udp + 6])
        ip_src, ip_dst = bytes(frame[ETH + 12:ETH + 16]), bytes(frame[ETH + 16:ETH + 20])
        if client is None:
            client = (ip_src, sport)  # the first datagram is the client's Initial
            new = (sport + NEW_PORT_DELTA) & 0xFFFF
        from_client = (ip_src, sport) == client
        if from_client and not frame[udp + 8] & 0x80:
            short_from_client += 1
        if short_from_client < 3:
            continue
        if first is None:
            first = n
        pos = udp if from_client else udp + 2
        if (ip_src, sport) != client and (ip_dst, dport) != client:
            continue
        struct.pack_into("!H", data, off + pos, new)
        struct.pack_into("!H", data, off + udp + 6, 0)
        seg = bytes(data[off + udp:off + udp + ulen])
        pseudo = ip_src + ip_dst + struct.pack("!BBH", 0, 17, ulen)
        struct.pack_into("!H", data, off + udp + 6, _checksum(pseudo + seg) or 0xFFFF)
    if first is None:
        raise ValueError("%s: fewer than three client 1-RTT datagrams" % src)
    open(dst, "wb").write(bytes(data))
    return client[1], new, first


def negotiate_only_copy(src, dst, frames):
    subprocess.run(["editcap", "-r", src, dst, "1-%d" % frames], check=True, stdout=subprocess.DEVNULL)
