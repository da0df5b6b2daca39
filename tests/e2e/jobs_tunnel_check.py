#!/usr/bin/env python3
"""--jobs 2 equals --jobs 1 when only one direction of a connection is
inside a tunnel (review, 2026-12-02).

MPLS penultimate-hop popping shows a connection labelled one way and plain
the other on a P-PE link; an asymmetric GRE, PPPoE, IP-in-IP or VXLAN path
does the same.  The split (analyzer/merge/split_route.c) routes plain TCP by
its address pair and sent every tunnelled packet to thread 0, so when the
pair's thread was not 0 one connection became two halves (dialect null on
one, the verdict of --min-dialect and --require-encryption changed).

samples/smb445-smb3_11.pcap with its addresses rewritten to a pair the
split's hash puts on thread 1 of 2, and its client-to-server frames in each
tunnel of tests/e2e/encap_check.py: tshark still finds every SMB2 frame,
and --jobs 2 gives --jobs 1's JSON and exit codes (also under
--min-dialect 3.1.1 and --require-encryption).  The same with every frame
in GRE or VXLAN whose datagrams are fragmented at 300 octets: the split
gives up and the file is analysed as one run.
"""
import argparse
import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hostile"))
import jobs_check  # noqa: E402
from encap_check import encap  # noqa: E402
from pcapio import csum  # noqa: E402

# and the tunnels whose datagrams a path fragments (review: the outer
# fragments went to thread 0, the connection's unfragmented packets to its
# pair's thread: INCONCLUSIVE with stream gaps, where one run said PASS)
MODES = ["mpls", "pppoe", "gre1", "ipip", "vxlan", "gre1-frag", "vxlan-frag"]
M64 = (1 << 64) - 1


def pair_worker(a, b, n):
    """split_route.h split_pair_worker() for IPv4 words."""
    lo, hi = min(a, b), max(a, b)
    h = (((lo * 0x9e3779b97f4a7c15) & M64) ^ hi) * 0xff51afd7ed558ccd & M64
    h ^= h >> 29
    h = h * 0xc4ceb9fe1a85ec53 & M64
    return ((h >> 32) * n) >> 32


def addresses():
    """A client and a server address on thread 1 of 2 (not thread 0, where
    tunnelled packets went): the split's share of the pair (of 256) in its
    top fifth, which --jobs 2 gives thread 1 however it balances."""
    for last in range(2, 255):
        a, b = bytes([10, 213, 0, 1]), bytes([10, 213, 0, last])
        if pair_worker(struct.unpack("!I", a)[0], struct.unpack("!I", b)[0], 256) >= 205:
            return a, b
    raise AssertionError("no pair on thread 1")


def fragments(frame, ident, mtu=300):
    """An Ethernet frame's outer IPv4 datagram (a tunnel's) as fragments of
    at most mtu octets, identification ident: a tunnel over a path whose
    MTU the tunnel's header pushes the frames past."""
    ip = frame[14:]
    ihl = (ip[0] & 15) * 4
    if frame[12:14] != b"\x08\x00" or len(ip) <= mtu:
        return [frame]
    step, body, out = (mtu - ihl) // 8 * 8, ip[ihl:], []
    for at in range(0, len(body), step):
        piece = body[at:at + step]
        h = bytearray(ip[:ihl])
        struct.pack_into("!HHH", h, 2, ihl + len(piece), ident, (0x2000 if at + step < len(body) else 0) | at // 8)
        struct.pack_into("!H", h, 10, 0)
        struct.pack_into("!H", h, 10, csum(bytes(h)))
        out.append(frame[:14] + bytes(h) + piece)
    return out


def write(src, dst, mode, server, client):
    """src's connection between client and server, its client-to-server
    frames in the tunnel of mode; mode + "-frag": every frame in it, the
    tunnel's datagrams fragmented."""
    frag = mode.endswith("-frag")
    mode = mode[:-len("-frag")] if frag else mode
    d = open(src, "rb").read()
    out, off = [d[:24]], 24
    first_src = None
    while off + 16 <= len(d):
        s, us, cl, wl = struct.unpack("<IIII", d[off:off + 16])
        f = bytearray(d[off + 16:off + 16 + cl])
        off += 16 + cl
        if f[12:14] == b"\x08\x00":
            first_src = first_src or bytes(f[26:30])
            to_server = bytes(f[26:30]) == first_src
            f[26:30], f[30:34] = (client, server) if to_server else (server, client)
            struct.pack_into("!H", f, 24, 0)
            struct.pack_into("!H", f, 24, csum(bytes(f[14:34])))
            if to_server or frag:
                f = bytearray(encap(mode, bytes(f)))
        for g in fragments(bytes(f), len(out)) if frag else [bytes(f)]:
            out.append(struct.pack("<IIII", s, us, len(g), len(g) + (wl - cl)) + g)
    open(dst, "wb").write(b"".join(out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples", required=True)
    o = ap.parse_args()
    tshark = os.environ.get("TSHARK", "tshark")
    sample = os.path.join(o.samples, "smb445-smb3_11.pcap")
    client, server = addresses()
    want = subprocess.run([tshark, "-r", sample, "-Y", "smb2", "-T", "fields", "-e", "frame.number"],
                          capture_output=True, text=True).stdout.split()
    with tempfile.TemporaryDirectory(prefix="smbscope-jobs-tunnel-") as tmp:
        for mode in MODES:
            path = os.path.join(tmp, mode + ".pcap")
            write(sample, path, mode, server, client)
            got = subprocess.run([tshark, "-r", path, "-Y", "smb2", "-T", "fields", "-e", "frame.number"],
                                 capture_output=True, text=True).stdout.split()
            # (fragmented: tshark shows each in the frame that completes its datagram)
            jobs_check.expect("%s: tshark finds the %d SMB2 frames" % (mode, len(want)),
                              len(got) == len(want) if "frag" in mode else got == want,
                              "%d of %d" % (len(got), len(want)))
            jobs_check.same_split(o.smbscope, path, "one direction in %s" % mode, text=False, one_run="frag" in mode)
            for policy in (["--min-dialect", "3.1.1"], ["--require-encryption"]):
                rc = [subprocess.run([o.smbscope, "-q", "-o", os.devnull] + jobs + policy + [path]).returncode
                      for jobs in ([], ["--jobs", "2"])]
                jobs_check.expect("%s %s: the same exit code with --jobs 2" % (mode, " ".join(policy)),
                                  rc[0] == rc[1], "%d, --jobs 2 %d" % tuple(rc))
    print("%d failure(s)" % len(jobs_check.failures) if jobs_check.failures else "all passed")
    return 1 if jobs_check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
