#!/usr/bin/python3
"""iwarp_midstream_check.py - SMB Direct over iWARP without its MPA startup.

1. samples/rdma-iwarp-midstream-5445.pcap (rdma-iwarp-5445.pcap without the
   TCP handshake and the MPA request/reply): tshark's MPA dissector only
   dissects FPDUs of a connection whose startup it saw, and it has no
   Decode As entry for TCP ports, so the reference is tshark's dissection of
   the same frames inside the capture they were cut from (NAME.origin; the
   frames are checked identical).  smbscope must report one rdma-iwarp
   connection, mid-stream, its FPDUs equal to tshark's, no bad CRC, the
   shares tshark saw, and the SMBD negotiate tshark dissected.
2. A gap: rdma-iwarp-5445.pcap with one client FPDU frame dropped (editcap).
   tshark dissects every remaining frame (each is one FPDU); smbscope must
   realign after the hole (mpa.resyncs 1), count tshark's FPDUs and report
   the shares tshark saw.
3. No false positives: mid-stream TCP connections (no handshake) on 5445,
   445 and other ports carrying random bytes, random bytes behind a
   plausible ULPDU length, TLS records, HTTP, and a real FPDU with one octet
   flipped (bad CRC32c) must not become iWARP (nor SMB); the control -- the
   sample's own FPDU segments on a fresh connection to port 15445 -- must.

Usage: iwarp_midstream_check.py --smbscope BIN --samples DIR   Exit: 0 ok, 1 a check failed.
"""

import argparse
import json
import os
import random
import struct
import subprocess
import sys
import tempfile

SAMPLE = "rdma-iwarp-midstream-5445.pcap"
FULL = "rdma-iwarp-5445.pcap"


def tshark_fields(path, fields, extra=()):
    cmd = [os.environ.get("TSHARK", "tshark"), "-n", "-r", path, "--disable-protocol", "artemis", "-T", "fields",
           "-E", "occurrence=a", "-E", "aggregator=|"] + list(extra)
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True,
                         env=dict(os.environ, LC_ALL="C")).stdout.decode("utf-8", "replace")
    return [dict(zip(fields, (line.split("\t") + [""] * len(fields))[:len(fields)])) for line in out.splitlines()]


def tshark_view(path, first=1):
    """FPDUs, good CRCs, Tree Connect paths and SMBD negotiates tshark dissects in frames >= first."""
    rows = [r for r in tshark_fields(path, ["frame.number", "frame.protocols", "smb2.tree", "smb2.flags.response",
                                            "smb_direct.version.negotiated", "smb_direct.max_receive_size"])
            if int(r["frame.number"]) >= first]
    fpdus = sum(1 for r in rows if "iwarp_ddp_rdmap" in r["frame.protocols"].split(":"))
    verbose = subprocess.run([os.environ.get("TSHARK", "tshark"), "-n", "-r", path, "--disable-protocol", "artemis",
                              "-O", "iwarp_mpa", "-Y", "frame.number >= %d" % first], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, check=True).stdout.decode("utf-8", "replace")
    trees = {r["smb2.tree"] for r in rows if r["smb2.tree"] and r["smb2.flags.response"] in ("0", "False")}
    negotiated = [r["smb_direct.version.negotiated"] for r in rows if r["smb_direct.version.negotiated"]]
    return {"fpdus": fpdus, "good": verbose.count("(Good CRC32)"), "bad": verbose.count("(Bad CRC32"),
            "trees": trees, "negotiated": negotiated}


def report(binary, path):
    proc = subprocess.run([binary, "--format", "json", "-q", path], stdout=subprocess.PIPE, check=False)
    if proc.returncode not in (0, 1, 3):
        raise RuntimeError("smbscope exit %d on %s" % (proc.returncode, path))
    return json.loads(proc.stdout)


# ---- a minimal pcap writer for the false-positive captures ----

def pcap(frames):
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)]
    for i, f in enumerate(frames):
        out.append(struct.pack("<IIII", 1700000000, i, len(f), len(f)) + f)
    return b"".join(out)


def tcp_frame(src, dst, sport, dport, seq, ack, payload):
    tcp = struct.pack(">HHIIBBHHH", sport, dport, seq, ack, 5 << 4, 0x18, 502, 0, 0)
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0x4000, 64, 6, 0,
                     bytes(src), bytes(dst))
    return b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" + ip + tcp + payload


def conversation(frames, n, dport, client_segs, server_segs):
    """A connection whose handshake was not captured; alternating segments."""
    cli, srv = (10, 213, 44, 2), (10, 213, 44, 1)
    sport = 40000 + n
    seq = [1000 + 7919 * n, 5000 + 104729 * n]
    for i in range(max(len(client_segs), len(server_segs))):
        for d, segs in ((0, client_segs), (1, server_segs)):
            if i < len(segs):
                a, b = (cli, srv) if d == 0 else (srv, cli)
                p, q = (sport, dport) if d == 0 else (dport, sport)
                frames.append(tcp_frame(a, b, p, q, seq[d], seq[1 - d], segs[i]))
                seq[d] += len(segs[i])


def sample_segments(path, first):
    """The TCP payloads of each direction of the sample from frame `first` (tshark)."""
    rows = tshark_fields(path, ["frame.number", "tcp.srcport", "tcp.payload"])
    segs = {}
    for r in rows:
        if int(r["frame.number"]) >= first and r["tcp.payload"]:
            segs.setdefault(int(r["tcp.srcport"]), []).append(bytes.fromhex(r["tcp.payload"].replace(":", "")))
    return segs


def negatives(rng, fpdu):
    def rand(n):
        return bytes(rng.getrandbits(8) for _ in range(n))

    def prefixed(n):
        b = bytearray(rand(n))
        struct.pack_into(">H", b, 0, rng.randrange(14, n - 6))
        return bytes(b)

    def tls(n):
        return b"\x17\x03\x03" + struct.pack(">H", n) + rand(n)

    flipped = bytearray(fpdu)
    flipped[len(flipped) // 2] ^= 0x20
    http = b"GET /index.html HTTP/1.1\r\nHost: files.example\r\nAccept: */*\r\n\r\n"
    return [
        ("random", [rand(1400) for _ in range(3)], [rand(900) for _ in range(3)]),
        ("length-prefixed", [prefixed(600) for _ in range(3)], [prefixed(300) for _ in range(3)]),
        ("tls", [tls(1200) for _ in range(3)], [tls(700) for _ in range(3)]),
        ("http", [http], [b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"]),
        ("bad-crc-fpdu", [bytes(flipped)], [rand(64)]),
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples", required=True)
    a = ap.parse_args()
    errors = []

    def check(what, got, want):
        if got != want:
            errors.append("%s: %r, want %r" % (what, got, want))

    # 1. the mid-stream sample against tshark's view of the same frames
    src, first = open(os.path.join(a.samples, SAMPLE[:-5] + ".origin")).read().split()
    want = tshark_view(os.path.join(a.samples, src), int(first))
    alone = tshark_view(os.path.join(a.samples, SAMPLE))
    check("tshark alone dissects FPDUs of the mid-stream cut (the reason for .origin)", alone["fpdus"], 0)
    doc = report(a.smbscope, os.path.join(a.samples, SAMPLE))
    conns = doc["connections"]
    check("mid-stream: connections", len(conns), 1)
    if conns:
        c = conns[0]
        mpa = (c.get("smb_direct") or {}).get("mpa") or {}
        check("mid-stream: transport", c["transport"], "rdma-iwarp")
        check("mid-stream: stream.midstream", c["stream"]["midstream"], True)
        check("mid-stream: mpa.midstream", mpa.get("midstream"), True)
        check("mid-stream: mpa.request_seen", mpa.get("request_seen"), False)
        check("mid-stream: FPDUs (tshark in the source)", mpa.get("fpdus"), want["fpdus"])
        check("mid-stream: bad CRCs", mpa.get("crc_bad"), want["bad"])
        check("mid-stream: shares", {s["path"] for s in c["shares"]}, want["trees"])
        neg = c["smb_direct"]["smbd"]["negotiate_response"]
        check("mid-stream: SMBD negotiated version", neg and "0x%04x" % neg["negotiated_version"],
              want["negotiated"][0] if want["negotiated"] else None)
        print("mid-stream: %d FPDUs, shares %s, dialect %s" % (mpa.get("fpdus", 0), sorted(want["trees"]),
                                                               c["dialect"]))

    with tempfile.TemporaryDirectory() as tmp:
        # 2. a lost FPDU: realigned after the gap
        full = os.path.join(a.samples, FULL)
        rows = tshark_fields(full, ["frame.number", "tcp.srcport", "smb2.cmd"])
        client_port = int(rows[0]["tcp.srcport"])
        drop = [int(r["frame.number"]) for r in rows if r["smb2.cmd"] and int(r["tcp.srcport"]) == client_port][3]
        cut = os.path.join(tmp, "gap.pcap")
        subprocess.run(["editcap", full, cut, str(drop)], check=True, stdout=subprocess.DEVNULL)
        want = tshark_view(cut)
        c = report(a.smbscope, cut)["connections"][0]
        mpa = c["smb_direct"]["mpa"]
        check("gap: stream.gaps", c["stream"]["gaps"], 1)
        check("gap: mpa.resyncs", mpa["resyncs"], 1)
        check("gap: FPDUs (tshark)", mpa["fpdus"], want["fpdus"])
        check("gap: shares (tshark)", {s["path"] for s in c["shares"]}, want["trees"])
        print("gap: frame %d dropped, %d FPDUs after realigning, shares %s" % (drop, mpa["fpdus"],
                                                                              sorted(want["trees"])))

        # 3. other TCP payloads are not iWARP; the control is
        rng = random.Random(20261130)
        segs = sample_segments(full, int(first))
        server_port = 5445
        cli_segs = segs[client_port]
        srv_segs = segs[server_port]
        frames = []
        n = 0
        for dport in (5445, 445, 15445, 8080):
            for name, cs, ss in negatives(rng, cli_segs[1]):
                n += 1
                conversation(frames, n, dport, cs, ss)
        n += 1
        conversation(frames, n, 15445, cli_segs, srv_segs)  # the control
        fp = os.path.join(tmp, "others.pcap")
        open(fp, "wb").write(pcap(frames))
        doc = report(a.smbscope, fp)
        iwarp = [c for c in doc["connections"] if c["transport"] == "rdma-iwarp" or c.get("smb_direct")]
        check("others: iWARP connections (only the control)", [(c["client_port"], c["server_port"]) for c in iwarp],
              [(40000 + n, 15445)])
        check("others: SMB connections (only the control)", len(doc["connections"]), 1)
        check("others: TCP connections seen", doc["evidence"]["tcp_connections"], n)
        if iwarp:
            check("control: dialect", iwarp[0]["dialect"], "3.1.1")
        print("others: %d mid-stream TCP connections, %d iWARP" % (n, len(iwarp)))

    for e in errors:
        print("FAIL:", e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
