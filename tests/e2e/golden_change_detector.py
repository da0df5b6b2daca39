#!/usr/bin/python3
"""golden_change_detector.py - a CHANGE DETECTOR, not a correctness test.

tests/golden/NAME.txt is smbscope's own past text report of samples/NAME
(the capture's timestamps make it deterministic).  This test only says that
the report changed: it compares with our own earlier output, not with a
reference.  Every fact in those files is asserted against tshark elsewhere:
report_facts_check.py (times, packets, bytes, dialects, security mode,
capabilities, max read/write, negotiate contexts, cipher, NTLM user, shares,
NBSS and NBNS names) and manifest_check.py with samples/MANIFEST.tsv
(transport, dialect, signed/encrypted PDU counts, NetBIOS flows, service,
state and packets); the verdict lines follow from those facts and the policy
options (cli_check.py).

Also checked: the exit status is the verdict's (0 PASS, 1 FAIL) and stderr
is empty.  After a deliberate change of the report, regenerate with
--update, review the diff, commit.
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
    print("change detector: smbscope's text report against its own past output (tests/golden)")
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
        problems = []
        if got != want:
            problems.append("the report changed (review; --update if deliberate)")
            sys.stdout.writelines(difflib.unified_diff(want.splitlines(True), got.splitlines(True), path, "smbscope"))
        verdict = want.split("\n", 1)[0]
        status = 0 if verdict.startswith("VERDICT: PASS") else 1 if verdict.startswith("VERDICT: FAIL") else None
        if p.returncode != status:
            problems.append("exit status %d, the verdict line %r says %s" % (p.returncode, verdict, status))
        if p.stderr:
            problems.append("stderr not empty: %r" % p.stderr.decode(errors="replace")[-300:])
        failed += bool(problems)
        print("%-7s %s%s" % ("CHANGED" if problems else "same", name, "".join("\n        " + x for x in problems)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
