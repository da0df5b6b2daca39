#!/usr/bin/python3
"""follow_all.py - follow_check.py over every capture in samples/.

For every TCP connection of every sample, the bytes `smbscope
--write-streams` wrote must equal tshark's `follow,tcp,raw` of the same
capture.  Each capture is checked in this process (follow_check.check):
no Python start per capture.  Exit status: 0 all equal, 1 a difference, 77 tshark missing.
"""

import argparse
import glob
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import follow_check  # noqa: E402


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
        try:
            rc, lines = follow_check.check(a.smbscope, cap)
        except Exception as e:  # a tshark failure on one capture fails that capture
            rc, lines = 1, ["follow_check: %r" % e]
        # the summary line (the problems follow it)
        last = next((x for x in lines if x.startswith("follow_check:")), lines[-1] if lines else "")
        print("%-4s %s: %s" % ("ok" if rc == 0 else "FAIL", os.path.basename(cap), last))
        if rc != 0:
            failed += 1
            print("\n".join(lines))
    print("%d captures, %d failed" % (len(captures), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
