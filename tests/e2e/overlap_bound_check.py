#!/usr/bin/python3
"""overlap_bound_check.py - what `smbscope merge`'s overlap check catches of
a small part inside a larger one, pinned (issue 13: the bounded sketch's
guarantee, README "smbscope merge", analyzer/merge/part_sketch.h).

A part B of consecutive records of a part A is refused exactly when B
holds a record A's sketch kept (B keeps it too: its own sample's level is
no higher, and a record first or last of its level in A is so in B):
  * A's first and last 16 records always, so a part within 16 records of
    either end of A is always refused;
  * a record d records from an end when fewer than 16 of its hash level
    come before (after) it there: near the ends most are kept;
  * in the middle only A's sample: a record in 2^level (A's records over
    2^level between 256 and 512), so a part of m records there is refused
    with a chance of 1 - (1 - 2^-level)^m, and small ones are not.
The check, on a generated capture of 15,000 records: smbscope's sketch of
the capture and of each part is part_sketch_model.py's, record for record;
parts within A's first and last 16 records refused; a part in the middle
holding one sampled record refused sharing one; a part in the middle's
longest run without one merged (the bound: a change that catches it must
change the README's guarantee and this test); and 16 seeded parts of 16 to
1,024 records: refused exactly when the model's sketches share a record.

Usage: overlap_bound_check.py --smbscope BIN --samples DIR
"""

import argparse
import base64
import json
import os
import random
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import part_sketch_model as model  # noqa: E402
from merge_frags_check import expect, failures, run  # noqa: E402


def sketch_of(report):
    o = json.load(open(report))["merge_state"]["state"]["inputs"][0]["overlap"]
    b = base64.b64decode(o["hashes"])
    return set(struct.unpack("<%dQ" % (len(b) // 8), b)), o["level"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples", required=True)
    args = ap.parse_args()
    smb = args.smbscope
    gen = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench", "gen_capture.py")
    with tempfile.TemporaryDirectory(prefix="overlap-bound-") as tmp:
        big = os.path.join(tmp, "gen.pcap")
        subprocess.run([sys.executable, gen, "--samples", args.samples, "--many", "1500", big], check=True,
                       stdout=subprocess.DEVNULL)
        hs = model.read_pcap(big)
        n = len(hs)
        kept, level = model.sketch(hs)

        def report(name, cap):
            path = os.path.join(tmp, name + ".json")
            with open(path, "wb") as f:
                f.write(run([smb, "-q", "-T", "json", cap])[1])
            return path

        whole = report("whole", big)
        got, got_level = sketch_of(whole)
        expect("the capture's sketch (%d records: %d hashes, level %d) is the model's" % (n, len(got), got_level),
               got == kept and got_level == level, "%d hashes level %d, the model %d level %d" %
               (len(got), got_level, len(kept), level))

        def part(x, m):
            """Records x .. x+m-1 (0-based) cut out, merged with the
            whole: (refused, shared, the part's sketch is the model's)."""
            cap = os.path.join(tmp, "p%d-%d.pcap" % (x, m))
            subprocess.run(["editcap", "-r", big, cap, "%d-%d" % (x + 1, x + m)], check=True,
                           stdout=subprocess.DEVNULL)
            r = report("p%d-%d" % (x, m), cap)
            mine, lv = sketch_of(r)
            want, want_lv = model.sketch(hs[x:x + m])
            rc, _, err = run([smb, "merge", "-T", "json", whole, r])
            shared = len(kept & want)
            return rc == 2 and "capture parts overlap" in err, shared, (mine, lv) == (want, want_lv), err

        kept_at = [i for i, h in enumerate(hs) if h in kept]
        for name, x, m in (("records 4-11 (within A's first 16)", 4, 8), ("its last 10 but 2", n - 12, 10)):
            refused, shared, same, err = part(x, m)
            expect("a part of %s: refused (A's first and last 16 records are always kept)" % name,
                   refused and same, err.strip()[:300])
        # the middle: A keeps only its sample there (level >= `level`)
        mid = [i for i in kept_at if n // 4 <= i < 3 * n // 4]
        one = next(i for i in mid if all(abs(j - i) > 8 for j in kept_at if j != i))
        refused, shared, same, err = part(one - 7, 16)
        expect("16 records in the middle around one sampled record: refused, sharing it",
               refused and same and shared == 1 and "shares 1 sampled record" in err, err.strip()[:300])
        gap, at = max((b - a, a) for a, b in zip(mid, mid[1:]))
        m = min(64, gap - 1)
        x = at + 1 + (gap - 1 - m) // 2
        refused, shared, same, err = part(x, m)
        expect("%d records in the middle's longest run without a sampled record (%d): merged, not caught (the "
               "bound: a part of m records inside n is caught with 1 - (1 - 2^-%d)^m)" % (m, gap - 1, level),
               not refused and same and shared == 0, err.strip()[:300])
        rnd = random.Random(13)
        agree, caught = [], 0
        for _ in range(16):
            m = rnd.choice((16, 64, 256, 1024))
            x = rnd.randrange(n // 4, 3 * n // 4 - m)
            refused, shared, same, err = part(x, m)
            caught += refused
            agree.append(same and refused == (shared > 0) or "%d+%d: %s %d %s" % (x, m, refused, shared, same))
        bad = [a for a in agree if a is not True]
        expect("16 parts of 16 to 1,024 records in the middle: refused exactly when the model's sketches share a "
               "record (%d refused)" % caught, not bad, "; ".join(bad[:4]))
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
