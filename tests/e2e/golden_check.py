#!/usr/bin/python3
"""golden_check.py - the text report of chosen samples against reviewed files.

tests/golden/NAME.txt holds the reviewed text report of samples/NAME (the
capture's own timestamps make it deterministic).  After a deliberate change
of the report, regenerate with --update, review the diff, commit.
"""

import argparse
import difflib
import os
import subprocess
import sys

GOLDEN = ["mixed-nbns-139-445.pcap", "nbt139-smb3_11.pcap"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples", required=True)
    ap.add_argument("--golden", required=True)
    ap.add_argument("--update", action="store_true")
    a = ap.parse_args()
    failed = 0
    for name in GOLDEN:
        p = subprocess.run([a.smbscope, "-q", os.path.join(a.samples, name)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        got = p.stdout.decode()
        path = os.path.join(a.golden, name + ".txt")
        if a.update:
            with open(path, "w") as f:
                f.write(got)
            print("wrote %s" % path)
            continue
        want = open(path).read()
        if got != want:
            failed += 1
            sys.stdout.writelines(difflib.unified_diff(want.splitlines(True), got.splitlines(True), path, "smbscope"))
        print("%-4s %s" % ("ok" if got == want else "FAIL", name))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
