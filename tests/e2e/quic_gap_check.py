#!/usr/bin/python3
"""quic_gap_check.py - lost 1-RTT data in SMB over QUIC is a stream gap, as on TCP.

A capture that missed QUIC packets carrying the SMB stream (read with
--tls-keylog) leaves holes in it.  smbscope must report each hole in the
connection's stream.gaps / stream.gap_bytes (the members a TCP connection
fills from its reassembly) as well as in quic.stream_bytes_dropped, and the
Evidence block must count them.

Made at test time from samples/quic443-smb3_11.pcap: tshark (with the key log)
lists the frames carrying stream 0 and their STREAM frame lengths; editcap
drops one client and one server frame from the middle of the exchange.  The
expected gap bytes are tshark's quic.stream.length of the dropped frames.
The untouched capture must report no gap.

Usage: quic_gap_check.py --smbscope BIN --samples DIR   Exit: 0 ok, 1 a check failed.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

CAPTURE = "quic443-smb3_11.pcap"
KEYLOG = "quic443-smb3_11.keylog"


def tshark_stream_frames(pcap, keylog):
    """[(frame, from_client_port, length of stream-0 data)] as tshark decrypts them."""
    out = subprocess.run([os.environ.get("TSHARK", "tshark"), "-n", "-r", pcap, "-o", "tls.keylog_file:" + keylog,
                          "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|", "-e", "frame.number",
                          "-e", "udp.srcport", "-e", "udp.dstport", "-e", "quic.stream.stream_id",
                          "-e", "quic.stream.length"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True,
                         env=dict(os.environ, LC_ALL="C")).stdout.decode()
    rows = []
    for line in out.splitlines():
        f = line.split("\t")
        if len(f) < 5 or not f[3]:
            continue
        n = sum(int(ln) for sid, ln in zip(f[3].split("|"), f[4].split("|")) if sid == "0")
        if n:
            rows.append((int(f[0]), int(f[1]), int(f[2]), n))
    return rows


def report(smbscope, pcap, keylog):
    proc = subprocess.run([smbscope, "--format", "json", "-q", "--tls-keylog", keylog, pcap],
                          stdout=subprocess.PIPE, check=False)
    if proc.returncode not in (0, 1, 3):
        raise RuntimeError("smbscope exit %d on %s" % (proc.returncode, pcap))
    return json.loads(proc.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples", required=True)
    args = ap.parse_args()
    pcap = os.path.join(args.samples, CAPTURE)
    keylog = os.path.join(args.samples, KEYLOG)
    failures = []

    def check(what, got, want):
        if got != want:
            failures.append("%s: %r, want %r" % (what, got, want))

    rows = tshark_stream_frames(pcap, keylog)
    client_port = rows[0][1]  # the client opens stream 0
    client = [r for r in rows if r[1] == client_port]
    server = [r for r in rows if r[1] != client_port]
    if len(client) < 4 or len(server) < 4:
        print("FAIL: tshark shows too few stream frames (%d, %d)" % (len(client), len(server)))
        return 1
    # Holes in the middle: later data in the same direction proves them.
    dropped = [client[len(client) // 2], server[len(server) // 2]]
    want_bytes = sum(r[3] for r in dropped)

    full = report(args.smbscope, pcap, keylog)
    c = full["connections"][0]
    check("untouched: stream.gaps", c["stream"]["gaps"], 0)
    check("untouched: quic.stream_bytes_dropped", c["quic"]["stream_bytes_dropped"], 0)

    with tempfile.TemporaryDirectory() as tmp:
        cut = os.path.join(tmp, "gap.pcap")
        subprocess.run(["editcap", pcap, cut] + [str(r[0]) for r in dropped], check=True,
                       stdout=subprocess.DEVNULL)
        doc = report(args.smbscope, cut, keylog)
    conns = doc["connections"]
    check("connections", len(conns), 1)
    c = conns[0]
    check("transport", c["transport"], "quic")
    check("stream.gaps", c["stream"]["gaps"], len(dropped))
    check("stream.gap_bytes", c["stream"]["gap_bytes"], want_bytes)
    check("quic.stream_bytes_dropped", c["quic"]["stream_bytes_dropped"], want_bytes)
    losses = doc["evidence"]["decode_losses"]
    check("evidence stream_gaps", losses["stream_gaps"], len(dropped))
    check("evidence stream_gap_bytes", losses["stream_gap_bytes"], want_bytes)
    check("dialect still read", c["dialect"], "3.1.1")
    for f in failures:
        print("FAIL:", f)
    if not failures:
        print("ok: frames %s dropped, %d gaps of %d bytes in stream.gaps and quic.stream_bytes_dropped"
              % (",".join(str(r[0]) for r in dropped), len(dropped), want_bytes))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
