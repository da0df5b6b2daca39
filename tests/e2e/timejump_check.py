#!/usr/bin/python3
"""timejump_check.py - captures whose time jumps, built at test time.

Concatenated captures (mergecap -a), multi-interface captures with skewed
clocks and broken timestamps step back and forth in time.  Each case here
is made from the samples with editcap/mergecap: a second capture appended
whose clock is seconds or years ahead of or behind the first, and one
packet in the middle of a bulk transfer skewed seconds or years either way.
On every case smbscope's connections (count, endpoints) and their dialects
must equal tshark's (tcp.stream, smb2.dialect of the NEGOTIATE responses),
and its stats.time_jumps must count the jumps the case made.

Usage: timejump_check.py --smbscope BIN --samples DIR
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

YEAR = 365 * 86400
DIALECTS = {0x0202: "2.0.2", 0x0210: "2.1", 0x0300: "3.0", 0x0302: "3.0.2", 0x0311: "3.1.1"}
SKEWED_FRAME = 500  # inside smb445-bulk.pcap's READ/WRITE traffic


def run(args):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True).stdout.decode()


def time_range(path):
    """(earliest, latest) packet time in seconds (the samples are in time order)."""
    f = run(["capinfos", "-a", "-e", "-S", "-T", "-r", path]).split("\t")
    return float(f[1]), float(f[2])


def shifted(src, seconds, out):
    run(["editcap", "-t", "%.6f" % seconds, src, out])
    return out


def concat(tmp, name, first, second, gap):
    """second appended to first, its clock moved to start gap seconds after
    first's last packet (negative: before)."""
    _, end = time_range(first)
    start, _ = time_range(second)
    moved = shifted(second, end + gap - start, os.path.join(tmp, name + ".second.pcap"))
    out = os.path.join(tmp, name + ".pcap")
    run(["mergecap", "-F", "pcap", "-a", "-w", out, first, moved])
    return out


def skew_one(tmp, name, src, frame, seconds):
    """src with frame number `frame` alone moved by seconds."""
    parts = []
    for i, (rng, shift) in enumerate([("1-%d" % (frame - 1), 0), (str(frame), seconds), ("%d-%d" % (frame + 1, 1 << 31), 0)]):
        part = os.path.join(tmp, "%s.%d.pcap" % (name, i))
        run(["editcap", "-r", src, part, rng])
        if shift:
            part = shifted(part, shift, part + ".shifted.pcap")
        parts.append(part)
    out = os.path.join(tmp, name + ".pcap")
    run(["mergecap", "-F", "pcap", "-a", "-w", out] + parts)
    return out


def tshark_conns(path):
    """{(endpoint, endpoint): dialect or None} per tcp.stream carrying SMB."""
    streams = {}
    out = run(["tshark", "-r", path, "-Y", "smb || smb2", "-T", "fields", "-E", "separator=\t",
               "-e", "tcp.stream", "-e", "ip.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "tcp.dstport",
               "-e", "smb2.cmd", "-e", "smb2.flags.response", "-e", "smb2.dialect"])
    for line in out.splitlines():
        f = line.split("\t")
        key = tuple(sorted([(f[1], int(f[2])), (f[3], int(f[4]))]))
        s = streams.setdefault(int(f[0]), {"key": key, "dialect": None})
        # a NEGOTIATE response (not compounded) names the dialect; the last wins
        if f[5] == "0" and f[6] in ("1", "True") and f[7]:
            s["dialect"] = DIALECTS.get(int(f[7].split(",")[-1], 16), f[7])
    conns = {}
    for s in streams.values():
        conns.setdefault(s["key"], []).append(s["dialect"])
    return conns


def smbscope_conns(smbscope, path):
    proc = subprocess.run([smbscope, "--format", "json", "-q", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode not in (0, 1):
        raise RuntimeError("%s: exit %d: %s" % (path, proc.returncode, proc.stderr.decode(errors="replace")))
    doc = json.loads(proc.stdout)
    conns = {}
    for c in doc["connections"]:
        key = tuple(sorted([(c["client"], c["client_port"]), (c["server"], c["server_port"])]))
        conns.setdefault(key, []).append(c["dialect"])
    return conns, doc["stats"].get("time_jumps", -1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples", required=True)
    a = ap.parse_args()
    for tool in ("tshark", "editcap", "mergecap", "capinfos"):
        if not shutil.which(tool):
            print("1..0 # SKIP %s not installed" % tool)
            return 77
    s = lambda n: os.path.join(a.samples, n)  # noqa: E731
    failures = 0
    with tempfile.TemporaryDirectory(prefix="timejump.") as tmp:
        # (name, capture, jumps counted: back > 1 s or forward > 1 day)
        cases = [
            ("concat-forward-seconds", concat(tmp, "cfs", s("smb445-smb3_11.pcap"), s("smb445-smb3_00.pcap"), 30), 0),
            ("concat-backward-seconds", concat(tmp, "cbs", s("smb445-smb3_11.pcap"), s("smb445-smb3_00.pcap"), -30), 1),
            ("concat-forward-years", concat(tmp, "cfy", s("smb445-smb3_11.pcap"), s("smb445-smb2_10.pcap"), 10 * YEAR), 1),
            ("concat-backward-years", concat(tmp, "cby", s("smb445-bulk.pcap"), s("smb445-smb2_10.pcap"), -10 * YEAR), 1),
            ("skew-forward-seconds", skew_one(tmp, "sfs", s("smb445-bulk.pcap"), SKEWED_FRAME, 30), 1),
            ("skew-backward-seconds", skew_one(tmp, "sbs", s("smb445-bulk.pcap"), SKEWED_FRAME, -30), 1),
            ("skew-forward-years", skew_one(tmp, "sfy", s("smb445-bulk.pcap"), SKEWED_FRAME, 10 * YEAR), 2),
            ("skew-backward-years", skew_one(tmp, "sby", s("smb445-bulk.pcap"), SKEWED_FRAME, -10 * YEAR), 2),
        ]
        print("1..%d" % len(cases))
        for i, (name, path, jumps) in enumerate(cases, 1):
            want = tshark_conns(path)
            got, got_jumps = smbscope_conns(a.smbscope, path)
            ok = want == got and got_jumps == jumps and len(want) > 0
            print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
            if not ok:
                failures += 1
                print("# tshark:   %s" % sorted(want.items()))
                print("# smbscope: %s" % sorted(got.items()))
                print("# time_jumps %d, expected %d" % (got_jumps, jumps))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
