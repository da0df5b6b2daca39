#!/usr/bin/python3
"""plugin_roce.py - tshark with the plugin over many RoCEv2 queue-pair pairs
(tests/hostile/gen_hostile.py roce-pairs), two plugin builds side by side.

usage: plugin_roce.py --plugin A.so [--plugin B.so ...] --capture FILE [--rounds N]
                      [--compare DIR ...] [--edges DIR --samples DIR]

Each round runs every plugin once (interleaved), tshark -n -q -z smbscope,tree
as the suite runs it (tests/plugin/wsenv.py: as "nobody" when root), and
prints wall and CPU (user + system of the child) as best and median.  The
statistics every plugin prints must be the same.  --compare: before timing,
every *.pcap / *.pcapng under each DIR through every plugin in two passes
with every field and the statistics (-2 -V -z smbscope,tree): the outputs
must be byte for byte the same (a change that is only about speed).
--edges DIR: first write into DIR (then compared) samples/rdma-roce-4791.pcap
three times over between the same two hosts, frame by frame interleaved,
each copy's QPs moved by 0x1000 and its ICRCs made again: three pairs wait
for their reverse at once, the responder's answers in the copies' order
(roce-3pairs.pcap) and in reverse order (roce-3pairs-rev.pcap: each answer
joins the oldest waiting pair, as the command and tshark_facts.py join)."""

import argparse
import glob
import os
import statistics
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "plugin"))
import wsenv  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from rdma_read import _icrc as icrc  # noqa: E402

BASE = ["--disable-protocol", "rpcordma", "-n"]


def three_pairs(sample, out, reverse):
    data = open(sample, "rb").read()
    recs, off = [], 24
    while off + 16 <= len(data):
        sec, usec, incl, orig = struct.unpack_from("<IIII", data, off)
        recs.append((sec, usec, data[off + 16:off + 16 + incl]))
        off += 16 + incl
    server = recs[0][2][30:34]  # the first frame is the client's negotiate request
    parts = [data[:24]]
    for sec, usec, f in recs:
        order = (2, 1, 0) if reverse and f[26:30] == server else (0, 1, 2)
        for j, k in enumerate(order):
            g = bytearray(f)
            bth = 14 + (g[14] & 15) * 4 + 8
            qp = int.from_bytes(g[bth + 5:bth + 8], "big")
            g[bth + 5:bth + 8] = ((qp + 0x1000 * k) & 0xFFFFFF).to_bytes(3, "big")
            total = struct.unpack("!H", g[16:18])[0]
            g[14 + total - 4:14 + total] = icrc(g[14:14 + total])
            parts.append(struct.pack("<IIII", sec, usec + j, len(g), len(g)) + bytes(g))
    with open(out, "wb") as o:
        o.write(b"".join(parts))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tshark", default="tshark")
    ap.add_argument("--plugin", action="append", required=True)
    ap.add_argument("--capture", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--compare", action="append", default=[])
    ap.add_argument("--edges")
    ap.add_argument("--samples")
    args = ap.parse_args()
    if args.edges:
        sample = os.path.join(args.samples, "rdma-roce-4791.pcap")
        three_pairs(sample, os.path.join(args.edges, "roce-3pairs.pcap"), False)
        three_pairs(sample, os.path.join(args.edges, "roce-3pairs-rev.pcap"), True)
        args.compare.append(args.edges)
    envs = [wsenv.WsEnv(args.tshark, p) for p in args.plugin]
    try:
        bad = 0
        caps = sorted(f for d in args.compare for f in glob.glob(os.path.join(d, "*.pcap*")) if not f.endswith(".gz"))
        for cap in caps:
            kl = os.path.splitext(cap)[0] + ".keylog"
            outs = []
            for e in envs:
                a = (["-o", "tls.keylog_file:" + e.capture(kl)] if os.path.exists(kl) else []) + ["-2", "-V"] + BASE + [
                    "-r", e.capture(cap), "-z", "smbscope,tree"]
                outs.append(e.run(a, check=False)[0])
            same = all(o == outs[0] for o in outs)
            bad += not same
            if not same:
                print("DIFFERS %s" % cap)
        if caps:
            print("compared %d captures: %d differ" % (len(caps), bad))
        times = [[] for _ in envs]
        stats = [None] * len(envs)
        for _ in range(args.rounds):
            for i, e in enumerate(envs):
                cap = e.capture(args.capture)
                r0 = os.times()
                t0 = time.monotonic()
                out, _, rc = e.run(BASE + ["-q", "-r", cap, "-z", "smbscope,tree"])
                wall = time.monotonic() - t0
                r1 = os.times()
                cpu = (r1.children_user - r0.children_user) + (r1.children_system - r0.children_system)
                times[i].append((wall, cpu))
                stats[i] = out
        for i, p in enumerate(args.plugin if args.rounds > 0 else []):
            w = [t[0] for t in times[i]]
            c = [t[1] for t in times[i]]
            print("%-60s wall %.2f (%.2f) s  cpu %.2f (%.2f) s" % (p, min(w), statistics.median(w), min(c),
                                                                   statistics.median(c)))
        if any(s != stats[0] for s in stats):
            print("the plugins' statistics differ")
            bad += 1
        return 1 if bad else 0
    finally:
        for e in envs:
            e.close()


if __name__ == "__main__":
    sys.exit(main())
