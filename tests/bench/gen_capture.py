#!/usr/bin/python3
"""gen_capture.py - build a large benchmark capture from the real samples.

Every TCP connection, NetBIOS exchange and ICMP error of the Ethernet samples
in samples/*.pcap is a template; the generator replays templates over and
over, each replica with its own addresses and client ports (so every replica
is a connection of its own), merged over a number of concurrent "lanes" so
the file holds many connections at once, with monotonic timestamps.  Some
non-SMB background is synthesised too: HTTPS-like and HTTP-like bulk TCP
transfers (payload that can never look like NBSS), and DNS/NTP/syslog UDP.

The mix is fixed by bytes (see MIX below) and cycles deterministically, so a
2 GiB file is statistically two 1 GiB files: run time must scale linearly.

Checksums: IPv4 header, TCP and UDP checksums are updated incrementally
(RFC 1624) for the rewritten addresses and ports, so a checksum valid in the
sample stays valid (one left partial by checksum offload stays as it was).
ICMP/ICMPv6 checksums are recomputed (their quoted headers are rewritten).

Speed: each template packet is pre-split into a small header (patched per
replica) and a payload (written as is), so 1 GiB takes a few seconds.

usage: gen_capture.py [--samples DIR] [--lanes N] [--seed N] [--quic-share Q] SIZE OUT
  SIZE: bytes, or with a suffix K/M/G (binary: 0.25G = 256 MiB)
       gen_capture.py --many N [--overlap N] [--clients N] [--servers N] OUT
  N short negotiate-only SMB 3.1.1 connections replicated from one real
  connection of samples/ (many_conns.py says how it is cut and replicated)
"""

import argparse
import array
import heapq
import os
import random
import struct
import sys

LINKTYPE_ETHERNET = 1
SNAPLEN = 262144

# Share of the output bytes per template class.  Bulk SMB transfers dominate
# real file-server captures; the rest keeps every code path busy.
MIX = [
    ("smb-bulk", 0.62),      # smb445-bulk*.pcap: large reads/writes (one reordered)
    ("smb-session", 0.14),   # every other SMB sample: dialects, NBT 139, encryption, signing
    ("netbios", 0.01),       # NBNS/NBDS/refused/unanswered NetBIOS
    ("bg-tcp", 0.20),        # non-SMB TCP bulk (HTTPS-like, HTTP-like)
    ("bg-udp", 0.03),        # DNS, NTP, syslog
]

# Ports that name a service: never rewritten.  Everything else >= 1024 is a
# client's ephemeral port and gets a new value per replica.
SERVICE_PORTS = {53, 80, 123, 137, 138, 139, 443, 445, 514, 8445}


def parse_size(text):
    mult = 1
    if text[-1] in "kKmMgG":
        mult = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[text[-1].lower()]
        text = text[:-1]
    return int(float(text) * mult)


# ---------------------------------------------------------------- checksums

def onesum(data):
    """Ones-complement sum (not complemented) of data, as an int < 65536."""
    if len(data) & 1:
        data = bytes(data) + b"\0"
    words = array.array("H", bytes(data))
    if sys.byteorder == "little":
        words.byteswap()
    s = sum(words)
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def checksum(data):
    return (~onesum(data)) & 0xFFFF


def adjust(ck, delta):
    """RFC 1624: checksum ck after the covered words' sum changed by delta."""
    s = ((~ck) & 0xFFFF) + delta
    s %= 0xFFFF
    return (~s) & 0xFFFF


def wsum(b):
    """Sum of the 16-bit big-endian words of a short byte string."""
    return sum(struct.unpack("!%dH" % (len(b) // 2), b))


# ---------------------------------------------------------------- reading

def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return None, []
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return None, []  # pcapng or compressed: not a template source
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
    pkts = []
    off = 24
    while off + 16 <= len(data):
        sec, frac, caplen, wirelen = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        if off + caplen > len(data):
            break
        us = frac // 1000 if nano else frac
        pkts.append((sec * 1000000 + us, wirelen, data[off:off + caplen]))
        off += caplen
    return linktype, pkts


# ---------------------------------------------------------------- templates

class TPacket:
    """One packet of a template: a header to patch and a payload to copy."""
    __slots__ = ("rel_us", "wirelen", "head", "tail", "kind", "ip_off", "v6",
                 "l4_off", "src", "dst", "sport", "dport", "ck_off")


class Template:
    def __init__(self, name, cls):
        self.name = name
        self.cls = cls
        self.packets = []
        self.addrs = []        # original addresses (bytes), index = address id
        self.nbytes = 0        # bytes this template adds to a pcap file

    def addr_id(self, a):
        try:
            return self.addrs.index(a)
        except ValueError:
            self.addrs.append(a)
            return len(self.addrs) - 1


def keep_addr(a):
    """Broadcast/multicast/unspecified addresses stay as they are."""
    if len(a) == 4:
        return a[3] == 255 or a[0] >= 224 or a == b"\0\0\0\0"
    return a[0] == 0xFF or a == bytes(16)


def make_template(name, cls, pkts):
    """pkts: [(ts_us, wirelen, frame bytes)] of one template, Ethernet."""
    t = Template(name, cls)
    t0 = pkts[0][0]
    for ts, wirelen, frame in pkts:
        p = TPacket()
        p.rel_us = ts - t0
        p.wirelen = wirelen
        p.kind = "raw"
        p.head, p.tail = frame, b""
        p.ip_off = p.l4_off = p.ck_off = None
        p.v6 = False
        p.src = p.dst = None
        p.sport = p.dport = None
        ethertype = struct.unpack("!H", frame[12:14])[0] if len(frame) >= 14 else 0
        ip = 14
        if ethertype == 0x0800 and len(frame) >= ip + 20:
            ihl = (frame[ip] & 0x0F) * 4
            proto = frame[ip + 9]
            fragoff = struct.unpack("!H", frame[ip + 6:ip + 8])[0] & 0x1FFF
            l4 = ip + ihl
            p.ip_off, p.v6 = ip, False
            p.src = t.addr_id(frame[ip + 12:ip + 16])
            p.dst = t.addr_id(frame[ip + 16:ip + 20])
            p.kind = "ip"
        elif ethertype == 0x86DD and len(frame) >= ip + 40:
            proto = frame[ip + 6]
            l4 = ip + 40
            fragoff = 0
            p.ip_off, p.v6 = ip, True
            p.src = t.addr_id(frame[ip + 8:ip + 24])
            p.dst = t.addr_id(frame[ip + 24:ip + 40])
            p.kind = "ip"
        else:
            proto = None
        if p.kind == "ip" and fragoff == 0:
            if proto == 6 and len(frame) >= l4 + 20:
                doff = (frame[l4 + 12] >> 4) * 4
                p.kind, p.l4_off, p.ck_off = "tcp", l4, l4 + 16
                p.sport, p.dport = struct.unpack("!HH", frame[l4:l4 + 4])
                cut = min(len(frame), l4 + doff)
                p.head, p.tail = frame[:cut], frame[cut:]
            elif proto == 17 and len(frame) >= l4 + 8:
                p.kind, p.l4_off, p.ck_off = "udp", l4, l4 + 6
                p.sport, p.dport = struct.unpack("!HH", frame[l4:l4 + 4])
                p.head, p.tail = frame[:l4 + 8], frame[l4 + 8:]
            elif proto in (1, 58):
                p.kind, p.l4_off = "icmp", l4
        t.packets.append(p)
        t.nbytes += 16 + len(frame)
    return t


def split_by_connection(name, cls, pkts):
    """Templates of one sample file: one per TCP connection, one for all the
    rest (UDP, ICMP, ...) so NetBIOS exchanges and their ICMP errors stay
    together."""
    conns = {}
    other = []
    for rec in pkts:
        frame = rec[2]
        key = None
        if len(frame) >= 14:
            et = struct.unpack("!H", frame[12:14])[0]
            if et == 0x0800 and len(frame) >= 34 and frame[23] == 6:
                ihl = (frame[14] & 0x0F) * 4
                l4 = 14 + ihl
                if len(frame) >= l4 + 4:
                    a = (frame[26:30], frame[l4:l4 + 2])
                    b = (frame[30:34], frame[l4 + 2:l4 + 4])
                    key = (min(a, b), max(a, b))
            elif et == 0x86DD and len(frame) >= 58 and frame[20] == 6:
                a = (frame[22:38], frame[54:56])
                b = (frame[38:54], frame[56:58])
                key = (min(a, b), max(a, b))
        if key is None:
            other.append(rec)
        else:
            conns.setdefault(key, []).append(rec)
    out = []
    for i, recs in enumerate(conns.values()):
        out.append(make_template("%s#tcp%d" % (name, i), cls, recs))
    if other:
        out.append(make_template("%s#other" % name, cls, other))
    return out


# ---------------------------------------------------------------- synthesis

MAC_C = bytes.fromhex("020000000001")
MAC_S = bytes.fromhex("020000000002")


def ipv4_frame(src, dst, proto, l4):
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0x4000, 64, proto, 0, src, dst))
    struct.pack_into("!H", ip, 10, checksum(ip))
    return MAC_S + MAC_C + b"\x08\x00" + bytes(ip) + l4


def tcp_seg(src, dst, sport, dport, seq, ack, flags, payload):
    hdr = bytearray(struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0))
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(hdr) + len(payload))
    struct.pack_into("!H", hdr, 16, checksum(pseudo + hdr + payload))
    return ipv4_frame(src, dst, 6, bytes(hdr) + payload)


def udp_dgram(src, dst, sport, dport, payload):
    hdr = bytearray(struct.pack("!HHHH", sport, dport, 8 + len(payload), 0))
    pseudo = src + dst + struct.pack("!BBH", 0, 17, len(hdr) + len(payload))
    struct.pack_into("!H", hdr, 6, checksum(pseudo + hdr + payload) or 0xFFFF)
    return ipv4_frame(src, dst, 17, bytes(hdr) + payload)


def synth_tcp(rng, sport, dport, request, response_len, first_bytes):
    """A client request then a server response of response_len bytes in
    1448-byte segments, ACKed every second segment; FIN both ways."""
    c, s = bytes([192, 0, 2, 10]), bytes([192, 0, 2, 20])
    body = bytes(rng.getrandbits(8) for _ in range(1448))
    pk = []
    ts = 0
    cs, ss = 1000, 5000

    def add(frame, dt=20):
        nonlocal ts
        ts += dt
        pk.append((ts, len(frame), frame))

    F, S, R, P, A = 0x01, 0x02, 0x04, 0x08, 0x10
    add(tcp_seg(c, s, sport, dport, cs, 0, S, b""))
    add(tcp_seg(s, c, dport, sport, ss, cs + 1, S | A, b""))
    cs += 1
    ss += 1
    add(tcp_seg(c, s, sport, dport, cs, ss, A, b""))
    add(tcp_seg(c, s, sport, dport, cs, ss, P | A, request))
    cs += len(request)
    sent = 0
    n = 0
    while sent < response_len:
        chunk = body[:min(1448, response_len - sent)]
        if sent == 0:
            chunk = first_bytes + chunk[len(first_bytes):]
        add(tcp_seg(s, c, dport, sport, ss, cs, A, chunk), 5)
        ss += len(chunk)
        sent += len(chunk)
        n += 1
        if n % 2 == 0:
            add(tcp_seg(c, s, sport, dport, cs, ss, A, b""), 2)
    add(tcp_seg(s, c, dport, sport, ss, cs, F | A, b""))
    add(tcp_seg(c, s, sport, dport, cs, ss + 1, F | A, b""))
    add(tcp_seg(s, c, dport, sport, ss + 1, cs + 1, A, b""))
    return pk


def synth_background(rng):
    tls_hello = b"\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03" + bytes(rng.getrandbits(8) for _ in range(197))
    http_get = (b"GET /files/archive.bin HTTP/1.1\r\nHost: mirror.example\r\n"
                b"User-Agent: bench\r\nAccept: */*\r\n\r\n")
    tpls = [
        make_template("bg-https", "bg-tcp",
                      synth_tcp(rng, 40000, 443, tls_hello, 512 * 1024, b"\x17\x03\x03\x40\x00")),
        make_template("bg-http", "bg-tcp",
                      synth_tcp(rng, 40001, 80, http_get, 256 * 1024,
                                b"HTTP/1.1 200 OK\r\nContent-Length: 262000\r\n\r\n")),
    ]
    c, s = bytes([192, 0, 2, 10]), bytes([192, 0, 2, 53])
    udp = []
    ts = 0
    for i in range(40):
        q = struct.pack("!HHHHHH", 0x1000 + i, 0x0100, 1, 0, 0, 0) + b"\x04host\x07example\x00\x00\x01\x00\x01"
        r = struct.pack("!HHHHHH", 0x1000 + i, 0x8180, 1, 1, 0, 0) + q[12:] + \
            b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04\xc0\x00\x02\x63"
        ts += 300
        udp.append((ts, 0, udp_dgram(c, s, 33000 + i, 53, q)))
        ts += 150
        udp.append((ts, 0, udp_dgram(s, c, 53, 33000 + i, r)))
        ts += 100
        ntp = b"\x23" + bytes(47)
        udp.append((ts, 0, udp_dgram(c, bytes([192, 0, 2, 123]), 123, 123, ntp)))
        ts += 100
        msg = b"<134>bench: an ordinary syslog line that is not SMB at all, number %d" % i
        udp.append((ts, 0, udp_dgram(c, bytes([192, 0, 2, 14]), 514, 514, msg)))
    udp = [(a, len(f), f) for a, _, f in udp]
    tpls.append(make_template("bg-udp", "bg-udp", udp))
    return tpls


# ---------------------------------------------------------------- replicas

def classify_sample(name):
    if name.startswith("quic"):
        return "quic"        # SMB over QUIC and other QUIC (gen-quic.sh): UDP only
    if "bulk" in name:
        return "smb-bulk"
    if name.startswith(("nbns-", "nbdgm-", "netbios-")):
        return "netbios"
    return "smb-session"


def load_templates(samples_dir, rng, with_quic=False):
    tpls = []
    for fn in sorted(os.listdir(samples_dir)):
        if not fn.endswith(".pcap"):
            continue
        linktype, pkts = read_pcap(os.path.join(samples_dir, fn))
        if linktype != LINKTYPE_ETHERNET or not pkts:
            continue  # SLL/SLL2 samples: the output is one Ethernet capture
        cls = classify_sample(fn)
        if cls == "quic" and not with_quic:
            continue  # without --quic-share the mix is exactly what it always was
        for t in split_by_connection(fn[:-5], cls, pkts):
            # A template's TCP/UDP part alone decides its class: a UDP-only
            # remainder of an SMB sample (NBNS lookups) is NetBIOS traffic.
            if t.name.endswith("#other") and cls not in ("netbios", "quic"):
                t.cls = "netbios"
            tpls.append(t)
    tpls.extend(synth_background(rng))
    return tpls


class Replicator:
    """Patches a template's packets for replica number r."""

    def __init__(self):
        self.counter = 0

    def new_addr(self, orig, aid, r):
        if keep_addr(orig):
            return orig
        # 19 bits of replica number, 3 bits of host index within the
        # template; the last byte stays in 1..64 (never .0 or .255)
        v = ((r & 0x7FFFF) << 3) | (aid & 7)
        a, b, c = (v >> 14) & 0xFF, (v >> 6) & 0xFF, (v & 0x3F) + 1
        if len(orig) == 4:
            return bytes([10, a, b, c])
        return orig[:10] + bytes([0, 0x10, 0, a, b, c])

    def replay(self, t, r):
        """Yield (rel_us, wirelen, [chunks]) of template t as replica r."""
        new = [self.new_addr(a, i, r) for i, a in enumerate(t.addrs)]
        adelta = [wsum(n) - wsum(o) for n, o in zip(new, t.addrs)]
        shift = (r * 7919) % 55536

        def port(p):
            if p < 1024 or p in SERVICE_PORTS:
                return p
            return 10000 + (p - 10000 + shift) % 55536 if p >= 10000 else 10000 + (p + shift) % 55536

        for p in t.packets:
            kind = p.kind
            if kind == "raw":
                yield p.rel_us, p.wirelen, (p.head,)
                continue
            h = bytearray(p.head)
            io = p.ip_off
            s_new, d_new = new[p.src], new[p.dst]
            ad = adelta[p.src] + adelta[p.dst]
            if p.v6:
                h[io + 8:io + 24] = s_new
                h[io + 24:io + 40] = d_new
            else:
                h[io + 12:io + 16] = s_new
                h[io + 16:io + 20] = d_new
                ck = struct.unpack_from("!H", h, io + 10)[0]
                struct.pack_into("!H", h, io + 10, adjust(ck, ad))
            if kind == "tcp" or kind == "udp":
                sp, dp = port(p.sport), port(p.dport)
                lo = p.l4_off
                struct.pack_into("!HH", h, lo, sp, dp)
                if len(h) >= p.ck_off + 2:
                    ck = struct.unpack_from("!H", h, p.ck_off)[0]
                    if not (kind == "udp" and ck == 0):
                        d = ad + sp + dp - p.sport - p.dport
                        struct.pack_into("!H", h, p.ck_off, adjust(ck, d))
            elif kind == "icmp":
                self.patch_icmp(h, p, t, new, port)
            yield p.rel_us, p.wirelen, (h, p.tail)

    def patch_icmp(self, h, p, t, new, port):
        """Rewrite the quoted header of an ICMP error and recompute checksums."""
        lo = p.l4_off
        q = lo + 8
        amap = dict(zip(t.addrs, new))
        if not p.v6 and len(h) >= q + 20 and (h[q] >> 4) == 4:
            ihl = (h[q] & 0x0F) * 4
            for o in (q + 12, q + 16):
                a = bytes(h[o:o + 4])
                h[o:o + 4] = amap.get(a, a)
            struct.pack_into("!H", h, q + 10, 0)
            struct.pack_into("!H", h, q + 10, checksum(h[q:q + ihl]))
            pq = q + ihl
        elif p.v6 and len(h) >= q + 40 and (h[q] >> 4) == 6:
            for o in (q + 8, q + 24):
                a = bytes(h[o:o + 16])
                h[o:o + 16] = amap.get(a, a)
            pq = q + 40
        else:
            pq = None
        if pq is not None and len(h) >= pq + 4:
            sp, dp = struct.unpack_from("!HH", h, pq)
            struct.pack_into("!HH", h, pq, port(sp), port(dp))
        struct.pack_into("!H", h, lo + 2, 0)
        if p.v6:
            io = p.ip_off
            plen = struct.unpack_from("!H", h, io + 4)[0]
            body = h[lo:io + 40 + plen]
            pseudo = bytes(h[io + 8:io + 40]) + struct.pack("!IxxxB", len(body), 58)
            struct.pack_into("!H", h, lo + 2, checksum(pseudo + body))
        else:
            io = p.ip_off
            tot = struct.unpack_from("!H", h, io + 2)[0]
            struct.pack_into("!H", h, lo + 2, checksum(h[lo:io + tot]))


def generate(out_path, size, samples_dir, lanes, seed, quic_share=0.0):
    rng = random.Random(seed)
    tpls = load_templates(samples_dir, rng, quic_share > 0)
    # --quic-share Q: QUIC (the quic*.pcap samples, each replica its own
    # addresses) takes Q of the bytes, every other class (1 - Q) of its share.
    mix = [(c, s * (1 - quic_share)) for c, s in MIX] + ([("quic", quic_share)] if quic_share > 0 else [])
    by_cls = {}
    for t in tpls:
        by_cls.setdefault(t.cls, []).append(t)
    for cls, _ in mix:
        if cls not in by_cls:
            raise SystemExit("gen_capture: no template of class %s in %s" % (cls, samples_dir))

    # The deck: a fixed cyclic schedule of templates in proportion to MIX by
    # bytes (credits accumulate per class; the class most owed goes next).
    credit = {cls: 0.0 for cls, _ in mix}
    share = dict(mix)
    idx = {cls: 0 for cls, _ in mix}

    def next_template():
        for cls in credit:
            credit[cls] += share[cls]
        cls = max(credit, key=lambda c: credit[c])
        lst = by_cls[cls]
        t = lst[idx[cls] % len(lst)]
        idx[cls] += 1
        credit[cls] -= t.nbytes / avg_bytes
        return t

    avg_bytes = sum(t.nbytes for t in tpls) / len(tpls)
    rep = Replicator()
    written = 24
    replica = 0
    base_us = 1700000000 * 1000000

    # Lanes: each plays templates back to back, lanes start staggered; the
    # heap merges their packets by timestamp.
    heap = []

    def start(lane, at_us):
        nonlocal replica
        t = next_template()
        r = replica
        replica += 1
        gen = rep.replay(t, r)
        lane_state[lane] = (gen, at_us)
        push(lane)

    def push(lane):
        gen, at_us = lane_state[lane]
        try:
            rel, wirelen, chunks = next(gen)
        except StopIteration:
            lane_state[lane] = None
            return False
        heapq.heappush(heap, (at_us + rel, lane, wirelen, chunks))
        return True

    lane_state = [None] * lanes
    for lane in range(lanes):
        start(lane, base_us + lane * 997)

    hdr = struct.Struct("<IIII")
    with open(out_path, "wb", buffering=8 << 20) as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, SNAPLEN, LINKTYPE_ETHERNET))
        out = []
        pending = 0
        last_ts = 0
        packets = 0
        while heap:
            ts, lane, wirelen, chunks = heapq.heappop(heap)
            if ts < last_ts:
                ts = last_ts
            last_ts = ts
            caplen = sum(len(c) for c in chunks)
            out.append(hdr.pack(ts // 1000000, ts % 1000000, caplen, max(wirelen, caplen)))
            out.extend(chunks)
            n = 16 + caplen
            written += n
            pending += n
            packets += 1
            if pending >= 4 << 20:
                f.write(b"".join(out))
                out.clear()
                pending = 0
            if written >= size:
                break  # the capture ends here, mid-connection for some lanes
            if not push(lane):
                # next template on this lane after a short pause
                start(lane, ts + 500 + (replica * 131) % 5000)
        f.write(b"".join(out))
    return written, packets, replica


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--samples", default=os.path.join(here, "..", "..", "samples"))
    ap.add_argument("--lanes", type=int, default=64, help="concurrent connections (default 64)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--quic-share", type=float, default=0.0,
                    help="share of the bytes that is QUIC (samples/quic*.pcap), e.g. 0.1; default 0")
    ap.add_argument("--many", type=int, metavar="N",
                    help="instead of SIZE: N short SMB 3.1.1 connections (many_conns.py)")
    ap.add_argument("--template", help="--many: the sample to cut the connection from (default smb445-smb3_11.pcap)")
    ap.add_argument("--overlap", type=float, default=64,
                    help="--many: connections open at once (default 64; below 1 spaces them out)")
    ap.add_argument("--rate", type=float, help="--many: connections started per second on average (default: dense, "
                    "about 12,000 a second; 500 keeps every closed connection in the flow table without evictions)")
    ap.add_argument("--clients", type=int, default=50000, help="--many: client addresses (default 50000)")
    ap.add_argument("--servers", type=int, default=100, help="--many: server addresses (default 100)")
    ap.add_argument("args", nargs="+", metavar="[SIZE] OUT")
    a = ap.parse_args()
    if a.many is not None:
        if len(a.args) != 1:
            ap.error("--many N takes OUT only")
        import many_conns
        tpl = a.template or many_conns.default_template(a.samples)
        written, packets, conns = many_conns.generate_many(a.args[0], a.many, tpl, a.overlap, a.clients,
                                                           a.servers, a.seed, read_pcap, a.rate)
        print("%s: %d bytes, %d packets, %d connections" % (a.args[0], written, packets, conns))
        return
    if len(a.args) != 2:
        ap.error("SIZE OUT expected")
    a.size, a.out = a.args
    written, packets, replicas = generate(a.out, parse_size(a.size), a.samples, a.lanes, a.seed, a.quic_share)
    print("%s: %d bytes, %d packets, %d template replicas" % (a.out, written, packets, replicas))


if __name__ == "__main__":
    main()
