"""quic_nci.py - SMB over QUIC whose client moves to a connection ID announced in
NEW_CONNECTION_ID, made at test time from a real sample and its key log.

new_cid_copy(src, keylog, dst): the server's third 1-RTT packet gets one more
frame, NEW_CONNECTION_ID (RFC 9000 19.15: sequence 1, a new 20-octet ID and
a stateless reset token); from the client's first 1-RTT packet after it, the
client sends to that new ID from a new UDP port (a NAT rebinding: RFC 9000
9.5 asks a client to change IDs when its address changes), and the server
answers to the new port.  Every 1-RTT packet touched is decrypted and
protected again with the key log's secrets (RFC 9001 5: "quic key", "quic
iv", "quic hp" from CLIENT/SERVER_TRAFFIC_SECRET_0, AES-128-GCM); UDP and IP
lengths and checksums are recomputed.

The new ID is in the encrypted NEW_CONNECTION_ID frame only: a reader
without the key log cannot link the packets after the move to the
connection (the issue: "new IDs announced in NEW_CONNECTION_ID frames are
visible only with the key log").  Returns (old client port, new client
port, number of the first moved frame).
"""

import struct

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from quic_edge import _checksum
from quic_v2 import _expand_label, _mask

ETH = 14
CID_LEN = 20
NEW_PORT_DELTA = 2000


def _secrets(keylog):
    out = {}
    for line in open(keylog):
        f = line.split()
        if len(f) == 3 and f[0] in ("CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"):
            out.setdefault(f[0], bytes.fromhex(f[2]))
    return out["CLIENT_TRAFFIC_SECRET_0"], out["SERVER_TRAFFIC_SECRET_0"]


class Keys:
    def __init__(self, secret):
        self.key = _expand_label(secret, "quic key", 16)
        self.iv = _expand_label(secret, "quic iv", 12)
        self.hp = _expand_label(secret, "quic hp", 16)
        self.largest = -1

    def _nonce(self, pn):
        return (int.from_bytes(self.iv, "big") ^ pn).to_bytes(12, "big")

    def open(self, p):
        """(first byte, packet number octets, full packet number, plaintext) of a short-header packet."""
        pn_off = 1 + CID_LEN
        mask = _mask(self.hp, p[pn_off + 4:pn_off + 20])
        first = p[0] ^ (mask[0] & 0x1F)
        n = (first & 3) + 1
        pn_bytes = bytes(a ^ b for a, b in zip(p[pn_off:pn_off + n], mask[1:1 + n]))
        truncated, win = int.from_bytes(pn_bytes, "big"), 1 << (8 * n)
        expected = self.largest + 1
        pn = (expected & ~(win - 1)) | truncated  # RFC 9000 A.3
        if pn <= expected - win // 2 and pn < (1 << 62) - win:
            pn += win
        elif pn > expected + win // 2 and pn >= win:
            pn -= win
        self.largest = max(self.largest, pn)
        header = bytes([first]) + p[1:pn_off] + pn_bytes
        return first, pn_bytes, pn, AESGCM(self.key).decrypt(self._nonce(pn), p[pn_off + n:], header)

    def seal(self, first, dcid, pn_bytes, pn, plaintext):
        header = bytes([first]) + dcid + pn_bytes
        body = AESGCM(self.key).encrypt(self._nonce(pn), plaintext, header)
        n = len(pn_bytes)
        mask = _mask(self.hp, body[4 - n:20 - n])
        out = bytearray(header + body)
        out[0] ^= mask[0] & 0x1F
        for k in range(n):
            out[1 + CID_LEN + k] ^= mask[1 + k]
        return bytes(out)


def _fix(frame, udp):
    struct.pack_into("!H", frame, ETH + 2, len(frame) - ETH)
    struct.pack_into("!H", frame, ETH + 10, 0)
    struct.pack_into("!H", frame, ETH + 10, _checksum(bytes(frame[ETH:udp])))
    struct.pack_into("!H", frame, udp + 4, len(frame) - udp)
    struct.pack_into("!H", frame, udp + 6, 0)
    pseudo = bytes(frame[ETH + 12:ETH + 20]) + struct.pack("!BBH", 0, 17, len(frame) - udp)
    struct.pack_into("!H", frame, udp + 6, _checksum(pseudo + bytes(frame[udp:])) or 0xFFFF)


def new_cid_copy(src, keylog, dst):
    data = open(src, "rb").read()
    client_keys, server_keys = (Keys(s) for s in _secrets(keylog))
    records, off = [], 24
    while off + 16 <= len(data):
        incl = struct.unpack("<I", data[off + 8:off + 12])[0]
        records.append((data[off:off + 16], bytearray(data[off + 16:off + 16 + incl])))
        off += 16 + incl
    udp = ETH + (records[0][1][ETH] & 0x0F) * 4
    client = (bytes(records[0][1][ETH + 12:ETH + 16]), struct.unpack("!H", records[0][1][udp:udp + 2])[0])
    new_port = (client[1] + NEW_PORT_DELTA) & 0xFFFF
    new_cid = bytes(range(0xA0, 0xA0 + CID_LEN))
    server_short = 0
    announced, first_moved = False, None
    out = bytearray(data[:24])
    for n, (rec, frame) in enumerate(records, 1):
        from_client = (bytes(frame[ETH + 12:ETH + 16]), struct.unpack("!H", frame[udp:udp + 2])[0]) == client
        payload = bytes(frame[udp + 8:])
        if payload[0] & 0x80:  # long header: untouched
            out += rec[:8] + struct.pack("<II", len(frame), len(frame)) + frame
            continue
        keys = client_keys if from_client else server_keys
        first, pn_bytes, pn, plain = keys.open(payload)
        dcid = payload[1:1 + CID_LEN]
        if not from_client:
            server_short += 1
            if server_short == 3:
                nci = (bytes([0x18, 0x01, 0x00, CID_LEN]) + new_cid + bytes(range(16)))
                plain += nci
                announced = True
        if from_client and announced and first_moved is None:
            first_moved = n
        if from_client and first_moved is not None:
            dcid = new_cid
        sealed = keys.seal(first, dcid, pn_bytes, pn, plain)
        frame = bytearray(frame[:udp + 8]) + sealed
        if first_moved is not None:
            if from_client:
                struct.pack_into("!H", frame, udp, new_port)
            else:
                struct.pack_into("!H", frame, udp + 2, new_port)
        _fix(frame, udp)
        out += rec[:8] + struct.pack("<II", len(frame), len(frame)) + frame
    if first_moved is None:
        raise ValueError("%s: no client 1-RTT packet after the server's third" % src)
    open(dst, "wb").write(bytes(out))
    return client[1], new_port, first_moved
