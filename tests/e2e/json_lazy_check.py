#!/usr/bin/python3
"""json_lazy_check.py - json-glib is loaded only when smbscope calls it
(merge), not at every start (analyzer/json_lazy.c, x86-64 GNU/Linux).

  * an analysis of a sample, text, JSON (merge state included) and ndjson,
    runs without the dynamic loader opening json-glib, GObject or GIO
    (glibc's LD_DEBUG=files lists every object it opens; skipped where it
    prints nothing);
  * `smbscope merge` of two reports loads json-glib and gives the same
    report as the merge of the same reports run again;
  * with a broken library under json-glib's soname first on
    LD_LIBRARY_PATH, the analysis still runs (nothing touched it) and merge
    stops with an error naming the soname (exit 2), not a crash.

Usage: json_lazy_check.py --smbscope BIN --samples DIR --soname SONAME
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

failures = []


def expect(name, cond, detail=""):
    print("%-4s %s%s" % ("ok" if cond else "FAIL", name, "" if cond else ": " + str(detail)))
    if not cond:
        failures.append(name)


def run(args, argv, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([args.smbscope] + argv, env=e, capture_output=True, text=True, timeout=120)


def opened(stderr, names):
    return {n for n in names if re.search(r"file=\S*" + re.escape(n), stderr)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples", required=True)
    ap.add_argument("--soname", required=True)
    args = ap.parse_args()
    libs = [args.soname, "libgobject-2.0.so", "libgio-2.0.so"]
    pcaps = [os.path.join(args.samples, n) for n in ("impacket-445.pcap", "mixed-nbns-139-445.pcap")]
    probe = run(args, ["-q", "-T", "json", "-o", "/dev/null", pcaps[0]], {"LD_DEBUG": "files"})
    if "file=" not in probe.stderr:
        print("skip: LD_DEBUG=files prints nothing here")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        reports = []
        for i, pcap in enumerate(pcaps):
            for fmt in ("text", "json", "ndjson"):
                out = os.path.join(tmp, "r%d.%s" % (i, fmt))
                r = run(args, ["-q", "-T", fmt, "-o", out, pcap], {"LD_DEBUG": "files"})
                expect("analysis %s -T %s runs" % (os.path.basename(pcap), fmt), r.returncode in (0, 1), r.stderr[-300:])
                got = opened(r.stderr, libs)
                expect("analysis %s -T %s opens none of %s" % (os.path.basename(pcap), fmt, libs), not got, got)
                if fmt == "json":
                    reports.append(out)
        m1 = run(args, ["merge", "-T", "json", "-o", os.path.join(tmp, "m1.json")] + reports, {"LD_DEBUG": "files"})
        expect("merge runs", m1.returncode in (0, 1), m1.stderr[-300:])
        expect("merge loads json-glib", args.soname in opened(m1.stderr, [args.soname]))
        m2 = run(args, ["merge", "-T", "json", "-o", os.path.join(tmp, "m2.json")] + list(reversed(reports)))
        with open(os.path.join(tmp, "m1.json")) as a, open(os.path.join(tmp, "m2.json")) as b:
            strip = lambda t: re.sub(r'"(elapsed_s|cpu_s|wall_s)": *[^,}]*', "", t)
            ta, tb = strip(a.read()), strip(b.read())
            expect("merge report whole and equal either way round", '"smbscope_version"' in ta and ta == tb)
        broken = os.path.join(tmp, "broken")
        os.mkdir(broken)
        with open(os.path.join(broken, args.soname), "wb") as f:
            f.write(b"not an ELF object\n")
        env = {"LD_LIBRARY_PATH": broken + os.pathsep + os.environ.get("LD_LIBRARY_PATH", "")}
        r = run(args, ["-q", "-T", "json", "-o", os.path.join(tmp, "b.json"), pcaps[0]], env)
        expect("analysis with a broken json-glib runs", r.returncode in (0, 1), r.stderr[-300:])
        m = run(args, ["merge", "-T", "json", "-o", os.path.join(tmp, "mb.json")] + reports, env)
        expect("merge with a broken json-glib exits 2", m.returncode == 2, (m.returncode, m.stderr[-300:]))
        expect("... naming the library", "cannot load json-glib (%s)" % args.soname in m.stderr, m.stderr[-300:])
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
