#!/usr/bin/python3
"""gen_hostile.py - write hostile captures (pcap, Ethernet) for smbscope's
robustness tests and benchmarks.  Generated at test or bench time, never
committed.

usage: gen_hostile.py CASE OUT.pcap [--scale N]

CASE is one of the names in CASES below.  --scale multiplies the case's
default size (1.0 = the full flood of the benchmark; the meson tests use
small fractions).  Prints "CASE packets bytes" on stdout.

Every capture is well-formed at the capture-file level: what is hostile is
the traffic (floods, lies in length fields, names made of control bytes).
"""
import os
import struct
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapio  # noqa: E402

CLIENT = bytes([10, 0, 0, 2])
SERVER = bytes([10, 0, 0, 1])
MSS = 1448
SYN, ACK, PSH, FIN, RST = 0x02, 0x10, 0x08, 0x01, 0x04

# ---------------------------------------------------------------- messages


def nbss(body, typ=0):
    return struct.pack("!B", typ) + len(body).to_bytes(3, "big") + body


def smb2_hdr(cmd, mid=0, flags=0, next_cmd=0, status=0, session=0, tree=0):
    return (b"\xfeSMB" + struct.pack("<HHIHHIIQIIQ", 64, 1, status, cmd, 1, flags, next_cmd,
                                     mid, 0xFEFF, tree, session) + b"\0" * 16)


def smb2_negotiate_req(dialects, ctx_offset=0, ctx_count=0, contexts=b"", count=None):
    body = struct.pack("<HHHHI16sIHH", 36, len(dialects) if count is None else count, 1, 0, 0x7F,
                       b"G" * 16, ctx_offset, ctx_count, 0)
    body += b"".join(struct.pack("<H", d) for d in dialects)
    return smb2_hdr(0) + body + contexts


def smb2_negotiate_rsp(dialect, ctx_offset=0, ctx_count=0, contexts=b""):
    body = struct.pack("<HHHH16sIIIIQQHHI", 65, 1, dialect, ctx_count, b"S" * 16, 0x2F,
                       1 << 20, 1 << 20, 1 << 20, 0, 0, 128, 0, ctx_offset)
    return smb2_hdr(0, flags=1) + body + contexts


def neg_ctx(ctype, data):
    c = struct.pack("<HHI", ctype, len(data), 0) + data
    return c + b"\0" * (-len(c) % 8)


def der(tag, content):
    n = len(content)
    if n < 0x80:
        ln = bytes([n])
    elif n < 0x100:
        ln = b"\x81" + bytes([n])
    else:
        ln = b"\x82" + struct.pack("!H", n)
    return bytes([tag]) + ln + content


def ntlmssp_auth(user, domain, workstation):
    """NTLMSSP AUTHENTICATE (type 3), UTF-16LE strings, no MIC check."""
    fields = [b"\0" * 24, b"\0" * 24, domain, user, workstation, b""]
    off = 88
    hdr = b"NTLMSSP\0" + struct.pack("<I", 3)
    payload = b""
    for f in fields:
        hdr += struct.pack("<HHI", len(f), len(f), off + len(payload))
        payload += f
    hdr += struct.pack("<I", 0xE2088215) + b"\x0a\x00\x63\x45\x00\x00\x00\x0f" + b"\0" * 16
    return hdr + payload


NTLMSSP_OID = b"\x06\x0a\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a"
SPNEGO_OID = b"\x06\x06\x2b\x06\x01\x05\x05\x02"


def spnego_init(token):
    # GSS InitialContextToken: SPNEGO negTokenInit { mechTypes { NTLMSSP },
    # mechToken OCTET STRING }
    init = der(0x30, der(0xA0, der(0x30, NTLMSSP_OID)) + der(0xA2, der(0x04, token)))
    return der(0x60, SPNEGO_OID + der(0xA0, init))


def smb2_session_setup_req(blob, mid=2, session=0):
    body = struct.pack("<HBBIIHHQ", 25, 0, 1, 1, 0, 64 + 24, len(blob), 0) + blob
    return smb2_hdr(1, mid=mid, session=session) + body


def smb2_tree_connect_req(path_utf16, mid=3, session=1):
    body = struct.pack("<HHHH", 9, 0, 64 + 8, len(path_utf16)) + path_utf16
    return smb2_hdr(3, mid=mid, session=session) + body


def smb2_echo(mid, flags=0, next_cmd=0):
    return smb2_hdr(13, mid=mid, flags=flags, next_cmd=next_cmd) + struct.pack("<HH", 4, 0)


def smb1_negotiate(dialect_strings):
    hdr = b"\xffSMB" + struct.pack("<BIBHH8sHHHHH", 0x72, 0, 0x18, 0xC853, 0, b"\0" * 8, 0, 0xFFFF, 1, 0, 1)
    data = b"".join(b"\x02" + d + b"\0" for d in dialect_strings)
    return hdr + b"\x00" + struct.pack("<H", len(data)) + data


def nb_encode(name16):
    """RFC 1001 first-level encoding of 16 raw bytes (any value)."""
    assert len(name16) == 16
    return b"\x20" + bytes(x for b in name16 for x in (0x41 + (b >> 4), 0x41 + (b & 15))) + b"\0"


def nbss_session_request(called16, calling16):
    return nbss(nb_encode(called16) + nb_encode(calling16), typ=0x81)


def nbns_query(tid, name16):
    return struct.pack("!HHHHHH", tid, 0x0110, 1, 0, 0, 0) + nb_encode(name16) + b"\x00\x20\x00\x01"


def nbns_node_status_rsp(tid, qname16, names):
    rd = bytes([len(names)]) + b"".join(n[:15].ljust(15, b" ") + bytes([n[15] if len(n) > 15 else 0]) + b"\x04\x00"
                                        for n in names) + b"\0" * 46
    return (struct.pack("!HHHHHH", tid, 0x8400, 0, 1, 0, 0) + nb_encode(qname16) +
            struct.pack("!HHIH", 0x21, 1, 0, len(rd)) + rd)


def nbds_direct_group(src16, dst16, user):
    body = nb_encode(src16) + nb_encode(dst16) + user
    return struct.pack("!BBH4sHHH", 0x11, 0x02, 1, CLIENT, 138, len(body), 0) + body


# ---------------------------------------------------------------- transport


class Conv:
    """One TCP connection written into a PcapWriter."""

    def __init__(self, w, cli, cport, srv, sport, t0=1_700_000_000_000_000, isn=(1000, 5000)):
        self.w, self.cli, self.cport, self.srv, self.sport = w, cli, cport, srv, sport
        self.t = t0
        self.seq = [isn[0], isn[1]]

    def pkt(self, d, flags, payload=b"", seq=None):
        self.t += 10
        src, dst = (self.cli, self.srv) if d == 0 else (self.srv, self.cli)
        sp, dp = (self.cport, self.sport) if d == 0 else (self.sport, self.cport)
        s = self.seq[d] if seq is None else seq
        self.w.add(self.t, pcapio.eth_tcp(src, dst, sp, dp, s, self.seq[1 - d], flags | (ACK if flags != SYN else 0),
                                          payload))

    def handshake(self):
        self.pkt(0, SYN)
        self.seq[0] += 1
        self.pkt(1, SYN | ACK)
        self.seq[1] += 1
        self.pkt(0, ACK)

    def send(self, d, data):
        for i in range(0, len(data), MSS):
            chunk = data[i:i + MSS]
            self.pkt(d, PSH, chunk)
            self.seq[d] += len(chunk)

    def close(self):
        self.pkt(0, FIN)
        self.seq[0] += 1
        self.pkt(1, FIN)
        self.seq[1] += 1
        self.pkt(0, 0)


def udp_pkt(w, t, src, dst, sp, dp, payload):
    w.add(t, pcapio.eth_udp(src, dst, sp, dp, payload))


# ---------------------------------------------------------------- cases

def case_syn_flood(w, scale, every139=16):
    """SYNs to distinct (address, port) pairs: a port scan over every port,
    many hosts, and 1 in 16 to TCP 139 from a distinct source (a NetBIOS
    attempt each)."""
    n = int(1_000_000 * scale)
    t = 1_700_000_000_000_000
    tmpl = bytearray(pcapio.eth_tcp(CLIENT, SERVER, 40000, 445, 1, 0, SYN))
    for i in range(n):
        f = bytearray(tmpl)
        if i % every139 == 0:
            j = i // every139
            src = bytes([10, 1 + (j >> 16) % 200, (j >> 8) & 255, j & 255])
            dst, dport = SERVER, 139
        else:
            src = CLIENT
            dst = bytes([10, 200, (i >> 16) & 255, 1 + (i // 65535) % 254])
            dport = 1 + i % 65535
        f[14 + 12:14 + 16] = src
        f[14 + 16:14 + 20] = dst
        f[14 + 10:14 + 12] = b"\0\0"
        f[14 + 10:14 + 12] = struct.pack("!H", pcapio.csum(bytes(f[14:34])))
        struct.pack_into("!HHI", f, 34, 1024 + (i & 0xFFF), dport, (i * 7919) & 0xFFFFFFFF)
        t += 1
        w.add(t, bytes(f))


def case_syn_flood_139(w, scale):
    """1,000,000 SYNs to TCP 139, each from a distinct source: a NetBIOS
    attempt each, nothing answered (the NetBIOS ledger must stay bounded)."""
    case_syn_flood(w, scale, every139=1)


def case_conns_100k(w, scale):
    """100,000 SMB connections open at once: handshake, NEGOTIATE request and
    response, never closed (the flow table and session model must cap)."""
    n = int(100_000 * scale)
    req = nbss(smb2_negotiate_req([0x202, 0x210, 0x300, 0x302]))
    rsp = nbss(smb2_negotiate_rsp(0x302))
    t = 1_700_000_000_000_000
    for i in range(n):
        cli = bytes([10, 2 + (i >> 16), (i >> 8) & 255, 1 + (i & 255) % 254])
        c = Conv(w, cli, 1024 + i % 60000, SERVER, 445, t0=t + i * 100)
        c.handshake()
        c.send(0, req)
        c.send(1, rsp)


def case_missing_first(w, scale):
    """One SMB connection whose first data segment never arrives, followed
    by 1 GiB of data: every later byte is out of order for ever."""
    total = int((1 << 30) * scale)
    c = Conv(w, CLIENT, 50000, SERVER, 445)
    c.handshake()
    c.send(0, nbss(smb2_negotiate_req([0x202, 0x311])))
    c.send(1, nbss(smb2_negotiate_rsp(0x311)))
    c.seq[0] += MSS  # the lost segment
    # WRITE-like traffic: NBSS headers every 64 KiB inside the stream
    block = nbss(smb2_hdr(9, mid=7) + b"\x31\x00" + b"\xAB" * (65536 - 4 - 66))
    data = block * 2  # any MSS-long window starting inside the first block
    tmpl = bytearray(pcapio.eth_tcp(CLIENT, SERVER, 50000, 445, 0, c.seq[1], PSH | ACK, b"\0" * MSS))
    sent = 0
    t = c.t
    pos = 0
    while sent < total:
        f = bytearray(tmpl)
        struct.pack_into("!I", f, 38, c.seq[0] & 0xFFFFFFFF)
        f[54:] = data[pos:pos + MSS]
        pos = (pos + MSS) % len(block)
        t += 5
        w.add(t, bytes(f))
        c.seq[0] += MSS
        sent += MSS


def case_overlap_storm(w, scale):
    """Overlapping retransmissions with conflicting bytes, in and out of
    order, over a few connections."""
    n = int(200_000 * scale)
    for k in range(4):
        c = Conv(w, CLIENT, 51000 + k, SERVER, 445)
        c.handshake()
        c.send(0, nbss(smb2_negotiate_req([0x202, 0x302])))
        c.send(1, nbss(smb2_negotiate_rsp(0x302)))
        base = c.seq[0]
        span = 1 << 16
        for i in range(n // 4):
            # segments start anywhere in a 64 KiB window, overlap each other,
            # and carry different bytes each time
            off = (i * 7331) % span
            ln = 1 + (i * 613) % MSS
            fill = bytes([(i * 31 + k) & 255]) * ln
            if i % 5 == 0:
                fill = nbss(b"\xfeSMB" + b"\xff" * 60)[:ln]
            c.pkt(0, PSH, fill, seq=base + off)
        c.seq[0] = base + span
        c.close()


def case_nbss_16m(w, scale):
    """NBSS / direct-TCP length fields claiming 16 MiB (0xFFFFFF, the
    largest a 24-bit field holds), on 445 and 139, with little data after."""
    n = max(1, int(2000 * scale))
    for i in range(n):
        port = (445, 139, 8445)[i % 3]
        c = Conv(w, bytes([10, 3, i >> 8 & 255, 1 + i % 250]), 20000 + i, SERVER, port)
        c.handshake()
        if port == 139:
            c.send(0, nbss_session_request(b"SERVER".ljust(15, b" ") + b"\x20", b"CLIENT".ljust(15, b" ") + b"\0"))
            c.send(1, b"\x82\0\0\0")
        hdr = b"\x00\xff\xff\xff"
        c.send(0, hdr + smb2_negotiate_req([0x202, 0x311]) + b"\x5a" * (i % 3000))
        c.send(1, b"\x00\xff\xff\xff" + smb2_negotiate_rsp(0x311))
        if i % 4 == 0:  # extended NBSS length bit (type 0x00, flags 0x01)
            c.send(0, b"\x00\x01\xff\xff" + b"\xfeSMB")
        c.close()


def case_negotiate_65535(w, scale):
    """SMB2 NEGOTIATE requests with 65,535 dialects, and negotiate-context
    lists whose offsets and counts point backwards, past the end, or wrap."""
    dialects = [0x202 + (i % 0x110) for i in range(65535)]
    req = smb2_negotiate_req(dialects)
    variants = [
        nbss(req),
        # count 65535, no dialects present at all
        nbss(smb2_negotiate_req([], count=65535)),
        # contexts: offset into the SMB2 header itself (the list "loops"
        # over bytes already parsed), 65535 of them
        nbss(smb2_negotiate_req([0x311], ctx_offset=0, ctx_count=65535)),
        # offset 0xFFFFFFF8 (wraps a 32-bit offset+8), count 65535
        nbss(smb2_negotiate_req([0x311], ctx_offset=0xFFFFFFF8, ctx_count=65535)),
        # one context whose DataLength (65535) runs past the message
        nbss(smb2_negotiate_req([0x311], ctx_offset=112, ctx_count=3,
                                contexts=struct.pack("<HHI", 1, 0xFFFF, 0) + b"\x01\x00" * 8)),
        # 65535 empty contexts of type preauth, exactly present
        nbss(smb2_negotiate_req([0x311], ctx_offset=112, ctx_count=65535,
                                contexts=neg_ctx(2, b"") * 65535)),
        # the context list overlaps the dialect array
        nbss(smb2_negotiate_req([0x311, 0x0001, 0x0008, 0x0002] * 16, ctx_offset=100, ctx_count=40)),
    ]
    rsp_variants = [
        nbss(smb2_negotiate_rsp(0x311, ctx_offset=0, ctx_count=65535)),
        nbss(smb2_negotiate_rsp(0x311, ctx_offset=0xFFFFFFF8, ctx_count=65535)),
        nbss(smb2_negotiate_rsp(0x311, ctx_offset=128, ctx_count=65535, contexts=neg_ctx(3, b"\x01\x00" * 3) * 5000)),
        nbss(smb2_negotiate_rsp(0xFFFF)),
    ]
    reps = max(1, int(40 * scale))
    k = 0
    for r in range(reps):
        for v in variants:
            c = Conv(w, bytes([10, 4, k >> 8 & 255, 1 + k % 250]), 30000 + k % 30000, SERVER, 445)
            k += 1
            c.handshake()
            c.send(0, v)
            c.send(1, rsp_variants[k % len(rsp_variants)])
            c.close()


def case_compound_deep(w, scale):
    """Compound chains: thousands of related requests in one message, a
    NextCommand that points outside the message, misaligned, or barely
    forward (1 byte)."""
    depth = int(20_000 * scale) or 1
    one = smb2_echo(0, flags=4, next_cmd=72)
    chain = b"".join(smb2_echo(i, flags=4 if i else 0, next_cmd=72) for i in range(depth - 1)) + smb2_echo(depth)
    variants = [
        nbss(chain),
        nbss(smb2_echo(1, next_cmd=0xFFFFFFF8) + one),
        nbss(smb2_echo(1, next_cmd=1) + one * 4),
        nbss(smb2_echo(1, next_cmd=68) + one * 4),
        nbss(smb2_echo(1, next_cmd=8) + b"\xfeSMB" * 4000),
        nbss((smb2_echo(1, next_cmd=72) + b"\x00" * 4) * 2000),
    ]
    for k, v in enumerate(variants * max(1, int(10 * scale))):
        c = Conv(w, bytes([10, 5, 0, 1 + k % 250]), 31000 + k, SERVER, 445)
        c.handshake()
        c.send(0, nbss(smb2_negotiate_req([0x202, 0x311])))
        c.send(1, nbss(smb2_negotiate_rsp(0x311)))
        c.send(0, v)
        c.send(1, v)
        c.close()


ESCAPES = [b"\x1b[2J\x1b[H", b"\x1b]0;owned\x07", b"\x1b[31mRED", b"\x07\x08\x7f\x00\x9b",
           b"\r\n\tX", b"\x1bP+q\x1b\\", b"\xc2\x9b1m\xe2\x80\xae"]


def esc16(i):
    e = ESCAPES[i % len(ESCAPES)]
    return (e + b"\x1b" * 16)[:15] + bytes([0x20 if i & 1 else 0x1b])


def case_control_names(w, scale):
    """NetBIOS names, SMB1 dialect strings, NTLM user/domain/workstation and
    tree paths made of control bytes and terminal escape sequences."""
    reps = max(1, int(200 * scale))
    t = 1_700_000_000_000_000
    for i in range(reps):
        t += 1000
        udp_pkt(w, t, CLIENT, bytes([10, 0, 0, 255]), 137, 137, nbns_query(i, esc16(i)))
        udp_pkt(w, t + 1, SERVER, CLIENT, 137, 137,
                nbns_node_status_rsp(i, esc16(i + 1), [esc16(i + 2), esc16(i + 3), b"\x1b[1;1H\x1b[J" + b"\x1b" * 8]))
        udp_pkt(w, t + 2, CLIENT, bytes([10, 0, 0, 255]), 138, 138,
                nbds_direct_group(esc16(i + 4), esc16(i + 5), b"\xffSMB\x25" + ESCAPES[i % len(ESCAPES)] * 4))
        cport = 40000 + i
        c = Conv(w, CLIENT, cport, SERVER, 139, t0=t + 10)
        c.handshake()
        c.send(0, nbss_session_request(esc16(i + 6), esc16(i + 7)))
        c.send(1, b"\x82\0\0\0")
        c.send(0, nbss(smb1_negotiate([b"NT LM 0.12", ESCAPES[i % len(ESCAPES)].replace(b"\0", b"@"), b"SMB 2.002"])))
        c.send(1, nbss(smb2_negotiate_rsp(0x2FF)))
        c.send(0, nbss(smb2_negotiate_req([0x202, 0x210, 0x300])))
        c.send(1, nbss(smb2_negotiate_rsp(0x300)))
        u16 = lambda b: b.decode("latin-1").encode("utf-16-le")  # noqa: E731
        e = ESCAPES[i % len(ESCAPES)]
        blob = spnego_init(ntlmssp_auth(u16(b"user" + e), u16(e + b"DOM"), u16(b"\x1b[8m" + e)))
        c.send(0, nbss(smb2_session_setup_req(blob)))
        c.send(1, nbss(smb2_hdr(1, mid=2, flags=1, session=1) + struct.pack("<HHHH", 9, 0, 72, 0)))
        c.send(0, nbss(smb2_tree_connect_req(u16(b"\\\\srv" + e + b"\\share" + e))))
        c.send(1, nbss(smb2_hdr(3, mid=3, flags=1, session=1, tree=1) + struct.pack("<HBBIII", 16, 1, 0, 0, 0, 0x1F01FF)))
        c.close()


def case_frag_flood(w, scale):
    """IPv4 fragments: 500,000 first fragments of UDP 137 datagrams that
    never complete (distinct ids), and overlapping fragments with
    conflicting bytes that do complete."""
    n = int(500_000 * scale)
    t = 1_700_000_000_000_000
    q = pcapio.udp(137, 137, nbns_query(1, b"FRAG".ljust(15, b" ") + b"\0") + b"\0" * 64)
    for i in range(n):
        t += 1
        ident = i & 0xFFFF
        src = bytes([10, 6, (i >> 16) & 255, 1 + (i >> 8) % 250])
        if i % 8:
            # first fragment only: 24 bytes, more fragments
            hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 24, ident, 0x2000, 64, 17, 0, src, SERVER)
            w.add(t, pcapio.ETH_V4 + hdr + q[:24])
        else:
            # three overlapping pieces, the middle one disagreeing
            for off8, chunk, mf in ((0, q[:32], 1), (2, b"\xee" * 32, 1), (3, q[24:], 0)):
                hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(chunk), ident, (mf << 13) | off8, 64, 17, 0,
                                  src, SERVER)
                w.add(t, pcapio.ETH_V4 + hdr + chunk)


def case_iwarp_open(w, scale, body=60_000):
    """4,500 SMB Direct over iWARP connections (TCP 5445), each left inside an
    FPDU: handshake, MPA request and reply (CRC32c, no markers), then one FPDU
    whose ULPDU length says 65,000 octets, of which `body` are sent and the
    rest never comes.  Every one is a message open at once: the iWARP
    reassembly buffers must stay under their total budget (finding 12 of the
    hostile-input review: 4,500 of them took 302 MiB)."""
    n = int(4500 * scale)
    req = b"MPA ID Req Frame" + bytes([0x40, 1]) + struct.pack("!H", 0)
    rep = b"MPA ID Rep Frame" + bytes([0x40, 1]) + struct.pack("!H", 0)
    data = struct.pack("!H", 65000) + b"\x41" * body
    t = 1_700_000_000_000_000
    for i in range(n):
        cli = bytes([10, 3 + (i >> 16), (i >> 8) & 255, 1 + (i & 255) % 254])
        c = Conv(w, cli, 1024 + i % 60000, SERVER, 5445, t0=t + i * 1000)
        c.handshake()
        c.send(0, req)
        c.send(1, rep)
        c.send(0, data)


def _crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


CRC32C = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def fpdu(ulpdu):
    """An MPA FPDU (RFC 5044, CRC32c on, no markers): the CRC packed
    little-endian, as tshark checks it."""
    body = struct.pack("!H", len(ulpdu)) + ulpdu
    body += b"\0" * (-len(body) % 4)
    return body + struct.pack("<I", crc32c(body))


def case_iwarp_sends(w, scale, seg=1400, segs=44):
    """4,500 SMB Direct over iWARP connections (TCP 5445), each with a Send in
    several DDP segments that never ends: after the MPA startup, `segs` whole
    FPDUs, each an untagged DDP Send segment of `seg` octets (MSN 1, MO
    counting up, never the last).  Every Send's buffer grows to 64 KiB: the
    budget holds 256 of them at once."""
    n = int(4500 * scale)
    req = b"MPA ID Req Frame" + bytes([0x40, 1]) + struct.pack("!H", 0)
    rep = b"MPA ID Rep Frame" + bytes([0x40, 1]) + struct.pack("!H", 0)
    payload = b"\x42" * seg
    fpdus = [fpdu(struct.pack("!BBIIII", 0x01, 0x43, 0, 0, 1, k * seg) + payload) for k in range(segs)]
    t = 1_700_000_000_000_000
    for i in range(n):
        cli = bytes([10, 3 + (i >> 16), (i >> 8) & 255, 1 + (i & 255) % 254])
        c = Conv(w, cli, 1024 + i % 60000, SERVER, 5445, t0=t + i * 1000)
        c.handshake()
        c.send(0, req)
        c.send(1, rep)
        for f in fpdus:
            c.send(0, f)


def case_iwarp_smbd(w, scale, first=1000, rest=60_000):
    """4,500 SMB Direct over iWARP connections (TCP 5445), each in the middle
    of an SMB2 message in SMBD pieces: after the MPA startup and the SMBD
    negotiate, one data transfer message with `first` octets of an SMB2
    message and RemainingDataLength `rest`, then nothing.  Each needs a
    reassembly buffer of the message's size (61,000 octets): the budget holds
    275 of them at once."""
    n = int(4500 * scale)
    req = b"MPA ID Req Frame" + bytes([0x40, 1]) + struct.pack("!H", 0)
    rep = b"MPA ID Rep Frame" + bytes([0x40, 1]) + struct.pack("!H", 0)

    def send(msn, smbd):  # a whole Send (DDP: untagged, last, DV 1; RDMAP Send)
        return fpdu(struct.pack("!BBIIII", 0x41, 0x43, 0, 0, msn, 0) + smbd)

    neg_req = send(1, struct.pack("<HHHHIII", 0x0100, 0x0100, 0, 255, 1364, 8192, 1048576))
    neg_rsp = send(1, struct.pack("<HHHHHHIIIII", 0x0100, 0x0100, 0x0100, 0, 255, 255, 0, 1048576, 1364, 8192,
                                  1048576))
    piece = smb2_hdr(9) + b"\x43" * (first - 64)
    data = send(2, struct.pack("<HHHHIII", 10, 10, 0, 0, rest, 24, len(piece)) + b"\0" * 4 + piece)
    t = 1_700_000_000_000_000
    for i in range(n):
        cli = bytes([10, 3 + (i >> 16), (i >> 8) & 255, 1 + (i & 255) % 254])
        c = Conv(w, cli, 1024 + i % 60000, SERVER, 5445, t0=t + i * 1000)
        c.handshake()
        c.send(0, req)
        c.send(1, rep)
        c.send(0, neg_req)
        c.send(1, neg_rsp)
        c.send(0, data)


def case_roce_pairs(w, scale):
    """20,000 RoCEv2 queue-pair pairs (UDP 4791): a SEND Only (16 octets, not
    SMBD) from each of 20,000 hosts to one server first, then the server's
    answer to each, oldest first.  Every first direction is a new pair
    waiting for its reverse: the plugin once scanned all those waiting for
    each new one (finding 10 of the hostile-input review: 5.6 s in tshark).
    Every ICRC is right (IBA A17.4.1, as tests/e2e/rdma_read.py makes it)."""
    n = int(20_000 * scale)
    t = 1_700_000_000_000_000

    def send(src, dst, qp):
        bth = struct.pack("!BBHI", 0x04, 0, 0xFFFF, qp) + struct.pack("!I", 1)
        frame = bytearray(pcapio.eth_udp(src, dst, 49152, 4791, bth + b"\x01" * 16 + b"\0\0\0\0"))
        masked = bytearray(frame[14:])
        masked[1] = masked[8] = 0xFF                       # TOS, TTL
        masked[10:12] = masked[26:28] = b"\xff\xff"        # IPv4 and UDP checksums
        masked[32] = 0xFF                                  # the BTH's FECN/BECN/reserved octet
        frame[-4:] = struct.pack("<I", zlib.crc32(b"\xff" * 8 + bytes(masked[:-4])) & 0xFFFFFFFF)
        w.add(t, bytes(frame))

    hosts = [bytes([11, 1 + (i >> 16), (i >> 8) & 255, i & 255]) for i in range(n)]
    for h in hosts:
        send(h, SERVER, 0x11)
        t += 10
    for h in hosts:
        send(SERVER, h, 0x22)
        t += 10


CASES = {
    "syn-flood": case_syn_flood,
    "syn-flood-139": case_syn_flood_139,
    "conns-100k": case_conns_100k,
    "missing-first-1g": case_missing_first,
    "overlap-storm": case_overlap_storm,
    "nbss-16m": case_nbss_16m,
    "negotiate-65535": case_negotiate_65535,
    "compound-deep": case_compound_deep,
    "control-names": case_control_names,
    "frag-flood": case_frag_flood,
    "iwarp-open": case_iwarp_open,
    "iwarp-sends": case_iwarp_sends,
    "iwarp-smbd": case_iwarp_smbd,
    "roce-pairs": case_roce_pairs,
}


def main():
    args = sys.argv[1:]
    scale = 1.0
    if "--scale" in args:
        i = args.index("--scale")
        scale = float(args[i + 1])
        del args[i:i + 2]
    if len(args) != 2 or args[0] not in CASES:
        sys.stderr.write("usage: gen_hostile.py CASE OUT.pcap [--scale N]\ncases: %s\n" % " ".join(CASES))
        return 2
    with open(args[1], "wb") as f:
        w = pcapio.PcapWriter(f)
        CASES[args[0]](w, scale)
        w.flush()
        size = f.tell()
    print(args[0], w.count, size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
