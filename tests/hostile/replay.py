#!/usr/bin/python3
"""replay.py - run every fuzz regression input through the smbscope command.

Inputs live in tests/fuzz/regressions/, named after the harness that found
them (see the README there).  Capture inputs (fuzz_pipeline) are read as
they are; decoder inputs are first carried in a small pcap the way the wire
would carry them, so the whole product (not just the decoder) sees them:

  pipeline-*  the capture file itself
  framer-*    TCP stream bytes (the harness's 4 configuration bytes dropped),
              client->server on 445 and on 139, and server->client
  nbss-*      TCP stream bytes client->server on 139
  smb-*       one SMB message behind a 4-byte length, both directions, 445
  gss-*       an SMB2 SESSION_SETUP request carrying the bytes as its blob
  nbns-*      UDP payload to 137 and to 138

Each run (JSON and text) must exit 0, 1 or 2 within the timeout, print no
sanitizer report, print JSON that parses and a text report without ESC.

usage: replay.py --smbscope BIN --dir tests/fuzz/regressions
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_hostile as g  # noqa: E402
import pcapio  # noqa: E402

SANITIZER = (b"AddressSanitizer", b"LeakSanitizer", b"runtime error:", b"UndefinedBehaviorSanitizer")


def stream_capture(path, flows):
    """flows: list of (server port, client bytes, server bytes)."""
    with open(path, "wb") as f:
        w = pcapio.PcapWriter(f)
        for i, (port, c2s, s2c) in enumerate(flows):
            c = g.Conv(w, g.CLIENT, 40000 + i, g.SERVER, port)
            c.handshake()
            if c2s:
                c.send(0, c2s)
            if s2c:
                c.send(1, s2c)
            c.close()
        w.flush()


def wrap(name, data, out):
    """Write the capture for regression input `name`; return its path."""
    kind = name.split("-", 1)[0]
    if kind == "pipeline" or kind not in ("framer", "nbss", "smb", "gss", "nbns"):
        return None  # the file itself
    if kind == "framer":
        s = data[4:]
        stream_capture(out, [(445, s, s), (139, s, b""), (8445, b"", s)])
    elif kind == "nbss":
        stream_capture(out, [(139, data, b"\x82\0\0\0")])
    elif kind == "smb":
        m = g.nbss(data)
        stream_capture(out, [(445, m, m), (139, m, b"")])
    elif kind == "gss":
        req = g.nbss(g.smb2_negotiate_req([0x202, 0x311]))
        rsp = g.nbss(g.smb2_negotiate_rsp(0x311))
        stream_capture(out, [(445, req + g.nbss(g.smb2_session_setup_req(data)), rsp)])
    elif kind == "nbns":
        with open(out, "wb") as f:
            w = pcapio.PcapWriter(f)
            w.add(1, pcapio.eth_udp(g.CLIENT, g.SERVER, 137, 137, data))
            w.add(2, pcapio.eth_udp(g.CLIENT, g.SERVER, 138, 138, data))
            w.flush()
    return out


def check(smbscope, path, label):
    problems = []
    for fmt in ("json", "text"):
        try:
            p = subprocess.run([smbscope, "-q", "--format", fmt, path], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=120)
        except subprocess.TimeoutExpired:
            problems.append("%s (%s): timed out" % (label, fmt))
            continue
        if p.returncode not in (0, 1, 2, 3):
            problems.append("%s (%s): exit status %d" % (label, fmt, p.returncode))
        for s in SANITIZER:
            if s in p.stderr:
                problems.append("%s (%s): %s" % (label, fmt, p.stderr[p.stderr.find(s):][:400]))
                break
        if fmt == "json":
            try:
                json.loads(p.stdout.decode("utf-8", errors="strict"))
            except ValueError as e:
                problems.append("%s: JSON does not parse: %s" % (label, e))
        elif b"\x1b" in p.stdout:
            problems.append("%s: ESC byte in the text report" % label)
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--dir", required=True)
    args = ap.parse_args()
    names = sorted(n for n in os.listdir(args.dir) if not n.endswith(".md"))
    problems = []
    with tempfile.TemporaryDirectory(prefix="smbscope-replay-") as tmp:
        for n in names:
            src = os.path.join(args.dir, n)
            data = open(src, "rb").read()
            path = wrap(n, data, os.path.join(tmp, n + ".pcap")) or src
            problems += check(args.smbscope, path, n)
    for p in problems:
        print("FAIL", p)
    print("%d regression inputs replayed, %d problems" % (len(names), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
