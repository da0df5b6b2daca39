"""rdma_read.py - SMB Direct samples with an RDMA Read Request added, made at test time.

The hand-built samples (samples/gen-rdma.py) carry RDMA Writes but no RDMA
Read, which SMB Direct uses when a server pulls a client's buffer (a large
WRITE).  The issue asks that RDMA Read and Write be counted, not decoded:

iwarp_read_copy(src, dst): before the client's FIN, one more client segment
    with one FPDU: an RDMAP Read Request (RFC 5040 4.4: untagged, queue 1,
    data sink and source STag/offset and size) with a good CRC32c (RFC 5044,
    little-endian as in the samples).  The client's later sequence numbers
    and the server's later acknowledgements move by the segment's length;
    IP and TCP checksums are recomputed.
roce_read_copy(src, dst): one more client packet at the end: RC RDMA READ
    Request (BTH opcode 0x0C, RETH: virtual address, R_Key, DMA length) to
    the server's queue pair with the client's next PSN and a good ICRC.

roce_midstream_copy(src, dst): the RoCEv2 sample seen from its middle, from
    the server's ACK of the READ request on: the pair's first packets are
    that ACK, the server's RDMA Write of the READ's data (here in two
    packets, RDMA WRITE First with its RETH and Last) and the client's ACK,
    before its first SEND (the READ response, SEND First/Middle/Last), then
    a CLOSE; the server's later PSNs and the client's ACKs of them move by
    the packet added.  A cut among the first packets leaves a part that
    cannot tell the pair SMB (merge: state.roce_tails before the part that
    decides, mstate_join_roce.h).

roce_ack_first_copy(src, dst): the RoCEv2 sample with the server's ACK of
    the SMBD negotiate request (its second frame) seen first, at the first
    frame's time (an ACK the capture saw before the request, as when a
    request is retransmitted): the pair named from the server, the
    negotiate request its second sender's.

roce_stray_first_copy(src, dst, kind): a RoCEv2 capture (the sample, or
    roce_midstream_copy()'s) after one packet
    from the server to another queue pair of the client's host (QP 0x99, a
    PSN of its own sequence), half a second before: kind "ack" an RC
    Acknowledge, "send" an RC SEND Only of 32 octets that are no SMBD
    message (another RDMA application's, or an earlier connection's whose
    client side the capture missed).  The BTH names only the destination
    QP: the client's first packet (the sample's SMBD negotiate request, the
    midstream copy's ACK of the server's RDMA Write) must not join that
    stray packet's pair (review F10: it did, and the client's SMBD messages
    were lost: FAIL became INCONCLUSIVE; the midstream copy's connection in
    two).

Classic pcap, Ethernet, IPv4, as the samples.
"""

import struct
import zlib

from quic_edge import _checksum, _records as pcap_records

ETH = 14
READ_SIZE = 4096


def _crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
    return c ^ 0xFFFFFFFF


def _records(data):
    """(record header, frame) of each record of a classic pcap."""
    for off, incl in pcap_records(data):
        yield data[off - 16:off], bytearray(data[off:off + incl])


def _write(dst, header, records):
    out = bytearray(header)
    for rec, frame in records:
        out += rec[:8] + struct.pack("<II", len(frame), len(frame)) + frame
    open(dst, "wb").write(bytes(out))


def _ip_fix(frame):
    """IPv4 total length and header checksum of a frame whose payload changed."""
    struct.pack_into("!H", frame, ETH + 2, len(frame) - ETH)
    struct.pack_into("!H", frame, ETH + 10, 0)
    ihl = (frame[ETH] & 0x0F) * 4
    struct.pack_into("!H", frame, ETH + 10, _checksum(bytes(frame[ETH:ETH + ihl])))


def _tcp_fix(frame):
    ihl = (frame[ETH] & 0x0F) * 4
    tcp = ETH + ihl
    struct.pack_into("!H", frame, tcp + 16, 0)
    seg = bytes(frame[tcp:])
    pseudo = bytes(frame[ETH + 12:ETH + 20]) + struct.pack("!BBH", 0, 6, len(seg))
    struct.pack_into("!H", frame, tcp + 16, _checksum(pseudo + seg))


def read_request_fpdu(msn):
    ddp = struct.pack(">BBIIII", 0x41, 0x41, 0, 1, msn, 0)  # untagged, last, DV; RDMAP v1 Read Request; QN 1
    body = struct.pack(">IQIIQ", 0x5A5A0001, 0x10000, READ_SIZE, 0xC0DE0002, 0x20000)
    ulpdu = ddp + body
    pad = (4 - (2 + len(ulpdu)) % 4) % 4
    fpdu = struct.pack(">H", len(ulpdu)) + ulpdu + b"\0" * pad
    return fpdu + struct.pack("<I", _crc32c(fpdu))


def iwarp_read_copy(src, dst):
    data = open(src, "rb").read()
    records = list(_records(data))
    first = records[0][1]
    ihl = (first[ETH] & 0x0F) * 4
    client = (bytes(first[ETH + 12:ETH + 16]), struct.unpack("!H", first[ETH + ihl:ETH + ihl + 2])[0])

    def tcp_of(frame):
        t = ETH + (frame[ETH] & 0x0F) * 4
        src = (bytes(frame[ETH + 12:ETH + 16]), struct.unpack("!H", frame[t:t + 2])[0])
        return t, src == client, frame[t + 13]

    fin = next(i for i, (_, f) in enumerate(records) if tcp_of(f)[1] and tcp_of(f)[2] & 0x01)
    rec, tmpl = records[fin]
    t = tcp_of(tmpl)[0]
    hlen = (tmpl[t + 12] >> 4) * 4
    seq = struct.unpack("!I", tmpl[t + 4:t + 8])[0]
    payload = read_request_fpdu(msn=1)
    seg = bytearray(tmpl[:t + hlen]) + payload
    seg[t + 13] = 0x18  # PSH, ACK
    _ip_fix(seg)
    _tcp_fix(seg)
    for _, frame in records[fin:]:
        t, from_client, _ = tcp_of(frame)
        if from_client:
            struct.pack_into("!I", frame, t + 4, (struct.unpack("!I", frame[t + 4:t + 8])[0] + len(payload)) & 0xFFFFFFFF)
        else:
            ack = struct.unpack("!I", frame[t + 8:t + 12])[0]
            if ack > seq:
                struct.pack_into("!I", frame, t + 8, (ack + len(payload)) & 0xFFFFFFFF)
        _tcp_fix(frame)
    records.insert(fin, (rec, seg))
    _write(dst, data[:24], records)
    return fin + 1  # the new frame's number


def _icrc(ip_packet):
    """RoCEv2 ICRC over an IPv4 packet whose last 4 octets are the ICRC."""
    pkt = bytearray(ip_packet)
    ihl = (pkt[0] & 0x0F) * 4
    pkt[1] = 0xFF
    pkt[8] = 0xFF
    pkt[10:12] = b"\xff\xff"
    pkt[ihl + 6:ihl + 8] = b"\xff\xff"
    pkt[ihl + 8 + 4] = 0xFF
    return struct.pack("<I", zlib.crc32(b"\xff" * 8 + bytes(pkt[:-4])) & 0xFFFFFFFF)


def roce_read_copy(src, dst):
    data = open(src, "rb").read()
    records = list(_records(data))
    client = bytes(records[0][1][ETH + 12:ETH + 16])
    last = None
    for rec, frame in records:
        ihl = (frame[ETH] & 0x0F) * 4
        bth = ETH + ihl + 8
        if bytes(frame[ETH + 12:ETH + 16]) == client and frame[bth] != 0x11:  # a client request, not an ACK
            last = (rec, frame, bth)
    rec, tmpl, bth = last
    psn = (struct.unpack("!I", tmpl[bth + 8:bth + 12])[0] + 1) & 0xFFFFFF
    head = bytearray(tmpl[bth:bth + 12])
    head[0] = 0x0C              # RC RDMA READ Request
    head[1] &= 0x0F             # no SE, no pad (M, TVer kept)
    struct.pack_into("!I", head, 8, 0x80000000 | psn)  # AckReq, PSN
    reth = struct.pack(">QII", 0x30000, 0xC0DE0003, READ_SIZE)
    frame = bytearray(tmpl[:bth]) + head + reth + b"\0" * 4
    struct.pack_into("!H", frame, bth - 4, len(frame) - bth + 8)  # UDP length
    struct.pack_into("!H", frame, bth - 2, 0)                     # no UDP checksum
    _ip_fix(frame)
    frame[-4:] = _icrc(bytes(frame[ETH:]))
    rec = rec[:4] + struct.pack("<I", struct.unpack("<I", rec[4:8])[0] + 1000) + rec[8:]
    records.append((rec, frame))
    _write(dst, data[:24], records)
    return len(records)


def _bth_psn(frame, bth):
    return struct.unpack("!I", frame[bth + 8:bth + 12])[0] & 0xFFFFFF


def _set_psn(frame, bth, psn, ackreq=None):
    word = struct.unpack("!I", frame[bth + 8:bth + 12])[0]
    req = word & 0x80000000 if ackreq is None else (0x80000000 if ackreq else 0)
    struct.pack_into("!I", frame, bth + 8, req | (psn & 0xFFFFFF))


def _roce_fix(frame):
    """UDP length, IPv4 length and checksum, ICRC of a RoCEv2 frame."""
    ihl = (frame[ETH] & 0x0F) * 4
    struct.pack_into("!H", frame, ETH + ihl + 4, len(frame) - ETH - ihl)
    _ip_fix(frame)
    frame[-4:] = _icrc(bytes(frame[ETH:]))


def roce_midstream_copy(src, dst, first=88):
    data = open(src, "rb").read()
    records = list(_records(data))
    server = bytes(records[0][1][ETH + 16:ETH + 20])
    out, moved = [], False
    for rec, frame in records[first - 1:]:
        ihl = (frame[ETH] & 0x0F) * 4
        bth = ETH + ihl + 8
        from_server = bytes(frame[ETH + 12:ETH + 16]) == server
        opcode = frame[bth]
        if opcode == 0x0A and not moved:  # RDMA WRITE Only -> First (its RETH) and Last
            reth, payload = frame[bth + 12:bth + 28], frame[bth + 28:-4]
            half = len(payload) // 2
            psn = _bth_psn(frame, bth)
            head = bytearray(frame[:bth + 12])
            head[bth] = 0x06
            _set_psn(head, bth, psn, ackreq=False)
            wfirst = head + reth + payload[:half] + b"\0" * 4
            tail = bytearray(frame[:bth + 12])
            tail[bth] = 0x08
            _set_psn(tail, bth, psn + 1, ackreq=True)
            wlast = tail + payload[half:] + b"\0" * 4
            for f in (wfirst, wlast):
                _roce_fix(f)
            out.append((rec, wfirst))
            us = struct.unpack("<I", rec[4:8])[0] + 50
            out.append((rec[:4] + struct.pack("<I", us) + rec[8:], wlast))
            moved = True
            continue
        if moved and (from_server != (opcode == 0x11)):  # the server's later packets, the client's ACKs of them
            _set_psn(frame, bth, _bth_psn(frame, bth) + 1)
            _roce_fix(frame)
        out.append((rec, frame))
    _write(dst, data[:24], out)
    return len(out)


def roce_ack_first_copy(src, dst):
    data = open(src, "rb").read()
    records = list(_records(data))
    (r0, request), (r1, ack) = records[0], records[1]
    _write(dst, data[:24], [(r0, ack), (r1, request)] + records[2:])
    return len(records)


STRAY_QP, STRAY_PSN = 0x99, 0x10


def roce_stray_first_copy(src, dst, kind):
    data = open(src, "rb").read()
    records = list(_records(data))
    ihl = (records[0][1][ETH] & 0x0F) * 4
    bth = ETH + ihl + 8
    # the first RC Acknowledge (the sample's frame 2: the server's of the
    # negotiate request; roce_midstream_copy()'s frame 1): its headers
    rec, ack = next((r, f) for r, f in records if f[bth] == 0x11)
    frame = bytearray(ack[:bth + 12])
    frame[bth + 4:bth + 8] = struct.pack("!I", STRAY_QP)
    if kind == "ack":
        _set_psn(frame, bth, STRAY_PSN, ackreq=False)
        frame += struct.pack("!I", 0x1F000000 | STRAY_PSN)  # AETH: ACK, MSN
    else:
        frame[bth] = 0x04                  # RC SEND Only
        frame[bth + 1] &= 0x0F             # no SE, no pad
        _set_psn(frame, bth, STRAY_PSN, ackreq=True)
        frame += bytes(range(0x40, 0x60))  # 32 octets, no SMBD message
    frame += b"\0" * 4
    struct.pack_into("!H", frame, bth - 2, 0)  # no UDP checksum
    _roce_fix(frame)
    sec, usec = struct.unpack("<II", records[0][0][:8])
    t = sec * 1000000 + usec - 500000
    stray = (struct.pack("<II", t // 1000000, t % 1000000) + rec[8:], frame)
    _write(dst, data[:24], [stray] + records)
    return len(records) + 1


def roce_strays_copy(src, dst, n):
    """src with n RC SEND Only packets (32 octets, no SMBD message, far-away
    PSNs) from its client to n other QPs of its server first, 0.5 s before
    it, none answered (review: a one-sided capture of other RDMA traffic;
    16 of them hid the server's first packet from its pair).  The number of
    records written."""
    data = open(src, "rb").read()
    records = list(_records(data))
    ihl = (records[0][1][ETH] & 0x0F) * 4
    bth = ETH + ihl + 8
    rec, first = records[0]
    sec, usec = struct.unpack("<II", rec[:8])
    t0 = sec * 1000000 + usec - 500000
    strays = []
    for i in range(n):
        frame = bytearray(first[:bth + 12])
        frame[bth + 4:bth + 8] = struct.pack("!I", STRAY_QP + 1 + i)
        frame[bth] = 0x04                  # RC SEND Only
        frame[bth + 1] &= 0x0F             # no SE, no pad
        _set_psn(frame, bth, (0x400000 + i * 0x20000) & 0xFFFFFF, ackreq=True)
        frame += bytes(range(0x40, 0x60)) + b"\0" * 4
        struct.pack_into("!H", frame, bth - 2, 0)  # no UDP checksum
        _roce_fix(frame)
        t = t0 + i
        strays.append((struct.pack("<II", t // 1000000, t % 1000000) + rec[8:12] + struct.pack("<I", len(frame)),
                       bytes(frame)))
    _write(dst, data[:24], strays + records)
    return len(records) + n
