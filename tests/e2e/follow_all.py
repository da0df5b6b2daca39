#!/usr/bin/python3
"""follow_all.py - follow_check.py over every capture in samples/.

For every TCP connection of every sample, the bytes `smbscope
--write-streams` wrote must equal tshark's `follow,tcp,raw` of the same
capture.  Exit status: 0 all equal, 1 a difference, 77 tshark missing.
"""

import argparse
import glob
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples", required=True)
    a = ap.parse_args()
    if not shutil.which("tshark"):
        print("tshark not found: skipped")
        return 77
    captures = sorted(glob.glob(os.path.join(a.samples, "*.pcap*")))
    failed = 0
    for cap in captures:
        p = subprocess.run([sys.executable, os.path.join(HERE, "follow_check.py"), "--smbscope", a.smbscope, cap],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        last = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
        print("%-4s %s: %s" % ("ok" if p.returncode == 0 else "FAIL", os.path.basename(cap), last))
        if p.returncode != 0:
            failed += 1
            print(p.stdout)
    print("%d captures, %d failed" % (len(captures), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
