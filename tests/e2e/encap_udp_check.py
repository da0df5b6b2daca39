#!/usr/bin/env python3
"""UDP tunnels as tshark opens them (review, 2026-12-02), TAP.

tshark decodes VXLAN, VXLAN-GPE and Geneve on their UDP port at either end
of the datagram, VXLAN whatever its flags, Geneve of any version and with
MPLS inside.  smbscope opened only VXLAN to port 4789 with its I flag and
Geneve version 0 with Ethernet or IP: every variant below passed, exit 0,
with the sample's NetBIOS and SMB1 inside (the plugin, fed by Wireshark,
said FAIL).  Each copy of samples/nbt139-nt1.pcap:
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
from encap_check import MACS, facts, ip4, results, tap  # noqa: E402


def udp_ports(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def mpls(ip):
    return struct.pack("!I", (300 << 12) | (1 << 8) | 64) + ip


def encap(mode, frame):
    ip = frame[14:]
    vni = 42 << 8
    if mode == "vxlan-no-i-flag":
        return MACS + b"\x08\x00" + ip4(17, udp_ports(49152, 4789, struct.pack("!II", 0, vni) + frame))
    if mode == "vxlan-source-port":
        return MACS + b"\x08\x00" + ip4(17, udp_ports(4789, 40000, struct.pack("!II", 0x08000000, vni) + frame))
    if mode == "geneve-mpls":
        return MACS + b"\x08\x00" + ip4(17, udp_ports(49152, 6081, struct.pack("!BBHI", 0, 0, 0x8847, vni) + mpls(ip)))
    if mode == "geneve-v1":
        return MACS + b"\x08\x00" + ip4(17, udp_ports(49152, 6081, struct.pack("!BBHI", 0x40, 0, 0x6558, vni) + frame))
    gpe = {"gpe-ethernet": (3, frame), "gpe-ipv4": (1, ip), "gpe-mpls": (5, mpls(ip))}[mode]
    return MACS + b"\x08\x00" + ip4(17, udp_ports(49152, 4790, struct.pack("!BHBI", 0x0C, 0, gpe[0], vni) + gpe[1]))


MODES = ["vxlan-no-i-flag", "vxlan-source-port", "geneve-mpls", "geneve-v1", "gpe-ethernet", "gpe-ipv4", "gpe-mpls"]


def rewrite(src, dst, mode):
    d = open(src, "rb").read()
    out, off = [d[:24]], 24
    while off + 16 <= len(d):
        s, us, cl, wl = struct.unpack("<IIII", d[off:off + 16])
        f = d[off + 16:off + 16 + cl]
        off += 16 + cl
        nf = encap(mode, f) if f[12:14] == b"\x08\x00" else f
        out.append(struct.pack("<IIII", s, us, len(nf), len(nf) + (wl - cl)) + nf)
    open(dst, "wb").write(b"".join(out))


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
        for mode in MODES:
            path = os.path.join(tmp, mode + ".pcap")
            rewrite(sample, path, mode)
            t = subprocess.run([tshark, "-r", path, "-Y", "nbss || smb", "-T", "fields", "-e", "frame.number"],
                               capture_output=True, text=True, timeout=120)
            seen = len(t.stdout.split())
            tap(seen > 0, "%s: tshark finds NBSS or SMB inside" % mode, "%d frames %s" % (seen, t.stderr[:200]))
            rc, got = facts(o.smbscope, path)
            tap(rc == want_rc and got == want, "%s: smbscope judges the traffic inside as the plain sample" % mode,
                "exit %d %r, plain: exit %d %r" % (rc, got, want_rc, want))
    print("1..%d" % len(results))
    for i, (ok, name, detail) in enumerate(results, 1):
        print("%s %d - %s%s" % ("ok" if ok else "not ok", i, name, (" # " + detail) if detail and not ok else ""))
    return 0 if all(r[0] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
