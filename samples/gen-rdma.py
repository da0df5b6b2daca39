#!/usr/bin/python3
"""gen-rdma.py - hand-built SMB Direct (MS-SMBD) captures around real SMB2 messages.

This machine's kernel has no soft-RDMA (no siw, no rdma_rxe) and Samba 4.17
has no SMB Direct server, so SMB Direct cannot be captured here.  This
script builds the RDMA carriers by hand around the SMB2 messages of a real
capture (samples/smb445-smb3_11.pcap: smbclient 4.17 <-> smbd 4.17, SMB 3.1.1,
NTLMSSP, shares IPC$ and data, a WRITE and a READ of hello.txt); the SMB2
bytes are taken unchanged (so signatures stay valid), only the 4-byte
direct-TCP header is dropped, as MS-SMBD 2.2.3 requires.

Captures written (into the directory of this script, or --out DIR):
  rdma-iwarp-5445.pcap          iWARP on TCP 5445: MPA request/reply (CRC on,
                                markers off, revision 1), SMBD negotiate, SMB2
                                messages in DDP/RDMAP Send, Send-SE and
                                Send-Invalidate; the WRITE request fragmented
                                over three SMBD data transfer messages
                                (RemainingDataLength); an RDMA Write before the
                                READ response (tagged DDP: counted, not decoded)
  rdma-iwarp-markers-15445.pcap the same session on alternative port 15445 with
                                MPA markers negotiated by both ends (every 512
                                octets of each direction's FPDU stream), MPA
                                private data in the request, and the READ
                                response carried in two DDP segments
  rdma-roce-4791.pcap           RoCEv2 (UDP 4791, InfiniBand BTH, RC): SMBD in
                                SEND Only, the READ response in SEND First/
                                Middle/Last (path MTU 512), one SEND Only with
                                Invalidate, RC ACKs, an RDMA Write Only; the
                                ICRC is computed by scapy.contrib.roce

Every frame is one whole FPDU (tshark 4.0's MPA dissector assumes that).
MPA CRC32c is sent in network byte order of the reflected register, i.e. the
little-endian packing of the CRC value, as tshark checks it.

Usage: /usr/bin/python3 samples/gen-rdma.py [--out DIR] [--source CAPTURE]
(generate.sh runs it as scenario `rdma`.)
Needs python3-scapy (Debian 12).
"""

import argparse
import os
import struct
import sys

from scapy.all import Ether, IP, TCP, UDP, Raw, rdpcap, wrpcap  # noqa: E402
from scapy.contrib.roce import BTH  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = "smb445-smb3_11.pcap"
CLI, SRV = "10.213.0.2", "10.213.0.1"
CLI_MAC, SRV_MAC = "02:00:0a:d5:00:02", "02:00:0a:d5:00:01"
T0 = 1795392000.0  # fixed timestamps: reruns give the same bytes

# ---------------------------------------------------------------- SMB2 source


def smb2_messages(path):
    """[(from_client, smb2_message_bytes)] of the first TCP 445 connection, in
    wire order; the 4-byte direct-TCP headers removed."""
    streams = {True: b"", False: b""}
    order = []
    for p in rdpcap(path):
        if TCP not in p or not bytes(p[TCP].payload):
            continue
        up = p[TCP].dport == 445
        streams[up] += bytes(p[TCP].payload)
        order.append((up, len(streams[up])))
    out = []
    pos = {True: 0, False: 0}
    for up, end in order:  # the messages complete at this segment, in wire order
        s = streams[up][:end]
        while pos[up] + 4 <= len(s):
            n = struct.unpack(">I", s[pos[up]:pos[up] + 4])[0] & 0xFFFFFF
            if pos[up] + 4 + n > len(s):
                break
            out.append((up, s[pos[up] + 4:pos[up] + 4 + n]))
            pos[up] += 4 + n
    return out


def session(msgs):
    """NEGOTIATE .. the CLOSE after the READ: a complete session with both
    tree connects, a WRITE and a READ."""
    cmds = [struct.unpack("<H", m[12:14])[0] for _, m in msgs]
    read_resp = max(i for i, (up, m) in enumerate(msgs) if not up and cmds[i] == 8)
    end = next(i for i in range(read_resp, len(msgs)) if cmds[i] == 6 and not msgs[i][0])
    return msgs[:end + 1]


def cmd_of(m):
    return struct.unpack("<H", m[12:14])[0]


# ---------------------------------------------------------------- SMBD (MS-SMBD 2.2)

SMBD_HDR = 24


def smbd_negotiate_request(credits=255, send=1364, recv=8192, frag=1048576):
    return struct.pack("<HHHHIII", 0x0100, 0x0100, 0, credits, send, recv, frag)


def smbd_negotiate_response(credits_req=255, credits=255, rw=1048576, send=1364, recv=512, frag=1048576):
    return struct.pack("<HHHHHHIIIII", 0x0100, 0x0100, 0x0100, 0, credits_req, credits, 0,
                       rw, send, recv, frag)


def smbd_data(payload, remaining, credits_req=10, credits=10, flags=0):
    hdr = struct.pack("<HHHHIII", credits_req, credits, flags, 0, remaining,
                      SMBD_HDR if payload else 0, len(payload))
    return hdr + (b"\0\0\0\0" if payload else b"") + payload


def smbd_fragments(msg, max_recv):
    """One SMB2 message as SMBD data transfer messages no longer than the
    peer's MaxReceiveSize (MS-SMBD 3.1.5.1: RemainingDataLength counts down)."""
    room = max_recv - SMBD_HDR
    out, off = [], 0
    while off < len(msg):
        chunk = msg[off:off + room]
        off += len(chunk)
        out.append(smbd_data(chunk, len(msg) - off))
    return out


# ---------------------------------------------------------------- CRC32c (RFC 3385)

_CRC32C = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC32C.append(_c)


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


# ---------------------------------------------------------------- DDP / RDMAP (RFC 5041, 5040)

RDMA_WRITE, RDMA_SEND, RDMA_SEND_INV, RDMA_SEND_SE, RDMA_SEND_SE_INV = 0, 3, 4, 5, 6


def ddp_untagged(opcode, payload, msn, mo=0, last=True, inval_stag=0, qn=0):
    ctrl = (0x40 if last else 0x00) | 0x01  # T=0, L, DV=1
    rdmap = 0x40 | opcode                    # RV=1
    return struct.pack(">BBIIII", ctrl, rdmap, inval_stag, qn, msn, mo) + payload


def ddp_tagged(opcode, payload, stag, to, last=True):
    ctrl = 0x80 | (0x40 if last else 0x00) | 0x01
    return struct.pack(">BBIQ", ctrl, 0x40 | opcode, stag, to) + payload


# ---------------------------------------------------------------- MPA (RFC 5044)

MPA_REQ_KEY = b"MPA ID Req Frame"
MPA_REP_KEY = b"MPA ID Rep Frame"


def mpa_req_rep(key, markers, crc, private=b"", rev=1):
    flags = (0x80 if markers else 0) | (0x40 if crc else 0)
    return key + struct.pack(">BBH", flags, rev, len(private)) + private


class MpaStream:
    """FPDUs of one direction; with markers, a 4-byte marker at every 512th
    octet of the FPDU stream (counted from the first FPDU), FPDUPTR = octets
    from the start of the FPDU it sits in (0 when it precedes the header)."""

    def __init__(self, markers):
        self.markers = markers
        self.pos = 0  # octets of this direction's FPDU stream sent so far

    def fpdu(self, ulpdu):
        body = struct.pack(">H", len(ulpdu)) + ulpdu
        body += b"\0" * ((4 - len(body) % 4) % 4)
        start = self.pos
        out = bytearray()
        for b in body:
            if self.markers and self.pos % 512 == 0:
                out += struct.pack(">HH", 0, self.pos - start)
                self.pos += 4
            out.append(b)
            self.pos += 1
        if self.markers and self.pos % 512 in (509, 510, 511):
            raise ValueError("a marker would split the CRC: change the payload sizes")
        if self.markers and self.pos % 512 == 0:
            # a marker between the pad and the CRC, covered by the CRC
            out += struct.pack(">HH", 0, self.pos - start)
            self.pos += 4
        out += struct.pack("<I", crc32c(bytes(out)))
        self.pos += 4
        return bytes(out)


# ---------------------------------------------------------------- frames


class Clock:
    def __init__(self):
        self.t = T0

    def tick(self, dt=0.0001):
        self.t += dt
        return self.t


class TcpConn:
    """Both directions of one TCP connection, one segment per FPDU."""

    def __init__(self, sport, dport, clock, frames):
        self.sport, self.dport = sport, dport
        self.seq = {True: 0x1A2B0000, False: 0x5C6D0000}
        self.clock, self.frames = clock, frames

    def _seg(self, up, flags, payload=b""):
        src, dst = (CLI, SRV) if up else (SRV, CLI)
        sp, dp = (self.sport, self.dport) if up else (self.dport, self.sport)
        smac, dmac = (CLI_MAC, SRV_MAC) if up else (SRV_MAC, CLI_MAC)
        ack = self.seq[not up] if "A" in flags else 0
        p = (Ether(src=smac, dst=dmac) / IP(src=src, dst=dst, flags="DF", ttl=64) /
             TCP(sport=sp, dport=dp, seq=self.seq[up], ack=ack, flags=flags, window=502))
        if payload:
            p = p / Raw(payload)
        p.time = self.clock.tick()
        self.frames.append(p)
        self.seq[up] = (self.seq[up] + len(payload) + (1 if "S" in flags or "F" in flags else 0)) & 0xFFFFFFFF

    def handshake(self):
        self._seg(True, "S")
        self._seg(False, "SA")
        self._seg(True, "A")

    def send(self, up, payload):
        self._seg(up, "PA", payload)

    def ack(self, up):
        self._seg(up, "A")

    def close(self):
        self._seg(True, "FA")
        self._seg(False, "FA")
        self._seg(True, "A")


def iwarp_capture(msgs, dport, markers, private, ddp_split_read):
    clock, frames = Clock(), []
    c = TcpConn(49712 if dport == 5445 else 49713, dport, clock, frames)
    c.handshake()
    c.send(True, mpa_req_rep(MPA_REQ_KEY, markers, True, private))
    c.send(False, mpa_req_rep(MPA_REP_KEY, markers, True))
    tx = {True: MpaStream(markers), False: MpaStream(markers)}
    msn = {True: 1, False: 1}

    def send_msg(up, opcode, smbd, inval=0):
        c.send(up, tx[up].fpdu(ddp_untagged(opcode, smbd, msn[up], inval_stag=inval)))
        msn[up] += 1

    send_msg(True, RDMA_SEND, smbd_negotiate_request())
    send_msg(False, RDMA_SEND, smbd_negotiate_response())
    server_max_recv = 512
    for up, m in msgs:
        cmd = cmd_of(m)
        if up and len(m) > server_max_recv - SMBD_HDR:
            for frag in smbd_fragments(m, server_max_recv):
                send_msg(True, RDMA_SEND, frag)
            continue
        if not up and cmd == 8:  # READ response: the data goes by RDMA Write first
            data = m[0x50:]
            c.send(False, tx[False].fpdu(ddp_tagged(RDMA_WRITE, data, 0x8F3A1C07, 0x7F1200000000)))
            if ddp_split_read:
                smbd = smbd_data(m, 0)
                half = len(smbd) // 2
                c.send(False, tx[False].fpdu(ddp_untagged(RDMA_SEND_INV, smbd[:half], msn[False], 0,
                                                          last=False, inval_stag=0x8F3A1C07)))
                c.send(False, tx[False].fpdu(ddp_untagged(RDMA_SEND_INV, smbd[half:], msn[False], half,
                                                          last=True, inval_stag=0x8F3A1C07)))
                msn[False] += 1
            else:
                send_msg(False, RDMA_SEND_INV, smbd_data(m, 0), inval=0x8F3A1C07)
            continue
        opcode = RDMA_SEND_SE if (not up and cmd == 1) else RDMA_SEND
        send_msg(up, opcode, smbd_data(m, 0))
    c.ack(True)
    c.close()
    return frames


# ---------------------------------------------------------------- RoCEv2

RC_SEND_FIRST, RC_SEND_MIDDLE, RC_SEND_LAST, RC_SEND_ONLY = 0x00, 0x01, 0x02, 0x04
RC_RDMA_WRITE_ONLY, RC_ACK, RC_SEND_ONLY_INV = 0x0A, 0x11, 0x17


class RoceDir:
    def __init__(self, src, dst, smac, dmac, sport, dqp, psn):
        self.src, self.dst, self.smac, self.dmac = src, dst, smac, dmac
        self.sport, self.dqp, self.psn = sport, dqp, psn


def roce_capture(msgs):
    clock, frames = Clock(), []
    up_dir = RoceDir(CLI, SRV, CLI_MAC, SRV_MAC, 52417, 0x000022, 0x3A5C10)
    dn_dir = RoceDir(SRV, CLI, SRV_MAC, CLI_MAC, 61002, 0x000011, 0x7E0044)
    pmtu = 512

    def pkt(d, opcode, ext, payload, se=False, ackreq=False):
        pad = (4 - len(payload) % 4) % 4
        bth = BTH(opcode=opcode, solicited=1 if se else 0, padcount=pad, pkey=0xFFFF,
                  dqpn=d.dqp, ackreq=1 if ackreq else 0, psn=d.psn)
        p = (Ether(src=d.smac, dst=d.dmac) / IP(src=d.src, dst=d.dst, flags="DF", ttl=64, tos=0x68) /
             UDP(sport=d.sport, dport=4791, chksum=0) / bth / Raw(ext + payload + b"\0" * pad))
        p = Ether(bytes(p))  # freeze: the ICRC is computed over the final bytes
        p.time = clock.tick()
        frames.append(p)
        if opcode != RC_ACK:
            d.psn = (d.psn + 1) & 0xFFFFFF

    def ack(d_from, acked_psn):
        saved = d_from.psn
        d_from.psn = acked_psn
        pkt(d_from, RC_ACK, struct.pack(">I", 0x1F000000 | 0), b"")
        d_from.psn = saved

    def send(up, smbd, inval=None, se=False):
        d, back = (up_dir, dn_dir) if up else (dn_dir, up_dir)
        if len(smbd) <= pmtu:
            if inval is None:
                pkt(d, RC_SEND_ONLY, b"", smbd, se=se, ackreq=True)
            else:
                pkt(d, RC_SEND_ONLY_INV, struct.pack(">I", inval), smbd, se=se, ackreq=True)
        else:
            chunks = [smbd[i:i + pmtu] for i in range(0, len(smbd), pmtu)]
            for i, ch in enumerate(chunks):
                op = RC_SEND_FIRST if i == 0 else (RC_SEND_LAST if i == len(chunks) - 1 else RC_SEND_MIDDLE)
                pkt(d, op, b"", ch, se=se and op == RC_SEND_LAST, ackreq=op == RC_SEND_LAST)
        ack(back, (d.psn - 1) & 0xFFFFFF)

    send(True, smbd_negotiate_request())
    send(False, smbd_negotiate_response(recv=512))
    for up, m in msgs:
        cmd = cmd_of(m)
        if up and len(m) > 512 - SMBD_HDR:
            for frag in smbd_fragments(m, 512):
                send(True, frag)
            continue
        if not up and cmd == 8:
            data = m[0x50:]
            pkt(dn_dir, RC_RDMA_WRITE_ONLY, struct.pack(">QII", 0x7F1200000000, 0x8F3A1C07, len(data)),
                data, ackreq=True)
            ack(up_dir, (dn_dir.psn - 1) & 0xFFFFFF)
            send(False, smbd_data(m, 0))
            continue
        if not up and cmd == 6 and m is msgs[-1][1]:
            send(False, smbd_data(m, 0), inval=0x8F3A1C07)
            continue
        send(up, smbd_data(m, 0), se=not up)
    return frames


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--source", default=os.path.join(HERE, SOURCE),
                    help="the real direct-TCP SMB 3.1.1 capture to take the SMB2 messages from")
    a = ap.parse_args()
    msgs = session(smb2_messages(a.source))
    out = {
        "rdma-iwarp-5445.pcap": iwarp_capture(msgs, 5445, False, b"", False),
        "rdma-iwarp-markers-15445.pcap": iwarp_capture(msgs, 15445, True, b"\x00\x01\x00\x10\x00\x20\x00\x00",
                                                        True),
        "rdma-roce-4791.pcap": roce_capture(msgs),
    }
    for name, frames in out.items():
        wrpcap(os.path.join(a.out, name), frames)
        print("%s: %d frames" % (name, len(frames)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
