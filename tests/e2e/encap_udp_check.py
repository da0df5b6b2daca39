#!/usr/bin/env python3
"""UDP tunnels as tshark opens them (review, 2026-12-02), TAP.

tshark decodes VXLAN, VXLAN-GPE and Geneve on their UDP port at either end
of the datagram, VXLAN whatever its flags, Geneve of any version and with
MPLS inside; MPLS in UDP (6635), GTP-U (2152), L2TPv2 (1701) and Teredo
(3544); MPLS and PPP in GRE (PPTP's enhanced GRE too) and MPLS in IP
(protocol 137).  smbscope opened only VXLAN to port 4789 with its I flag
and Geneve version 0 with Ethernet or IP: every variant below passed, exit
0, with the sample's NetBIOS and SMB1 inside (the plugin, fed by Wireshark,
said FAIL).  Each copy of samples/nbt139-nt1.pcap (Teredo: of its IPv6
copy, against that copy):
  * tshark finds the sample's NBSS or SMB frames inside;
  * smbscope's verdict, violations, SMB connections and NetBIOS flows are
    the plain sample's.
"""
import argparse
import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from encap_check import MACS, facts, ip4, results, rewrite, tap, tap_end  # noqa: E402


def udp_ports(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def mpls(ip):
    return struct.pack("!I", (300 << 12) | (1 << 8) | 64) + ip


def to_ipv6(ip):
    """An IPv4 packet as IPv6 (fd00::/8 addresses from the IPv4 ones)."""
    ihl = (ip[0] & 15) * 4
    total = struct.unpack("!H", ip[2:4])[0]
    payload = ip[ihl:total]
    addr = lambda a: b"\xfd" + b"\0" * 11 + a
    return struct.pack("!IHBB", 6 << 28, len(payload), ip[9], 64) + addr(ip[12:16]) + addr(ip[16:20]) + payload


def gre(flags, proto, payload):
    return MACS + b"\x08\x00" + ip4(47, struct.pack("!HH", flags, proto) + payload)


def encap(mode, frame):
    ip = frame[14:]
    vni = 42 << 8
    if mode == "mpls-udp":
        return MACS + b"\x08\x00" + ip4(17, udp_ports(49152, 6635, mpls(ip)))
    if mode == "gtp-u":  # a G-PDU with a sequence number and one extension header (PDU session container)
        body = struct.pack("!HBB", 7, 0, 0x85) + struct.pack("!BBBB", 1, 0x10, 0x01, 0) + ip
        return MACS + b"\x08\x00" + ip4(17, udp_ports(2152, 2152, struct.pack("!BBHI", 0x36, 0xFF, len(body), 9) + body))
    if mode == "l2tp":  # a data message with its length and sequence numbers, PPP with address and control
        body = struct.pack("!HHHHH", 3, 7, 0, 0, 0)[2:] + b"\xff\x03\x00\x21" + ip
        return MACS + b"\x08\x00" + ip4(17, udp_ports(1701, 1701, struct.pack("!HH", 0x4802, 4 + len(body)) + body))
    if mode == "teredo":  # an origin indication, then the IPv6 copy
        origin = struct.pack("!HH4s", 0, 0x1234, bytes([1, 2, 3, 4]))
        return MACS + b"\x08\x00" + ip4(17, udp_ports(3544, 40000, origin + to_ipv6(ip)))
    if mode.startswith("teredo-"):  # the IPv6 copy alone (its first octet 0x60: QUIC's fixed bit)
        ports = {"teredo-from-443": (443, 3544), "teredo-to-443": (3544, 443)}[mode]
        return MACS + b"\x08\x00" + ip4(17, udp_ports(*ports, to_ipv6(ip)))
    if mode == "vxlan48-from-443":  # the I flag and a reserved one: QUIC's fixed bit in the first octet
        return MACS + b"\x08\x00" + ip4(17, udp_ports(443, 4789, struct.pack("!II", 0x48000000, vni) + frame))
    if mode == "gre-mpls":
        return gre(0, 0x8847, mpls(ip))
    if mode == "gre-ppp":
        return gre(0, 0x880B, b"\xff\x03\x00\x21" + ip)
    if mode == "pptp":  # enhanced GRE: key (payload length, call ID), sequence number
        ppp = b"\xff\x03\x00\x21" + ip
        return gre(0x3001, 0x880B, struct.pack("!HHI", len(ppp), 7, 1) + ppp)
    if mode == "mpls-in-ip":
        return MACS + b"\x08\x00" + ip4(137, mpls(ip))
    if mode == "vxlan-no-i-flag":
        return MACS + b"\x08\x00" + ip4(17, udp_ports(49152, 4789, struct.pack("!II", 0, vni) + frame))
    if mode == "vxlan-source-port":
        return MACS + b"\x08\x00" + ip4(17, udp_ports(4789, 40000, struct.pack("!II", 0x08000000, vni) + frame))
    if mode.startswith("vxlan-from-"):  # a VXLAN source port (a flow hash) that is a checked tunnel's
        sport = int(mode.rsplit("-", 1)[1])
        return MACS + b"\x08\x00" + ip4(17, udp_ports(sport, 4789, struct.pack("!II", 0x08000000, vni) + frame))
    if mode == "geneve-mpls":
        return MACS + b"\x08\x00" + ip4(17, udp_ports(49152, 6081, struct.pack("!BBHI", 0, 0, 0x8847, vni) + mpls(ip)))
    if mode in ("geneve-v1", "geneve-v1-from-443"):
        sport = 443 if mode.endswith("443") else 49152
        return MACS + b"\x08\x00" + ip4(17, udp_ports(sport, 6081, struct.pack("!BBHI", 0x40, 0, 0x6558, vni) + frame))
    gpe = {"gpe-ethernet": (3, frame), "gpe-ipv4": (1, ip), "gpe-mpls": (5, mpls(ip))}[mode]
    return MACS + b"\x08\x00" + ip4(17, udp_ports(49152, 4790, struct.pack("!BHBI", 0x0C, 0, gpe[0], vni) + gpe[1]))


MODES = ["vxlan-no-i-flag", "vxlan-source-port", "geneve-mpls", "geneve-v1", "gpe-ethernet", "gpe-ipv4", "gpe-mpls",
         "mpls-udp", "gtp-u", "l2tp", "teredo", "gre-mpls", "gre-ppp", "pptp", "mpls-in-ip",
         "vxlan-from-1701", "vxlan-from-2152", "vxlan-from-443",
         "teredo-from-443", "teredo-to-443", "geneve-v1-from-443", "vxlan48-from-443"]
# Review (2026-12-02): VXLAN from port 1701, 2152 or 443 stayed UDP, PASS:
# the lower port named L2TP or GTP-U, whose header check failed, or QUIC
# (a VXLAN header has no QUIC fixed bit), and the higher (4789) was never
# tried, as tshark's UDP tries it.  From 3544 smbscope opens
# the VXLAN too; tshark's Teredo takes the datagram as data (it does not
# reject it), so only smbscope's verdict is checked there: a disagreement
# on the side of finding the NetBIOS.  Review (second round): a tunnel
# header whose first octet has QUIC's fixed bit (IPv6 in Teredo, Geneve 1,
# VXLAN with a reserved flag) to or from 443 was kept as QUIC, PASS: tshark's
# UDP has no dissector on 443 (QUIC is a heuristic, after both ports).
OURS_ONLY = ["vxlan-from-3544"]
FULL = os.environ.get("SMBSCOPE_FULL") == "1"


def plain_ipv6(src, dst):
    d = open(src, "rb").read()
    out, off = [d[:24]], 24
    while off + 16 <= len(d):
        s, us, cl, wl = struct.unpack("<IIII", d[off:off + 16])
        f = d[off + 16:off + 16 + cl]
        off += 16 + cl
        nf = f[:12] + b"\x86\xdd" + to_ipv6(f[14:]) if f[12:14] == b"\x08\x00" else f
        out.append(struct.pack("<IIII", s, us, len(nf), len(nf)) + nf)
    open(dst, "wb").write(b"".join(out))


# The tunnels' ports and NAT-T's, each as a client's ephemeral port
TUNNEL_PORTS = (4789, 4790, 6081, 6635, 2152, 3544, 1701, 4500)


def client_port(port):
    """A wrap for rewrite(): the sample's NBNS client port (its port that is
    not 137) made port, the UDP checksum left out."""
    def wrap(mode, f):
        f = bytearray(f)
        u = 14 + (f[14] & 15) * 4
        if f[14 + 9] == 17:
            sp, dp = struct.unpack("!HH", f[u:u + 4])
            f[u:u + 4] = struct.pack("!HH", sp if sp == 137 else port, dp if dp == 137 else port)
            f[u + 6:u + 8] = b"\0\0"
        return bytes(f)
    return wrap


def records(path):
    """A classic pcap's header and its records' bytes, one string each."""
    d = open(path, "rb").read()
    recs, off = [], 24
    while off + 16 <= len(d):
        n = struct.unpack("<I", d[off + 8:off + 12])[0]
        recs.append(d[off:off + 16 + n])
        off += 16 + n
    return d[:24], recs


def nbns_counts(tshark, paths, tmp):
    """tshark's NBNS packets in each capture.  SMBSCOPE_FULL=1: one tshark
    run each.  Default: one run over the captures put end to end (they share
    the sample's header), each counted in its own frame range: the copies
    differ in the client's port, so each is a UDP conversation of its own,
    and whether tshark calls a datagram NBNS is decided by its ports alone
    (NBNS keeps no state that makes a datagram NBNS)."""
    def count(path):
        return len(subprocess.run([tshark, "-r", path, "-Y", "nbns", "-T", "fields", "-e", "frame.number"],
                                  capture_output=True, text=True).stdout.split())
    if FULL:
        return [count(p) for p in paths]
    head, ranges, body = None, [], []
    for p in paths:
        h, recs = records(p)
        if head not in (None, h):
            return [count(p) for p in paths]  # not one format: one run each
        head = h
        ranges.append((len(body) + 1, len(body) + len(recs)))
        body += recs
    both = os.path.join(tmp, "nbns-all-ports.pcap")
    with open(both, "wb") as f:
        f.write(head + b"".join(body))
    frames = [int(x) for x in subprocess.run([tshark, "-r", both, "-Y", "nbns", "-T", "fields", "-e", "frame.number"],
                                             capture_output=True, text=True).stdout.split()]
    return [sum(1 for n in frames if a <= n <= b) for a, b in ranges]


def plain_from_tunnel_ports(smbscope, tshark, samples, tmp):
    """NBNS from a client whose ephemeral port is a tunnel's stays NBNS: tshark
    tries a datagram's lower port first, and 137 names NBNS (review: port
    4789 made it VXLAN, PASS exit 0; 4500 encrypted ESP, inconclusive; 6635
    lost the answer)."""
    sample = os.path.join(samples, "nbns-unicast.pcap")
    want_rc, want = facts(smbscope, sample)
    paths = []
    for port in TUNNEL_PORTS:
        paths.append(os.path.join(tmp, "nbns-from-%d.pcap" % port))
        rewrite(sample, paths[-1], None, client_port(port))
    counts = nbns_counts(tshark, [sample] + paths, tmp)
    nbns = counts[0]
    tap(want_rc == 1 and want["violations"] and nbns > 0, "nbns-unicast fails", repr(want))
    for port, path, seen in zip(TUNNEL_PORTS, paths, counts[1:]):
        rc, got = facts(smbscope, path)
        tap(seen == nbns and rc == want_rc and got == want,
            "NBNS from client port %d: tshark's %d NBNS packets, judged as the plain sample" % (port, nbns),
            "tshark %d; exit %d %r, plain: exit %d %r" % (seen, rc, got, want_rc, want))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples", required=True)
    o = ap.parse_args()
    tshark = os.environ.get("TSHARK", "tshark")
    sample = os.path.join(o.samples, "nbt139-nt1.pcap")
    want_rc, want = facts(o.smbscope, sample)
    tap(want_rc == 1 and want["violations"], "the plain sample fails", repr(want))
    with tempfile.TemporaryDirectory(prefix="smbscope-encap-udp-") as tmp:
        v6 = os.path.join(tmp, "plain-ipv6.pcap")
        plain_ipv6(sample, v6)
        want6_rc, want6 = facts(o.smbscope, v6)
        tap(want6_rc == 1 and want6["violations"], "the sample's IPv6 copy fails", repr(want6))
        for mode in MODES + OURS_ONLY:
            path = os.path.join(tmp, mode + ".pcap")
            rewrite(sample, path, mode, encap)
            if mode in MODES:  # OURS_ONLY: tshark is not asked (see above)
                t = subprocess.run([tshark, "-r", path, "-Y", "nbss || smb", "-T", "fields", "-e", "frame.number"],
                                   capture_output=True, text=True, timeout=120)
                seen = len(t.stdout.split())
                tap(seen > 0, "%s: tshark finds NBSS or SMB inside" % mode, "%d frames %s" % (seen, t.stderr[:200]))
            rc, got = facts(o.smbscope, path)
            wrc, w = (want6_rc, want6) if mode.startswith("teredo") else (want_rc, want)
            tap(rc == wrc and got == w, "%s: smbscope judges the traffic inside as the plain sample" % mode,
                "exit %d %r, plain: exit %d %r" % (rc, got, wrc, w))
        plain_from_tunnel_ports(o.smbscope, tshark, o.samples, tmp)
    return tap_end(results)


if __name__ == "__main__":
    sys.exit(main())
