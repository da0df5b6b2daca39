#!/usr/bin/env python3
"""roce_table_check.py - the command's RoCEv2 queue-pair table at its cap
(4,096 pairs, analyzer/model/rdma_roce.c).

Generated captures: samples/smb445-encrypt.pcap (SMB 3.1.1, encrypted),
4,096 pairs from other hosts first, then the frames of
samples/rdma-roce-4791.pcap (one SMB Direct connection, SMB 3.1.1 without
encryption) after them.
 - fillers that showed they are not SMB (one SEND Only each, not SMBD): they
   make room, so the SMB Direct connection is tracked and breaks
   --require-encryption (FAIL, as the sample alone does);
 - fillers still undecided (ACKs only): nothing may go, so the sample's
   packets are untracked: evidence.caps_hit.roce_packets_not_tracked and
   unknown roce-untracked make the verdict inconclusive, never a pass; the
   count survives --jobs 2 and smbscope merge.
And the reassembly budget (16 MiB for every SEND and SMBD buffer of the
table): BUDGET_PAIRS undecided pairs each hold a SEND message of 64 KiB
never finished, then the sample: its SMB2 messages in several SMBD messages
find no room, are dropped and counted
(evidence.caps_hit.roce_messages_over_budget, unknown roce-over-budget), and
peak RSS stays near the budget (main held every pair's 64 KiB).
And a pair whose first whole SEND is an SMBD data transfer message without
data (a keep-alive or credit grant, what an idle SMB Direct connection
sends): the sample from its Tree Connect on, after such a message on the
same queue pair, is still SMB Direct (main: the pair was "not SMB" for its
life, a PASS under --allow-transport direct:445 with SMB2 on it).
Every filler frame's wire length is one more than captured: its ICRC is
then unchecked, so the packet is used."""

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

from rdma_read import _icrc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hostile"))
from pcapio import csum  # noqa: E402

FILL = 4096
BUDGET_PAIRS = 600
CHUNK = 4096
failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack_from("<I", data)
    assert magic == 0xA1B2C3D4, "little-endian microsecond pcap expected"
    linktype, = struct.unpack_from("<I", data, 20)
    assert linktype == 1
    recs, off = [], 24
    while off + 16 <= len(data):
        sec, usec, incl, orig = struct.unpack_from("<IIII", data, off)
        recs.append((sec, usec, orig, data[off + 16:off + 16 + incl]))
        off += 16 + incl
    return recs


def frame(src, opcode, psn, body):
    eth = b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00"
    bth = struct.pack("!BBHI", opcode, 0, 0xFFFF, 1) + struct.pack("!I", psn)
    payload = bth + body + b"\0\0\0\0"
    udp = struct.pack("!HHHH", 49152, 4791, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp) + 1, 0, 0x4000, 64, 17, 0, src, bytes([10, 9, 0, 1])) + udp
    return eth + ip


def write_budget_capture(path, sample, encrypted):
    """BUDGET_PAIRS pairs, each a SEND First and 15 SEND Middle of 4 KiB
    (64 KiB held, never a Last), then the encrypted sample and the RoCE one."""
    recs = read_pcap(sample)
    t0 = recs[0][0] - 10
    with open(path, "wb") as o:
        o.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for sec, usec, orig, f in read_pcap(encrypted):
            o.write(struct.pack("<IIII", t0 - 10, usec, len(f), orig) + f)
        body = b"\x07" * CHUNK
        n = 0
        for i in range(BUDGET_PAIRS):
            src = struct.pack("!I", 0x0B000000 + i)
            for k in range(16):
                f = frame(src, 0x00 if k == 0 else 0x01, k + 1, body)
                o.write(struct.pack("<IIII", t0, n % 1000000, len(f), len(f) + 1) + f)
                n += 1
        for sec, usec, orig, f in recs:
            o.write(struct.pack("<IIII", sec, usec, len(f), orig) + f)


def filler(i, opcode):
    """One RoCEv2 packet from 11.x.y.z to 10.9.0.1: SEND Only with 16 bytes
    that are not SMBD (0x04), or an ACK (0x11, AETH)."""
    eth = b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00"
    bth = struct.pack("!BBHI", opcode, 0, 0xFFFF, 1) + struct.pack("!I", 1)
    body = b"\x01" * 16 if opcode == 0x04 else struct.pack("!I", 0x1F000000)
    payload = bth + body + b"\0\0\0\0"  # the ICRC (not checked: see above)
    udp = struct.pack("!HHHH", 49152, 4791, 8 + len(payload), 0) + payload
    src = struct.pack("!I", 0x0B000000 + i)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp) + 1, 0, 0x4000, 64, 17, 0, src, bytes([10, 9, 0, 1])) + udp
    return eth + ip


def write_capture(path, opcode, sample, encrypted):
    recs = read_pcap(sample)
    with open(path, "wb") as o:
        o.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        t0 = recs[0][0] - 10
        # an encrypted SMB connection first: with it the policy has SMB to
        # judge, so only the untracked packets can keep the verdict from a pass
        for sec, usec, orig, f in read_pcap(encrypted):
            o.write(struct.pack("<IIII", t0 - 10, usec, len(f), orig) + f)
        for i in range(FILL):
            f = filler(i, opcode)
            o.write(struct.pack("<IIII", t0, i, len(f), len(f) + 1) + f)
        for sec, usec, orig, f in recs:
            o.write(struct.pack("<IIII", sec, usec, len(f), orig) + f)


def keepalive_first(sample, path, size):
    """The sample from its first Tree Connect (frame 19) on, after one SEND
    Only on the same queue pair, PSN one below, holding an SMBD data
    transfer message with no data (CreditsRequested 1, CreditsGranted 1):
    its 20-byte header (MS-SMBD 2.2.3; what Linux sends) or 24 bytes, the
    padding too."""
    recs = read_pcap(sample)[18:]
    sec, usec, orig, f = recs[0]
    assert f[14 + 9] == 17 and f[14 + 20 + 8] == 0x04, "frame 19 is a RoCEv2 SEND Only"
    psn, = struct.unpack_from("!I", f, 14 + 20 + 8 + 8)
    bth = bytearray(f[42:54])
    struct.pack_into("!I", bth, 8, (psn - 1) & 0xFFFFFF)
    bth[1] &= ~0x30  # PadCnt 0: the 24 bytes are all SMBD
    smbd = struct.pack("<HHHHIIII", 1, 1, 0, 0, 0, 0, 0, 0)[:size]
    payload = bytes(bth) + smbd + b"\0\0\0\0"
    udp = f[34:38] + struct.pack("!HH", 8 + len(payload), 0) + payload
    ip = bytearray(f[14:34])
    struct.pack_into("!H", ip, 2, 20 + len(udp))
    struct.pack_into("!H", ip, 10, 0)
    struct.pack_into("!H", ip, 10, csum(bytes(ip)))
    packet = bytes(ip) + udp
    ka = f[:14] + packet[:-4] + _icrc(packet)
    with open(path, "wb") as o:
        o.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        o.write(struct.pack("<IIII", sec, max(usec - 1, 0), len(ka), len(ka)) + ka)
        for sec, usec, orig, f in recs:
            o.write(struct.pack("<IIII", sec, usec, len(f), orig) + f)


def run(args, *extra):
    p = subprocess.run([args.smbscope, "-T", "json", "-q", "--require-encryption"] + list(extra),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode, json.loads(p.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples", required=True)
    ap.add_argument("--no-rss", dest="rss", action="store_false", help="under a sanitizer RSS means nothing")
    args = ap.parse_args()
    sample = os.path.join(args.samples, "rdma-roce-4791.pcap")
    encrypted = os.path.join(args.samples, "smb445-encrypt.pcap")
    with tempfile.TemporaryDirectory() as tmp:
        code, alone = run(args, sample)
        check(code == 1 and alone["verdict"]["outcome"] == "fail", "the sample alone fails --require-encryption")

        for size, extra in ((20, []), (24, []), (20, ["--jobs", "2"])):
            ka = os.path.join(tmp, "keepalive%d.pcap" % size)
            keepalive_first(sample, ka, size)
            t = subprocess.run([os.environ.get("TSHARK", "tshark"), "-r", ka, "-Y", "smb2", "-T", "fields", "-e",
                                "frame.number"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            check(len(t.stdout.split()) >= 30, "tshark: SMB2 in %d frames of the keep-alive copy" % len(t.stdout.split()))
            p = subprocess.run([args.smbscope, "-T", "json", "-q", "--allow-transport", "direct:445"] + extra + [ka],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            r = json.loads(p.stdout)
            check(p.returncode == 1 and any(c.get("transport") == "rdma-roce" for c in r["connections"]),
                  "%sa keep-alive of %d bytes first: still SMB Direct, FAIL under --allow-transport direct:445 (exit %d, %s)"
                  % (" ".join(extra) + " " if extra else "", size, p.returncode, r["verdict"]["outcome"]))

        evictable = os.path.join(tmp, "not_smb.pcap")
        write_capture(evictable, 0x04, sample, encrypted)
        code, r = run(args, evictable)
        caps = r["evidence"]["caps_hit"]
        check(code == 1 and r["verdict"]["outcome"] == "fail" and
              any(c.get("transport") == "rdma-roce" for c in r["connections"]),
              "4,096 pairs that are not SMB make room: the SMB Direct connection is judged (exit %d, %s)"
              % (code, r["verdict"]["outcome"]))
        check("roce_packets_not_tracked" not in caps and r["stats"]["roce_untracked_packets"] == 0,
              "no packet untracked, no caps_hit member: %r" % caps)

        undecided = os.path.join(tmp, "undecided.pcap")
        write_capture(undecided, 0x11, sample, encrypted)
        n = len(read_pcap(sample))
        for extra in ([], ["--jobs", "2"]):
            code, r = run(args, *extra + [undecided])
            caps = r["evidence"]["caps_hit"]
            reasons = [u["reason"] for u in r["verdict"]["unknowns"]]
            check(code == 3 and not r["verdict"]["pass"] and reasons == ["roce-untracked"],
                  "%s4,096 undecided pairs: not a pass, unknown roce-untracked (exit %d, %s, %r)"
                  % (" ".join(extra) + " " if extra else "", code, r["verdict"]["outcome"], reasons))
            check(caps.get("roce_packets_not_tracked") == n == r["stats"]["roce_untracked_packets"],
                  "caps_hit.roce_packets_not_tracked %r == %d" % (caps.get("roce_packets_not_tracked"), n))
        rep = os.path.join(tmp, "undecided.json")
        with open(rep, "w") as f:
            json.dump(r, f)
        p = subprocess.run([args.smbscope, "merge", "-T", "json", "-q", "--require-encryption", rep],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        m = json.loads(p.stdout)
        check(m["evidence"]["caps_hit"].get("roce_packets_not_tracked") == n and not m["verdict"]["pass"] and
              "roce-untracked" in [u["reason"] for u in m["verdict"]["unknowns"]],
              "merge keeps the cap hit and the unknown (exit %d)" % p.returncode)
        budget = os.path.join(tmp, "budget.pcap")
        write_budget_capture(budget, sample, encrypted)
        for extra in ([], ["--jobs", "2"]):
            code, r = run(args, *extra + [budget])
            caps = r["evidence"]["caps_hit"]
            reasons = [u["reason"] for u in r["verdict"]["unknowns"]]
            check(caps.get("roce_messages_over_budget", 0) > 0 and "roce-over-budget" in reasons and
                  not r["verdict"]["pass"],
                  "%sreassembly budget spent: caps_hit.roce_messages_over_budget %r, unknowns %r, exit %d"
                  % (" ".join(extra) + " " if extra else "", caps.get("roce_messages_over_budget"), reasons, code))
        rep = os.path.join(tmp, "budget.json")
        with open(rep, "w") as f:
            json.dump(r, f)
        p = subprocess.run([args.smbscope, "merge", "-T", "json", "-q", "--require-encryption", rep],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        m = json.loads(p.stdout)
        check(m["evidence"]["caps_hit"].get("roce_messages_over_budget") == caps.get("roce_messages_over_budget"),
              "merge keeps caps_hit.roce_messages_over_budget %r" % m["evidence"]["caps_hit"].get("roce_messages_over_budget"))
        if args.rss:
            with open(budget, "rb") as f:  # from stdin: the file is not mapped
                p = subprocess.run(["/usr/bin/time", "-f", "%M", args.smbscope, "-q", "-T", "json", "-o", os.devnull, "-"],
                                   stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            rss = int(p.stderr.decode().strip().splitlines()[-1])
            check(rss < 32 * 1024, "peak RSS %d KiB < 32 MiB with %d pairs of 64 KiB held (%d MiB of buffers asked)"
                  % (rss, BUDGET_PAIRS, BUDGET_PAIRS * 64 // 1024))
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
