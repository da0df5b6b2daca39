"""smbd_frag.py - an SMB Direct (iWARP) capture whose every SMB2 message is in
SMBD pieces, made at test time from samples/rdma-iwarp-5445.pcap.

The hand-built samples (samples/gen-rdma.py) fragment only the client's
messages longer than the server's MaxReceiveSize of 512 (the NTLM
AUTHENTICATE's SESSION_SETUP and the WRITE).  fragmented_copy() rebuilds the
same session with both ends announcing the smallest MaxReceiveSize MS-SMBD
allows (128 octets, 2.2.1/2.2.2), so every SMB2 message longer than 104
octets goes in several SMBD data transfer messages (RemainingDataLength
counting down, MS-SMBD 3.1.5.1): the NEGOTIATE request and response, each
SESSION_SETUP, TREE_CONNECT (the share name), CREATE, READ, WRITE, CLOSE.
A cut between two pieces divides a message neither part can decode alone.

Each SMBD message is one RDMAP Send in one FPDU (MPA, CRC32c in the
little-endian packing tshark checks, no markers) in one TCP segment, as
the samples; the MPA startup and the TCP handshake are the sample's own
bytes, the RDMA Write is left out.  Classic pcap, Ethernet, IPv4.

roce_fragmented_copy() builds the same over RoCEv2 from
samples/rdma-roce-4791.pcap's addresses, ports and queue pairs: each SMBD
message one RC SEND (First/Middle/Last past the path MTU), each SEND
acknowledged by the peer, the ICRC computed (rdma_read._icrc).

Used by merge_cuts_check.py, jobs_parts_check.py and fleet_check.py.
"""

import struct

from quic_edge import _checksum, _records
from rdma_read import _crc32c, _roce_fix

ETH = 14
MAX_RECV = 128
SMBD_HDR = 24
PORT = 49714  # the client's port (the sample's is 49712)


def _frames(path):
    data = open(path, "rb").read()
    if data[:4] != b"\xd4\xc3\xb2\xa1" or struct.unpack("<I", data[20:24])[0] != 1:
        raise ValueError("%s: not a little-endian Ethernet pcap" % path)
    return data[:24], [data[off:off + incl] for off, incl in _records(data)]


def _tcp(frame):
    ihl = (frame[ETH] & 0x0F) * 4
    t = ETH + ihl
    off = (frame[t + 12] >> 4) * 4
    return t, frame[t + off:]


def _smb2_messages(frames, client_port):
    """The sample's SMB2 messages in wire order, [(from the client, bytes)]:
    the SMBD data transfer messages of its Sends put together."""
    out, parts = [], {True: b"", False: b""}
    for f in frames:
        t, pay = _tcp(f)
        up = struct.unpack("!H", f[t:t + 2])[0] == client_port
        if len(pay) < 2 + 18 + 4 or pay.startswith(b"MPA ID"):
            continue
        ulpdu = pay[2:2 + struct.unpack("!H", pay[:2])[0]]
        if ulpdu[0] & 0x80 or (ulpdu[1] & 0x0F) not in (3, 4, 5, 6):  # tagged (RDMA Write), not a Send
            continue
        smbd = ulpdu[18:]
        if len(smbd) < 20 or (len(smbd) == 20 or len(smbd) == 32):  # SMBD negotiate request / response
            continue
        remaining, off, n = struct.unpack("<III", smbd[8:20])
        if not n:
            continue
        parts[up] += smbd[off:off + n]
        if not remaining:
            out.append((up, parts[up]))
            parts[up] = b""
    return out


class _Conn:
    def __init__(self, hs):
        """hs: the sample's SYN, SYN-ACK and ACK frames."""
        self.hs = hs
        syn, synack = hs[0], hs[1]
        ts, _ = _tcp(syn)
        tsa, _ = _tcp(synack)
        self.mac = {True: syn[:12], False: synack[:12]}
        self.ip = {True: syn[ETH + 12:ETH + 20], False: synack[ETH + 12:ETH + 20]}
        self.port = {True: PORT, False: struct.unpack("!H", syn[ts + 2:ts + 4])[0]}
        self.seq = {True: struct.unpack("!I", syn[ts + 4:ts + 8])[0] + 1,
                    False: struct.unpack("!I", synack[tsa + 4:tsa + 8])[0] + 1}
        self.frames = []
        self.ipid = 1

    def seg(self, up, flags, payload=b""):
        src, dst = self.ip[up], self.ip[not up]
        tcp = struct.pack("!HHIIBBHHH", self.port[up], self.port[not up], self.seq[up], self.seq[not up],
                          5 << 4, flags, 502, 0, 0) + payload
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
        tcp = tcp[:16] + struct.pack("!H", _checksum(pseudo + tcp)) + tcp[18:]
        iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), self.ipid, 0x4000, 64, 6, 0, src, dst)
        iph = iph[:10] + struct.pack("!H", _checksum(iph)) + iph[12:]
        self.ipid += 1
        self.frames.append(self.mac[up] + b"\x08\x00" + iph + tcp)
        self.seq[up] = (self.seq[up] + len(payload) + (1 if flags & 1 else 0)) & 0xFFFFFFFF

    def handshake(self):
        for f, up in zip(self.hs, (True, False, True)):
            t, _ = _tcp(f)
            f = bytearray(f)
            f[t + (0 if up else 2):t + (2 if up else 4)] = struct.pack("!H", PORT)
            f[t + 16:t + 18] = b"\0\0"
            ihl = (f[ETH] & 0x0F) * 4
            src, dst = bytes(f[ETH + 12:ETH + 16]), bytes(f[ETH + 16:ETH + 20])
            seg = bytes(f[t:])
            pseudo = src + dst + struct.pack("!BBH", 0, 6, len(seg))
            f[t + 16:t + 18] = struct.pack("!H", _checksum(pseudo + seg))
            assert ihl == 20
            self.frames.append(bytes(f))


def _fpdu(ulpdu):
    body = struct.pack("!H", len(ulpdu)) + ulpdu
    body += b"\0" * ((4 - len(body) % 4) % 4)
    return body + struct.pack("<I", _crc32c(body))


def _send(msn, smbd, mo=0, last=True):
    return struct.pack("!BBIIII", 0x41 if last else 0x01, 0x40 | 3, 0, 0, msn, mo) + smbd


def _data(payload, remaining):
    return struct.pack("<HHHHIII", 10, 10, 0, 0, remaining, SMBD_HDR, len(payload)) + b"\0\0\0\0" + payload


def _direct_tcp_messages(path, server_port=445):
    """The SMB2 messages of a direct-TCP capture's first connection, in wire
    order (a clean capture: no retransmission, segments in order)."""
    _, frames = _frames(path)
    streams, order, out, pos = {True: b"", False: b""}, [], [], {True: 0, False: 0}
    for f in frames:
        if struct.unpack("!H", f[12:14])[0] != 0x0800 or f[ETH + 9] != 6:
            continue
        t, pay = _tcp(f)
        if not pay:
            continue
        up = struct.unpack("!H", f[t + 2:t + 4])[0] == server_port
        streams[up] += pay
        s = streams[up]
        while pos[up] + 4 <= len(s):
            n = struct.unpack(">I", s[pos[up]:pos[up] + 4])[0] & 0xFFFFFF
            if pos[up] + 4 + n > len(s):
                break
            out.append((up, s[pos[up] + 4:pos[up] + 4 + n]))
            pos[up] += 4 + n
    return out


def grown(msgs, which, size):
    """msgs with the which-th TRANSFORM message (MS-SMB2 2.2.41: an
    encrypted message) grown to size octets: its ciphertext lengthened by
    fixed pseudo-random octets and OriginalMessageSize by as many (a READ
    response of that size, say: smbscope counts it an encrypted PDU of its
    session without decrypting it)."""
    out, seen = [], 0
    for up, m in msgs:
        if m[:4] == b"\xfdSMB" and len(m) < size:
            if seen == which:
                extra = size - len(m)
                orig = struct.unpack("<I", m[36:40])[0] + extra
                pad = bytes((i * 131 + 7) & 0xFF for i in range(extra))
                m = m[:36] + struct.pack("<I", orig) + m[40:] + pad
            seen += 1
        out.append((up, m))
    return out


def fragmented_copy(src, dst, messages_from=None, ddp_split=False, grow=None, max_recv=MAX_RECV, upto=None):
    """Returns the number of frames written.  messages_from: a direct-TCP
    capture whose SMB2 messages the copy carries instead of src's (e.g.
    samples/smb445-encrypt.pcap: encrypted, TRANSFORM headers).  ddp_split:
    each SMBD data transfer message's Send in two DDP segments (RFC 5041
    untagged: the same MSN, the second at MO = the first's length), each in
    an FPDU of its own.  grow: (which, size), grown() over the messages
    carried (messages over 16,384 octets in SMBD pieces).  max_recv: both
    ends' MaxReceiveSize (a larger one, 8,192 as Windows announces, puts a
    message of hundreds of KiB in tens of pieces, not thousands).  upto: only
    the first upto messages carried (a short copy to cut at every packet)."""
    head, frames = _frames(src)
    t, _ = _tcp(frames[0])
    client_port = struct.unpack("!H", frames[0][t:t + 2])[0]
    if messages_from:
        msgs = _direct_tcp_messages(messages_from)
    else:
        msgs = _smb2_messages(frames[5:], client_port)  # after the handshake and the MPA startup
    if grow:
        msgs = grown(msgs, *grow)
    msgs = msgs[:upto]
    c = _Conn(frames[:3])
    c.handshake()
    for up in (True, False):  # the sample's MPA request and reply
        _, pay = _tcp(frames[3 if up else 4])
        c.seg(up, 0x18, pay)
    msn = {True: 1, False: 1}

    def send(up, smbd, split=False):
        half = len(smbd) // 2 if split else len(smbd)
        c.seg(up, 0x18, _fpdu(_send(msn[up], smbd[:half], last=not split)))
        if split:
            c.seg(up, 0x18, _fpdu(_send(msn[up], smbd[half:], mo=half)))
        msn[up] += 1

    send(True, struct.pack("<HHHHIII", 0x0100, 0x0100, 0, 255, 1364, max_recv, 1048576))
    send(False, struct.pack("<HHHHHHIIIII", 0x0100, 0x0100, 0x0100, 0, 255, 255, 0, 1048576, 1364, max_recv,
                            1048576))
    room = max_recv - SMBD_HDR
    for up, m in msgs:
        for off in range(0, len(m), room):
            send(up, _data(m[off:off + room], max(0, len(m) - off - room)), ddp_split)
    c.seg(True, 0x10)
    c.seg(True, 0x11)
    c.seg(False, 0x11)
    c.seg(True, 0x10)
    out = bytearray(head)
    base = struct.unpack("<I", open(src, "rb").read()[24:28])[0]  # the sample's first second
    for i, f in enumerate(c.frames):
        us = i * 100
        out += struct.pack("<IIII", base + us // 1000000, us % 1000000, len(f), len(f)) + f
    open(dst, "wb").write(bytes(out))
    return len(c.frames)



def _roce_frame(tmpl, opcode, psn, payload, ackreq):
    """A frame of tmpl's direction (Ethernet, IPv4, UDP, BTH of a RoCEv2
    frame of the sample) with another opcode, PSN and payload."""
    bth = ETH + (tmpl[ETH] & 0x0F) * 4 + 8
    pad = (4 - len(payload) % 4) % 4
    head = bytearray(tmpl[:bth + 12])
    head[bth] = opcode
    head[bth + 1] = (head[bth + 1] & 0x0F) | (pad << 4)  # no SE, no migration request: pad count, TVer
    struct.pack_into("!I", head, bth + 8, (0x80000000 if ackreq else 0) | (psn & 0xFFFFFF))
    f = head + payload + b"\0" * pad + b"\0" * 4
    _roce_fix(f)
    return bytes(f)


def roce_fragmented_copy(src, dst, messages_from, grow=None, max_recv=8192, pmtu=4096, upto=None):
    """src: samples/rdma-roce-4791.pcap (its first four frames: the client's
    SMBD negotiate request, the server's ACK, its response, the client's
    ACK); messages_from, grow, upto: as fragmented_copy().  Returns the
    number of frames written."""
    head, frames = _frames(src)
    tmpl = {True: frames[0], False: frames[2]}  # SENDs from the client, from the server
    ack_tmpl = {True: frames[3], False: frames[1]}  # ACKs from the client, from the server
    bth = ETH + (frames[0][ETH] & 0x0F) * 4 + 8
    psn = {up: struct.unpack("!I", tmpl[up][bth + 8:bth + 12])[0] & 0xFFFFFF for up in (True, False)}
    msgs = _direct_tcp_messages(messages_from)
    if grow:
        msgs = grown(msgs, *grow)
    msgs = msgs[:upto]
    out = []

    def send(up, smbd):
        chunks = [smbd[i:i + pmtu] for i in range(0, len(smbd), pmtu)] or [b""]
        for i, ch in enumerate(chunks):
            only, first, last = len(chunks) == 1, i == 0, i == len(chunks) - 1
            op = 0x04 if only else 0x00 if first else 0x02 if last else 0x01
            out.append(_roce_frame(tmpl[up], op, psn[up], ch, last))
            psn[up] += 1
        a = ack_tmpl[not up]
        out.append(_roce_frame(a, 0x11, psn[up] - 1, a[bth + 12:bth + 16], False))  # the peer's ACK (its AETH)

    send(True, struct.pack("<HHHHIII", 0x0100, 0x0100, 0, 255, 1364, max_recv, 1048576))
    send(False, struct.pack("<HHHHHHIIIII", 0x0100, 0x0100, 0x0100, 0, 255, 255, 0, 1048576, 1364, max_recv,
                            1048576))
    room = max_recv - SMBD_HDR
    for up, m in msgs:
        for off in range(0, len(m), room):
            send(up, _data(m[off:off + room], max(0, len(m) - off - room)))
    data = bytearray(head)
    base = struct.unpack("<I", open(src, "rb").read()[24:28])[0]
    for i, f in enumerate(out):
        us = i * 100
        data += struct.pack("<IIII", base + us // 1000000, us % 1000000, len(f), len(f)) + f
    open(dst, "wb").write(bytes(data))
    return len(out)
