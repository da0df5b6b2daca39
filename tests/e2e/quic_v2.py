"""quic_v2.py - QUIC version 2 and Version Negotiation, made at test time from a real sample.

version2_copy(src, dst, port): the first client Initial of an SMB over QUIC
sample (its whole ClientHello: ALPN "smb", SNI), re-protected as QUIC
version 2 (RFC 9369: its own Initial salt, "quicv2 " labels, long-header
type 0b01 for Initial) after a Version Negotiation exchange, on UDP `port`:

  1  client -> server  the same Initial with a reserved version (0x?a?a?a?a,
                       RFC 9000 15: a server must answer Version Negotiation)
  2  server -> client  Version Negotiation (version 0) offering 2 and 1
  3  client -> server  the Initial as version 2, a new connection attempt
                       with a new Destination Connection ID (RFC 9000 6.2:
                       the first attempt is abandoned; tshark 4.0 keeps one
                       version per connection and would not decrypt a v2
                       Initial reusing the first attempt's DCID)

Packet protection here is written from RFC 9001 5 and RFC 9369 3 with the
`cryptography` package (AES-128-GCM, AES-ECB for the header-protection
mask) and hmac/hashlib (HKDF): independent of dissector/quic, so tshark and
smbscope are checked against a third implementation.  Classic pcap,
Ethernet, IPv4, as samples/quic*.pcap.
"""

import hashlib
import hmac
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from quic_edge import _checksum

ETH = 14
V1, V2 = 0x00000001, 0x6B3343CF
RESERVED = 0x1A2A3A4A
VERSIONS = {
    V1: (bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a"), "quic ", 0),
    V2: (bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9"), "quicv2 ", 1),
}


def _expand_label(secret, label, length):
    info = struct.pack("!HB", length, 6 + len(label)) + b"tls13 " + label.encode() + b"\x00"
    out, block, i = b"", b"", 1
    while len(out) < length:
        block = hmac.new(secret, block + info + bytes([i]), hashlib.sha256).digest()
        out += block
        i += 1
    return out[:length]


def client_keys(version, dcid):
    salt, prefix, _ = VERSIONS[version]
    initial = hmac.new(salt, dcid, hashlib.sha256).digest()
    client = _expand_label(initial, "client in", 32)
    return (_expand_label(client, prefix + "key", 16), _expand_label(client, prefix + "iv", 12),
            _expand_label(client, prefix + "hp", 16))


def _varint(b, off):
    n = 1 << (b[off] >> 6)
    v = b[off] & 0x3F
    for k in range(1, n):
        v = (v << 8) | b[off + k]
    return v, off + n


def _mask(hp, sample):
    enc = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()
    return enc.update(sample) + enc.finalize()


def parse_initial(p):
    """(dcid, scid, pn offset, end of the packet) of a long-header Initial."""
    off = 5
    dcid = p[off + 1:off + 1 + p[off]]
    off += 1 + p[off]
    scid = p[off + 1:off + 1 + p[off]]
    off += 1 + p[off]
    tlen, off = _varint(p, off)
    off += tlen
    length, off = _varint(p, off)
    return dcid, scid, off, off + length


def unprotect(p, version):
    """The Initial's header (unprotected, packet number included) and plaintext."""
    dcid, _, pn_off, end = parse_initial(p)
    key, iv, hp = client_keys(version, dcid)
    mask = _mask(hp, p[pn_off + 4:pn_off + 20])
    first = p[0] ^ (mask[0] & 0x0F)
    pn_len = (first & 3) + 1
    pn_bytes = bytes(a ^ b for a, b in zip(p[pn_off:pn_off + pn_len], mask[1:1 + pn_len]))
    header = bytes([first]) + p[1:pn_off] + pn_bytes
    nonce = (int.from_bytes(iv, "big") ^ int.from_bytes(pn_bytes, "big")).to_bytes(12, "big")
    return header, AESGCM(key).decrypt(nonce, p[pn_off + pn_len:end], header), p[end:]


def protect(header, plaintext, version):
    """Packet protection of an Initial whose unprotected header is given."""
    _, _, type_bits = VERSIONS[version]
    first = 0xC0 | (type_bits << 4) | (header[0] & 0x0F)
    header = bytes([first]) + struct.pack("!I", version) + header[5:]
    dcid, _, pn_off, _ = parse_initial(header + b"\x00" * 64)
    key, iv, hp = client_keys(version, dcid)
    pn_len = (first & 3) + 1
    pn_bytes = header[pn_off:pn_off + pn_len]
    nonce = (int.from_bytes(iv, "big") ^ int.from_bytes(pn_bytes, "big")).to_bytes(12, "big")
    body = AESGCM(key).encrypt(nonce, plaintext, header)
    mask = _mask(hp, body[4 - pn_len:20 - pn_len])
    out = bytearray(header + body)
    out[0] ^= mask[0] & 0x0F
    for k in range(pn_len):
        out[pn_off + k] ^= mask[1 + k]
    return bytes(out)


def _frame(eth, src, dst, sport, dport, payload, ident):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    csum = _checksum(src + dst + struct.pack("!BBH", 0, 17, len(udp)) + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), ident, 0x4000, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    return eth + ip + udp


def version2_copy(src, dst, port):
    data = open(src, "rb").read()
    if data[:4] != b"\xd4\xc3\xb2\xa1" or struct.unpack("<I", data[20:24])[0] != 1:
        raise ValueError("%s: not a little-endian Ethernet pcap" % src)
    ts_sec, ts_usec, incl, _ = struct.unpack("<IIII", data[24:40])
    frame = data[40:40 + incl]
    ihl = (frame[ETH] & 0x0F) * 4
    udp = ETH + ihl
    sport = struct.unpack("!H", frame[udp:udp + 2])[0]
    ip_src, ip_dst = frame[ETH + 12:ETH + 16], frame[ETH + 16:ETH + 20]
    initial = frame[udp + 8:]
    if initial[0] & 0xF0 != 0xC0 or struct.unpack("!I", initial[1:5])[0] != V1:
        raise ValueError("%s: the first datagram is not a version 1 Initial" % src)
    header, plaintext, rest = unprotect(initial, V1)
    dcid, scid, _, _ = parse_initial(initial)
    new_dcid = bytes(b ^ 0x5A for b in dcid)
    v2 = protect(header[:6] + new_dcid + header[6 + len(dcid):], plaintext, V2) + rest
    reserved = initial[:1] + struct.pack("!I", RESERVED) + initial[5:]
    vn = (bytes([0x80 | 0x2B]) + struct.pack("!I", 0) + bytes([len(scid)]) + scid + bytes([len(dcid)]) + dcid
          + struct.pack("!II", V2, V1))
    c2s, s2c = frame[:ETH], frame[6:12] + frame[0:6] + frame[12:ETH]
    frames = [_frame(c2s, ip_src, ip_dst, sport, port, reserved, 1),
              _frame(s2c, ip_dst, ip_src, port, sport, vn, 1),
              _frame(c2s, ip_src, ip_dst, sport, port, v2, 2)]
    out = bytearray(data[:24])
    for n, f in enumerate(frames):
        out += struct.pack("<IIII", ts_sec, ts_usec + 1000 * n, len(f), len(f)) + f
    open(dst, "wb").write(bytes(out))
