#!/usr/bin/python3
"""fastpath_check.py - the fast paths never change an answer.

Runs smbscope twice on every sample capture (samples/*.pcap, *.pcapng, *.gz)
and on any extra capture given: once as is, once with --no-fast-path (every
byte reassembled and decoded), and requires the two JSON reports to be
identical, timing fields aside (keys naming elapsed/wall/CPU time, if the
report ever has any).  The exit status must match too.

The benchmark (tests/bench/bench.sh) runs it on its 0.25 GiB capture.

Usage: fastpath_check.py --smbscope BIN --samples DIR [EXTRA_CAPTURE...]
"""

import argparse
import glob
import json
import os
import subprocess
import sys

from absent import absent

# Keys whose values depend on the run, not on the capture.
TIMING_KEYS = ("elapsed", "wall_", "cpu_", "runtime", "run_time", "duration_ms_run")


def is_timing(key):
    k = key.lower()
    return any(t in k for t in TIMING_KEYS)


def strip_timing(doc):
    if isinstance(doc, dict):
        return {k: strip_timing(v) for k, v in doc.items() if not is_timing(k)}
    if isinstance(doc, list):
        return [strip_timing(v) for v in doc]
    return doc


def report(bin_, capture, extra):
    p = subprocess.run([bin_, "--format", "json", "-q"] + extra + [capture],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=1800)
    try:
        doc = json.loads(p.stdout)
    except ValueError as e:
        return p.returncode, None, "not JSON (%s): %s" % (e, p.stderr.decode(errors="replace")[:300])
    return p.returncode, strip_timing(doc), None


def first_difference(a, b, path="$"):
    """Path and values of the first place where a and b differ."""
    if type(a) is not type(b):
        return path, a, b
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return "%s.%s" % (path, k), a.get(k, "<absent>"), b.get(k, "<absent>")
            d = first_difference(a[k], b[k], "%s.%s" % (path, k))
            if d:
                return d
        return None
    if isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, "%s[%d]" % (path, i))
            if d:
                return d
        if len(a) != len(b):
            return "%s.length" % path, len(a), len(b)
        return None
    return None if a == b else (path, a, b)


def short(v):
    s = json.dumps(v)
    return s if len(s) < 200 else s[:200] + "..."


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples", help="every capture of this folder (samples/)")
    ap.add_argument("--corpus", help="every capture of this folder (../shared/corpus): skipped when "
                    "absent, failed then under CI=true")
    ap.add_argument("extra", nargs="*", help="more captures to check (e.g. the bench's 0.25 GiB file)")
    a = ap.parse_args()

    captures = []
    if a.samples:
        for pat in ("*.pcap", "*.pcapng", "*.gz"):
            captures += glob.glob(os.path.join(a.samples, pat))
        captures = sorted(set(captures))
        if not captures:
            print("Bail out! no samples in %s" % a.samples)
            return 1
    if a.corpus:
        if not os.path.isdir(a.corpus):
            return absent("corpus not found at %s" % a.corpus, tap=True)
        captures += sorted(p for p in glob.glob(os.path.join(a.corpus, "*", "*"))
                           if not p.endswith((".md", ".tsv")))
    captures += a.extra
    if not captures:
        print("Bail out! nothing to check: give --samples, --corpus or captures")
        return 1

    failures = 0
    print("1..%d" % len(captures))
    for n, cap in enumerate(captures, 1):
        name = os.path.basename(cap)
        rc_fast, fast, err_fast = report(a.smbscope, cap, [])
        rc_slow, slow, err_slow = report(a.smbscope, cap, ["--no-fast-path"])
        problem = err_fast or err_slow
        if not problem and rc_fast != rc_slow:
            problem = "exit status %d with fast paths, %d without" % (rc_fast, rc_slow)
        if not problem:
            d = first_difference(fast, slow)
            if d:
                problem = "%s: %s with fast paths, %s without" % (d[0], short(d[1]), short(d[2]))
        if problem:
            failures += 1
            print("not ok %d %s: %s" % (n, name, problem))
        else:
            print("ok %d %s" % (n, name))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
