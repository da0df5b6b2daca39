#!/usr/bin/python3
"""quic_loss_check.py - SMB over QUIC that could not be read is never a pass.

Corrupted copies of samples/quic443-smb3_11.pcap (one octet inverted at test
time, the last octet of one QUIC packet: inside its AEAD tag), each checked
against tshark's dissection of the same copy with the sample's key log:

  initial   the client's first Initial (ClientHello; a Retry follows).  Its
            keys come from its DCID, so it fails to decrypt with or without
            the key log: a decode-loss of exactly the packets tshark cannot
            decrypt, with and without --tls-keylog; the connection is still
            found from the Initial after the Retry.
  initials  both client Initials: the connection is never recognised (no SMB
            connection); a decode-loss of at least the damaged packets and at
            most the datagrams that open with an Initial (the server's
            cannot be attributed either; tshark fails on them and later ones).
  app       a client 1-RTT packet carrying the SMB stream: with the key log a
            decode-loss of the one packet tshark cannot decrypt; without it
            1-RTT is unreadable anyway: no decode-loss, the default policy
            passes (ALPN "smb" rules out NBSS and SMB1), and a policy about
            SMB content (--require-signing) is left undecided by a no-keys
            unknown naming the connection (with the key log the untouched
            capture passes it: its PDUs are signed).

Every case must leave the verdict short of a pass where something was lost,
and the untouched capture must show no loss.

Usage: quic_loss_check.py --smbscope BIN --samples DIR   Exit: 0 ok, 1 a check failed.
"""

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

CAPTURE = "quic443-smb3_11.pcap"
KEYLOG = "quic443-smb3_11.keylog"
FIELDS = ["frame.number", "frame.len", "udp.srcport", "udp.length", "quic.header_form", "quic.long.packet_type",
          "quic.packet_length", "quic.stream.stream_id", "quic.decryption_failed"]


def tshark(pcap, keylog):
    cmd = [os.environ.get("TSHARK", "tshark"), "-n", "-r", pcap, "-T", "fields", "-E", "occurrence=a",
           "-E", "aggregator=|"]
    if keylog:
        cmd += ["-o", "tls.keylog_file:" + keylog]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True,
                         env=dict(os.environ, LC_ALL="C")).stdout.decode()
    rows = []
    for line in out.splitlines():
        v = (line.split("\t") + [""] * len(FIELDS))[:len(FIELDS)]
        rows.append({f: x.split("|") if x else [] for f, x in zip(FIELDS, v)})
    return rows


def undecrypted(rows):
    return [int(r["frame.number"][0]) for r in rows if r["quic.decryption_failed"]]


def flip_last_octet(src, dst, frames):
    """Invert the last octet of the first QUIC packet of each frame (number -> row)."""
    data = bytearray(open(src, "rb").read())
    off, n = 24, 0
    while off + 16 <= len(data):
        n += 1
        incl = struct.unpack("<I", data[off + 8:off + 12])[0]
        if n in frames:
            r = frames[n]
            payload = int(r["frame.len"][0]) - int(r["udp.length"][0]) + 8  # UDP payload's offset in the frame
            data[off + 16 + payload + int(r["quic.packet_length"][0]) - 1] ^= 0xFF
        off += 16 + incl
    open(dst, "wb").write(bytes(data))


def report(smbscope, pcap, keylog=None, extra=()):
    cmd = [smbscope, "--format", "json", "-q"] + list(extra) + (["--tls-keylog", keylog] if keylog else []) + [pcap]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, check=False)
    if proc.returncode not in (0, 1, 3):
        raise RuntimeError("smbscope exit %d on %s" % (proc.returncode, pcap))
    doc = json.loads(proc.stdout)
    doc["_unknowns"] = {u["reason"]: u["count"] for u in doc["verdict"]["unknowns"]}
    return doc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples", required=True)
    args = ap.parse_args()
    pcap = os.path.join(args.samples, CAPTURE)
    keylog = os.path.join(args.samples, KEYLOG)
    failures = []

    def check(what, ok, detail):
        if not ok:
            failures.append("%s: %s" % (what, detail))

    rows = tshark(pcap, keylog)
    client = rows[0]["udp.srcport"][0]
    initials = [r for r in rows if r["udp.srcport"][0] == client and r["quic.header_form"][:1] == ["1"]
                and r["quic.long.packet_type"][:1] == ["0"]]
    initials_all = [r for r in rows if r["quic.long.packet_type"][:1] == ["0"]]
    app = [r for r in rows if r["udp.srcport"][0] == client and r["quic.header_form"][:1] == ["0"]
           and "0" in r["quic.stream.stream_id"]]
    check("tshark", undecrypted(rows) == [] and len(initials) >= 2 and len(app) >= 4,
          "the untouched capture: %s undecrypted, %d client Initials, %d client stream frames"
          % (undecrypted(rows), len(initials), len(app)))
    for keys in (None, keylog):
        doc = report(args.smbscope, pcap, keys)
        check("untouched%s" % (" (keys)" if keys else ""), doc["verdict"]["outcome"] == "pass" and
              not doc["_unknowns"], "outcome %s, unknowns %s" % (doc["verdict"]["outcome"], doc["_unknowns"]))
    doc = report(args.smbscope, pcap, keylog, ["--require-signing"])
    check("untouched, --require-signing with keys", doc["verdict"]["outcome"] == "pass",
          "outcome %s, unknowns %s" % (doc["verdict"]["outcome"], doc["_unknowns"]))

    cases = {"initial": initials[:1], "initials": initials[:2], "app": [app[len(app) // 2]]}
    with tempfile.TemporaryDirectory() as tmp:
        for name, frames in cases.items():
            bad = os.path.join(tmp, name + ".pcap")
            flip_last_octet(pcap, bad, {int(r["frame.number"][0]): r for r in frames})
            failed = undecrypted(tshark(bad, keylog))
            want = sorted(int(r["frame.number"][0]) for r in frames)
            # Without either ClientHello tshark cannot follow the handshake
            # either: the server's packets after them fail too.
            check(name + ": tshark", failed == want or (name == "initials" and set(want) <= set(failed)),
                  "undecryptable frames %s, want the damaged %s" % (failed, want))
            for keys in (None, keylog):
                label = "%s%s" % (name, " (keys)" if keys else "")
                doc = report(args.smbscope, bad, keys)
                loss = doc["_unknowns"].get("decode-loss", 0)
                smb = [c for c in doc["connections"] if c["transport"] == "quic"]
                if name == "app" and not keys:
                    check(label, loss == 0 and doc["verdict"]["outcome"] == "pass",
                          "1-RTT is unreadable without keys: outcome %s, unknowns %s"
                          % (doc["verdict"]["outcome"], doc["_unknowns"]))
                    sig = report(args.smbscope, bad, None, ["--require-signing"])
                    check(label + ", --require-signing", sig["_unknowns"].get("no-keys") == 1 and
                          "nothing-to-judge" not in sig["_unknowns"] and sig["verdict"]["outcome"] == "inconclusive",
                          "outcome %s, unknowns %s" % (sig["verdict"]["outcome"], sig["_unknowns"]))
                    continue
                # "initials": every datagram opening with an Initial is
                # unattributable, at least the damaged ones
                exact = name != "initials"
                check(label, (loss == len(failed) if exact else len(want) <= loss <= len(initials_all))
                      and doc["verdict"]["outcome"] == "inconclusive",
                      "decode-loss %d, tshark cannot decrypt %d; outcome %s"
                      % (loss, len(failed), doc["verdict"]["outcome"]))
                check(label + ": connections", len(smb) == (0 if name == "initials" else 1),
                      "%d SMB over QUIC connections" % len(smb))
                if name == "app" and smb:
                    check(label + ": dialect", smb[0]["dialect"] == "3.1.1", "dialect %s" % smb[0]["dialect"])
            print("%s: frames %s damaged, tshark cannot decrypt %s" % (name, want, failed))
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
