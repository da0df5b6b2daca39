#!/usr/bin/env python3
"""Merge keeps a connection's session and share caps as one run does
(review, 2026-12-02), TAP.

One run lists at most 32 sessions and 64 shares of a connection and counts
the rest (connections[].sessions_not_listed, shares_not_listed:
analyzer/model/session_join.c).  Merge joined the parts' entries without
the caps: a connection of 40 sessions cut in two listed 40 and no count,
and one cut in 141 parts made an entry that merge then refused to merge
again.  Generated here: one SMB 2.1 connection to 445 with 40 SESSION_SETUPs
and 70 TREE_CONNECTs (each its own share path), answered; cut into two,
three and twelve parts.  The merge's entry is the joint run's, member for
member and in its order, and merges again.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hostile"))
from pcapio import eth_tcp  # noqa: E402

CLIENT, SERVER = (10, 1, 0, 2), (10, 1, 0, 1)
SESSIONS, SHARES = 40, 70
results = []


def tap(ok, name, detail=""):
    results.append((ok, name, detail))


def smb2(cmd, sid, mid, body, resp, tree=0):
    h = b"\xfeSMB" + struct.pack("<HHIHHIIQIIQ", 64, 1, 0, cmd, 1, 1 if resp else 0, 0, mid, 0xfeff, tree, sid)
    m = h + bytes(16) + body
    return struct.pack(">I", len(m)) + m


def connection():
    """The connection's frames (time in microseconds, frame): its handshake,
    NEGOTIATE, then one SESSION_SETUP or TREE_CONNECT exchange a second."""
    frames, seq = [], {True: 1000, False: 5000}
    t = [1700000000 * 10**6]

    def send(client, flags, payload=b""):
        t[0] += 1000
        src, dst, sp, dp = (CLIENT, SERVER, 50000, 445) if client else (SERVER, CLIENT, 445, 50000)
        frames.append((t[0], eth_tcp(src, dst, sp, dp, seq[client], seq[not client], flags, payload)))
        seq[client] += len(payload) + (1 if flags & 0x02 else 0)

    send(True, 0x02)
    seq[False] -= 0
    send(False, 0x12)
    send(True, 0x10)
    neg = struct.pack("<HHHHI16sQ", 36, 2, 1, 0, 0, b"G" * 16, 0) + struct.pack("<HH", 0x0202, 0x0210)
    send(True, 0x18, smb2(0, 0, 0, neg, False))
    negr = struct.pack("<HHHH16sIIIIQQHHI", 65, 1, 0x0210, 0, b"S" * 16, 0, 65536, 65536, 65536, 0, 0, 128, 0, 0)
    send(False, 0x18, smb2(0, 0, 0, negr, True))
    mid = 1
    for i in range(max(SESSIONS, SHARES)):
        t[0] += 10**6
        if i < SESSIONS:
            send(True, 0x18, smb2(1, 0, mid, struct.pack("<HBBIIHHQ", 25, 0, 1, 0, 0, 88, 0, 0), False))
            send(False, 0x18, smb2(1, 0x1000 + i, mid, struct.pack("<HHHH", 9, 0, 72, 0), True))
            mid += 1
        if i < SHARES:
            path = ("\\\\srv\\share%d" % i).encode("utf-16-le")
            send(True, 0x18, smb2(3, 0x1000, mid, struct.pack("<HHHH", 9, 0, 64 + 8, len(path)) + path, False))
            send(False, 0x18, smb2(3, 0x1000, mid, struct.pack("<HBBIII", 16, 1, 0, 0, 0, 0x1F01FF), True, 1 + i))
            mid += 1
    return frames


def write(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for t, fr in frames:
            f.write(struct.pack("<IIII", t // 10**6, t % 10**6, len(fr), len(fr)) + fr)


def report(smbscope, args):
    """smbscope [merge] -q -T json ARGS: (exit, report or None, stderr)."""
    head = ["merge"] if args[0] == "merge" else []
    p = subprocess.run([smbscope] + head + ["-q", "-T", "json"] + args[len(head):], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    return p.returncode, (json.loads(p.stdout) if p.returncode != 2 else None), p.stderr.decode(errors="replace")


KEYS = ("sessions", "sessions_not_listed", "shares", "shares_not_listed")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    o = ap.parse_args()
    frames = connection()
    with tempfile.TemporaryDirectory(prefix="smbscope-merge-sessions-") as tmp:
        whole = os.path.join(tmp, "whole.pcap")
        write(whole, frames)
        tshark = os.environ.get("TSHARK", "tshark")
        seen = subprocess.run([tshark, "-r", whole, "-Y", "smb2 && !_ws.malformed && !_ws.expert.severity >= error",
                               "-T", "fields", "-e", "frame.number"], capture_output=True, text=True).stdout.split()
        tap(len(seen) == 2 + 2 * SESSIONS + 2 * SHARES, "tshark dissects the %d SMB2 frames cleanly" % len(seen))
        _, joint, _ = report(o.smbscope, [whole])
        want = joint["connections"][0]
        tap(len(want["sessions"]) == 32 and want.get("sessions_not_listed") == SESSIONS - 32 and
            len(want["shares"]) == 64 and want.get("shares_not_listed") == SHARES - 64,
            "the joint run lists 32 sessions and 64 shares, counts the rest",
            repr({k: (len(want[k]) if isinstance(want.get(k), list) else want.get(k)) for k in KEYS}))
        for parts in (2, 3, 12):
            step = -(-len(frames) // parts)
            names = []
            for k in range(parts):
                names.append(os.path.join(tmp, "p%d-%d.pcap" % (parts, k)))
                write(names[-1], frames[k * step:(k + 1) * step])
                _, r, _ = report(o.smbscope, [names[-1]])
                with open(names[-1] + ".json", "w") as f:
                    json.dump(r, f)
            rc, m, err = report(o.smbscope, ["merge"] + [n + ".json" for n in names])
            got = m["connections"][0] if m and m.get("connections") else {}
            tap(rc != 2 and list(got) == list(want) and all(got.get(k) == want.get(k) for k in KEYS),
                "%d parts: the merge's entry lists and counts the sessions and shares as the joint run" % parts,
                err.strip() or repr({k: (len(got[k]) if isinstance(got.get(k), list) else got.get(k)) for k in KEYS}))
            again = os.path.join(tmp, "m%d.json" % parts)
            with open(again, "w") as f:
                json.dump(m, f)
            rc, m2, err = report(o.smbscope, ["merge", again])
            tap(rc != 2 and m2["connections"][0] == got, "%d parts: the merged report merges again alike" % parts,
                err.strip())
    print("1..%d" % len(results))
    for i, (ok, name, detail) in enumerate(results, 1):
        print("%s %d - %s%s" % ("ok" if ok else "not ok", i, name, (" # " + detail) if detail and not ok else ""))
    return 0 if all(r[0] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
