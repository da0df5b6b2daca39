#!/usr/bin/python3
"""rdma_samples_check.py - the hand-built SMB Direct samples are what tshark says they are.

samples/gen-rdma.py builds iWARP and RoCEv2 captures by hand (this machine
cannot run soft-RDMA).  This test makes sure tshark 4.0 dissects them as the
real thing, so that facts derived from them (MANIFEST.tsv) are tshark's:

iWARP (TCP, any port): every TCP payload is iwarp_mpa; one MPA request and
one reply; every FPDU has a CRC32c tshark calls good (none bad); every last
untagged DDP segment (a complete RDMAP Send) is smb_direct; an RDMA Write
(tagged) is present; an SMB2 message is reassembled from several SMBD data
messages (RemainingDataLength > 0); with markers negotiated, tshark finds them.

RoCEv2 (UDP 4791): every frame is infiniband with a correct ICRC (recomputed
here from the RoCEv2 pseudo-header, tshark does not check it); every SEND
Only/First is smb_direct; SEND First/Middle/Last and an RDMA Write are present.

With --smbscope BIN, smbscope's reports of the same captures must agree
(and of a copy with one RDMA Read Request added, tests/e2e/rdma_read.py:
tshark dissects it, smbscope counts it in rdma_read_requests, reads the
rest as before and loses nothing):
one connection each, transport rdma-iwarp / rdma-roce in JSON and in the
text table alike, no nbss member, FPDU / frame / RDMA Write counts equal to
tshark's, no bad CRC; and a copy with one octet flipped inside an FPDU has
exactly one bad CRC32c for tshark and for smbscope.  RoCEv2 likewise: a copy
with one octet of the Tree Connect's share path flipped has one frame whose
ICRC (recomputed here; tshark 4.0 shows infiniband.invariant.crc, the value
sent, but does not check it) no longer matches; smbscope counts exactly that
one as bad and reports the shares tshark dissects from the frames with a good
ICRC only (not the mangled path tshark shows from the bad one).

Usage: rdma_samples_check.py --samples DIR [--smbscope BIN]   Exit: 0 ok, 1 a check failed.
"""

import argparse
import json
import os
import tempfile
import struct
import subprocess
import sys
import zlib

IWARP = {"rdma-iwarp-5445.pcap": False, "rdma-iwarp-markers-15445.pcap": True}
ROCE = ["rdma-roce-4791.pcap"]
FIELDS = ["frame.number", "frame.protocols", "tcp.len", "iwarp_ddp.tagged_flag", "iwarp_ddp.last_flag",
          "iwarp_mpa.marker_fpduptr", "smb_direct.remaining_length", "smb2.cmd", "infiniband.bth.opcode",
          "iwarp_rdma.opcode"]


def tshark(args):
    env = dict(os.environ, LC_ALL="C")
    out = subprocess.run([os.environ.get("TSHARK", "tshark"), "-n", "--disable-protocol", "artemis"] + args, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env=env, check=True).stdout
    return out.decode("utf-8", "replace")


def rows(path):
    cmd = ["-r", path, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|"]
    for f in FIELDS:
        cmd += ["-e", f]
    for line in tshark(cmd).splitlines():
        vals = (line.split("\t") + [""] * len(FIELDS))[:len(FIELDS)]
        r = {f: v for f, v in zip(FIELDS, vals)}
        r["chain"] = r["frame.protocols"].split(":")
        yield r


def flag(v):
    return v in ("1", "True", "true")


def check_iwarp(path, rs, markers, fail):
    payload = [r for r in rs if r["tcp.len"] and int(r["tcp.len"]) > 0]
    for r in payload:
        if "iwarp_mpa" not in r["chain"]:
            fail("frame %s: TCP payload not dissected as iwarp_mpa (%s)" % (r["frame.number"], r["frame.protocols"]))
    fpdus = [r for r in payload if "iwarp_ddp_rdmap" in r["chain"]]
    if len(payload) - len(fpdus) != 2:
        fail("%d MPA frames without DDP (want the request and the reply)" % (len(payload) - len(fpdus)))
    verbose = tshark(["-r", path, "-O", "iwarp_mpa"])
    good, bad = verbose.count("(Good CRC32)"), verbose.count("(Bad CRC32")
    if good != len(fpdus) or bad:
        fail("%d FPDUs, %d good CRC32c, %d bad" % (len(fpdus), good, bad))
    sends = [r for r in fpdus if not flag(r["iwarp_ddp.tagged_flag"]) and flag(r["iwarp_ddp.last_flag"])]
    for r in sends:
        if "smb_direct" not in r["chain"]:
            fail("frame %s: RDMAP Send not dissected as smb_direct" % r["frame.number"])
    if not any(flag(r["iwarp_ddp.tagged_flag"]) for r in fpdus):
        fail("no RDMA Write (tagged DDP segment)")
    if not any(r["smb_direct.remaining_length"] not in ("", "0") for r in fpdus):
        fail("no SMB2 message fragmented over SMBD data messages")
    if markers != any(r["iwarp_mpa.marker_fpduptr"] for r in fpdus):
        fail("markers %s expected" % ("" if markers else "not"))
    return len(fpdus), good, sum(len(r["smb2.cmd"].split("|")) for r in rs if r["smb2.cmd"])


def icrc_ok(frame):
    """RoCEv2 ICRC (IBA A17.4.1): CRC-32 over 8 bytes of 0xFF, the IPv4 header
    with TOS, TTL and checksum masked to 1s, the UDP header with the checksum
    masked, the BTH with its FECN/BECN/reserved byte masked, and the payload."""
    ip = frame[14:]
    ihl = (ip[0] & 0x0F) * 4
    total = struct.unpack(">H", ip[2:4])[0]
    pkt = bytearray(ip[:total])
    pkt[1] = 0xFF
    pkt[8] = 0xFF
    pkt[10:12] = b"\xff\xff"
    pkt[ihl + 6:ihl + 8] = b"\xff\xff"
    pkt[ihl + 8 + 4] = 0xFF
    body, sent = bytes(pkt[:-4]), bytes(pkt[-4:])
    return struct.pack("<I", zlib.crc32(b"\xff" * 8 + body) & 0xFFFFFFFF) == sent


def pcap_frames(path):
    data = open(path, "rb").read()
    end = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
        yield data[off + 16:off + 16 + incl]
        off += 16 + incl


def check_roce(path, rs, fail):
    ops = []
    for r in rs:
        if "infiniband" not in r["chain"]:
            fail("frame %s: not infiniband (%s)" % (r["frame.number"], r["frame.protocols"]))
            continue
        op = int(r["infiniband.bth.opcode"], 0)
        ops.append(op)
        if op in (0x00, 0x04, 0x05, 0x17) and "smb_direct" not in r["chain"]:
            fail("frame %s: RC SEND First/Only not dissected as smb_direct" % r["frame.number"])
    bad = sum(1 for f in pcap_frames(path) if not icrc_ok(f))
    if bad:
        fail("%d frames with a bad ICRC" % bad)
    for op, what in ((0x00, "SEND First"), (0x01, "SEND Middle"), (0x02, "SEND Last"), (0x0A, "RDMA Write Only"),
                     (0x17, "SEND Only with Invalidate"), (0x11, "ACK")):
        if op not in ops:
            fail("no %s" % what)
    return len(rs), len(rs) - bad, sum(len(r["smb2.cmd"].split("|")) for r in rs if r["smb2.cmd"])


def smbscope_json(binary, path):
    out = subprocess.run([binary, "--format", "json", "-q", path], stdout=subprocess.PIPE, check=False).stdout
    return json.loads(out)


def check_smbscope(binary, path, want_transport, counts, fail):
    """counts: tshark's numbers, {"fpdus": n, "writes": n} (iWARP) or {"frames": n, "writes": n} (RoCE)."""
    doc = smbscope_json(binary, path)
    conns = doc["connections"]
    if len(conns) != 1:
        fail("smbscope reports %d connections, want 1" % len(conns))
        return
    c = conns[0]
    d = c.get("smb_direct") or {}
    if c["transport"] != want_transport or c["nbss"] is not None or not d:
        fail("smbscope: transport %s, nbss %r, smb_direct %r" % (c["transport"], c["nbss"], bool(d)))
        return
    text = subprocess.run([binary, "-q", path], stdout=subprocess.PIPE, check=False).stdout.decode()
    row = [line for line in text.splitlines() if ("%s:%d" % (c["server"], c["server_port"])) in line and "->" in line]
    if not row or want_transport not in row[0].split():
        fail("text report's connection row does not say %s: %r" % (want_transport, row[:1]))
    if d["rdma_writes"] != counts["writes"]:
        fail("smbscope %d RDMA writes, tshark %d" % (d["rdma_writes"], counts["writes"]))
    if d["rdma_read_requests"] != counts["reads"]:
        fail("smbscope %d RDMA Read Requests, tshark %d" % (d["rdma_read_requests"], counts["reads"]))
    if "fpdus" in counts and (d["mpa"]["fpdus"] != counts["fpdus"] or d["mpa"]["crc_bad"] != counts.get("bad", 0)):
        fail("smbscope %d FPDUs (%d bad CRC), tshark %d (%d bad)" % (d["mpa"]["fpdus"], d["mpa"]["crc_bad"],
                                                                     counts["fpdus"], counts.get("bad", 0)))
    # An FPDU that failed its CRC was not read (it could have shown a
    # violation): a decode-loss unknown per bad FPDU, and never a pass.
    bad = counts.get("bad", 0) if "fpdus" in counts else 0
    losses = {u["reason"]: u["count"] for u in doc["verdict"]["unknowns"]}
    if losses.get("decode-loss", 0) != bad or (bad and doc["verdict"]["outcome"] == "pass") \
            or doc["stats"].get("iwarp_crc_bad_fpdus", 0) != bad:
        fail("%d bad CRC32c (tshark): outcome %s, unknowns %s, stats.iwarp_crc_bad_fpdus %s: each must be a decode-loss"
             % (bad, doc["verdict"]["outcome"], losses, doc["stats"].get("iwarp_crc_bad_fpdus")))
    if "frames" in counts and d["roce"]["packets"] != counts["frames"]:
        fail("smbscope %d RoCEv2 packets, tshark %d frames" % (d["roce"]["packets"], counts["frames"]))


def flipped_copy(path, frame_no, at, tmpdir):
    """A copy of a classic pcap with one octet of frame `frame_no` (1-based) inverted."""
    data = bytearray(open(path, "rb").read())
    off, n = 24, 0
    while off + 16 <= len(data):
        n += 1
        incl = struct.unpack("<I", data[off + 8:off + 12])[0]
        if n == frame_no:
            data[off + 16 + at] ^= 0xFF
            break
        off += 16 + incl
    out = os.path.join(tmpdir, "flipped-" + os.path.basename(path))
    open(out, "wb").write(bytes(data))
    return out


def check_merge_carries(binary, path, tmp, fail):
    """smbscope merge of the capture's report keeps its decode losses (the merge state carries the counters)."""
    state = os.path.join(tmp, "state.json")
    with open(state, "wb") as f:
        subprocess.run([binary, "-q", "-T", "json", "--merge-state", path], stdout=f, check=False)
    merged = json.loads(subprocess.run([binary, "merge", "-T", "json", "-q", state], stdout=subprocess.PIPE,
                                       check=False).stdout)
    want = {u["reason"]: u["count"] for u in json.load(open(state))["verdict"]["unknowns"]}
    got = {u["reason"]: u["count"] for u in merged["verdict"]["unknowns"]}
    if got.get("decode-loss") != want.get("decode-loss") or merged["verdict"]["outcome"] == "pass":
        fail("merge of %s: unknowns %s, outcome %s; the run's own: %s" % (os.path.basename(path), got,
                                                                         merged["verdict"]["outcome"], want))


def check_roce_flipped(binary, path, fail):
    """One octet of the Tree Connect request's share path flipped."""
    frames = list(pcap_frames(path))
    rs = list(rows(path))
    tc = [i for i, r in enumerate(rs) if r["smb2.cmd"] == "3" and "\\" in
          tshark(["-r", path, "-Y", "frame.number==%s" % r["frame.number"], "-T", "fields", "-e", "smb2.tree"])]
    if not tc:
        fail("no Tree Connect request to corrupt")
        return
    frame = frames[tc[0]]
    at = frame.find("IPC".encode("utf-16-le"))
    if at < 0:
        fail("Tree Connect of frame %d does not name IPC$" % (tc[0] + 1))
        return
    with tempfile.TemporaryDirectory() as tmp:
        bad = flipped_copy(path, tc[0] + 1, at, tmp)
        out = tshark(["--disable-protocol", "rpcordma", "-r", bad, "-T", "fields", "-e", "frame.number",
                      "-e", "infiniband.invariant.crc", "-e", "smb2.tree", "-e", "smb2.flags.response"])
        bad_frames, good_trees, bad_trees = 0, set(), set()
        for frame_bytes, line in zip(pcap_frames(bad), out.splitlines()):
            f = (line.split("\t") + ["", "", "", ""])[:4]
            sent = int(f[1], 16) if f[1] else -1
            ok = icrc_ok(frame_bytes)
            if sent not in struct.unpack("<I", frame_bytes[-4:]) + struct.unpack(">I", frame_bytes[-4:]):
                fail("frame %s: tshark's invariant CRC %s is not the frame's last 4 octets" % (f[0], f[1]))
            bad_frames += not ok
            if f[2] and f[3] in ("0", "False"):
                (good_trees if ok else bad_trees).add(f[2])
        doc = smbscope_json(binary, bad)
    c = doc["connections"][0]
    got = c["smb_direct"]["roce"]["icrc_bad"]
    if bad_frames != 1 or got != bad_frames or doc["stats"]["roce_icrc_bad_packets"] != bad_frames:
        fail("flipped copy: %d bad ICRCs recomputed, smbscope %d (stats %d)" %
             (bad_frames, got, doc["stats"]["roce_icrc_bad_packets"]))
    # A frame that could not be read could have shown a violation: no pass.
    losses = {u["reason"]: u["count"] for u in doc["verdict"]["unknowns"]}
    if losses.get("decode-loss") != bad_frames or doc["verdict"]["outcome"] == "pass":
        fail("flipped copy: outcome %s, unknowns %s: the bad-ICRC frame must be a decode-loss" %
             (doc["verdict"]["outcome"], losses))
    shares = {sh["path"] for sh in c["shares"]}
    if shares != good_trees:
        fail("flipped copy: smbscope shares %s, tshark's from good-ICRC frames %s (bad frame: %s)" %
             (sorted(shares), sorted(good_trees), sorted(bad_trees)))
    if not bad_trees or bad_trees & shares:
        fail("flipped copy: the mangled path %s must be dissected by tshark and not reported" % sorted(bad_trees))
    print("%s: one flipped octet: 1 bad ICRC, shares %s (not %s)" % (os.path.basename(path), sorted(shares),
                                                                      sorted(bad_trees)))


def reads(rs):
    """RDMA Read Requests tshark dissects: RDMAP opcode 1 (iWARP), BTH opcode 0x0C (RoCEv2)."""
    return sum(1 for r in rs if r["iwarp_rdma.opcode"] in ("0x01", "1") or
               r["infiniband.bth.opcode"] in ("12", "0x0c", "0x0000000c"))


def check_read_copy(binary, path, carrier, fail):
    """The sample with one RDMA Read Request added (tests/e2e/rdma_read.py):
    tshark dissects it (good CRC), smbscope counts it and reads the rest as before."""
    import rdma_read
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "read-" + os.path.basename(path))
        (rdma_read.iwarp_read_copy if carrier == "rdma-iwarp" else rdma_read.roce_read_copy)(path, out)
        rs = list(rows(out))
        n = reads(rs)
        if n != 1:
            fail("read copy: tshark sees %d RDMA Read Requests, want 1" % n)
        if carrier == "rdma-iwarp":
            v = tshark(["-r", out, "-O", "iwarp_mpa"])
            if v.count("(Bad CRC32"):
                fail("read copy: tshark sees %d bad CRC32c" % v.count("(Bad CRC32"))
        elif not all(icrc_ok(f) for f in pcap_frames(out)):
            fail("read copy: a frame with a bad ICRC")
        before, after = smbscope_json(binary, path), smbscope_json(binary, out)
        c0, c1 = before["connections"][0], after["connections"][0]
        got = (c1["smb_direct"]["rdma_read_requests"], c1["dialect"], after["verdict"]["outcome"],
               after["verdict"]["unknowns"])
        want = (n, c0["dialect"], before["verdict"]["outcome"], [])
        if got != want:
            fail("read copy: smbscope (reads, dialect, outcome, unknowns) %s, want %s" % (got, want))
        print("%s: with one RDMA Read Request added: tshark 1, smbscope %d" %
              (os.path.basename(path), c1["smb_direct"]["rdma_read_requests"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", required=True)
    ap.add_argument("--smbscope")
    a = ap.parse_args()
    errors = []
    for name in list(IWARP) + ROCE:
        def fail(msg, name=name):
            errors.append("%s: %s" % (name, msg))
        path = os.path.join(a.samples, name)
        rs = list(rows(path))
        writes = sum(1 for r in rs if flag(r["iwarp_ddp.tagged_flag"]) or
                     r["infiniband.bth.opcode"] in ("10", "0x0a", "0x0000000a"))
        if name in IWARP:
            n, good, smb2 = check_iwarp(path, rs, IWARP[name], fail)
            print("%s: %d FPDUs, %d good CRC32c, %d SMB2 messages" % (name, n, good, smb2))
            if a.smbscope:
                check_smbscope(a.smbscope, path, "rdma-iwarp", {"fpdus": n, "writes": writes, "reads": reads(rs)}, fail)
                check_read_copy(a.smbscope, path, "rdma-iwarp", fail)
                with tempfile.TemporaryDirectory() as tmp:
                    # frame 10: the NTLMSSP NEGOTIATE; octet 14+20+20+40 is inside its FPDU
                    bad = flipped_copy(path, 10, 94, tmp)
                    v = tshark(["-r", bad, "-O", "iwarp_mpa"])
                    nbad = v.count("(Bad CRC32")
                    if nbad != 1:
                        fail("flipped copy: tshark sees %d bad CRC32c, want 1" % nbad)
                    check_smbscope(a.smbscope, bad, "rdma-iwarp", {"fpdus": n, "writes": writes, "bad": 1,
                                                                   "reads": reads(rs)}, fail)
                    check_merge_carries(a.smbscope, bad, tmp, fail)
        else:
            n, good, smb2 = check_roce(path, rs, fail)
            print("%s: %d frames, %d good ICRC, %d SMB2 messages" % (name, n, good, smb2))
            if a.smbscope:
                check_smbscope(a.smbscope, path, "rdma-roce", {"frames": n, "writes": writes, "reads": reads(rs)}, fail)
                check_read_copy(a.smbscope, path, "rdma-roce", fail)
                check_roce_flipped(a.smbscope, path, fail)
    for e in errors:
        print(e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
