#!/usr/bin/python3
"""man_check.py - smbscope.1 and --help describe the same options, and the
man page renders without a warning.

Usage: man_check.py --smbscope BIN --man smbscope.1
"""

import argparse
import re
import shutil
import subprocess
import sys

failures = []


def expect(name, cond, detail=""):
    print("%-4s %s%s" % ("ok" if cond else "FAIL", name, "" if cond else ": " + detail))
    if not cond:
        failures.append(name)


def help_options(text):
    """Every -x and --long that --help lists as an option (at a line's start)."""
    opts = set()
    for line in text.splitlines():
        m = re.match(r"^\s+(-\w)(?:, (--[\w-]+))?", line) or re.match(r"^\s+(--[\w-]+)", line)
        if m:
            opts.update(g for g in m.groups() if g)
    return opts


def man_options(src):
    """Every option a .TP entry of the man page documents (the line after .TP)."""
    opts = set()
    lines = src.splitlines()
    for i, line in enumerate(lines[:-1]):
        if line.strip() != ".TP":
            continue
        for m in re.finditer(r"\\fB((?:\\-){1,2}[\w\\-]+)\\fR", lines[i + 1]):
            opts.add(m.group(1).replace("\\-", "-"))
    return opts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--man", required=True)
    a = ap.parse_args()
    p = subprocess.run([a.smbscope, "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    helptext = p.stdout.decode()
    expect("--help exits 0", p.returncode == 0, str(p.returncode))
    expect("--help gives examples", "Examples:" in helptext and "smbscope -r " in helptext and "smbscope -i " in helptext)
    src = open(a.man, encoding="utf-8").read()
    h, m = help_options(helptext), man_options(src)
    expect("--help lists the capture grammar", {"-r", "-i", "-D", "-F", "-c", "-a", "-w", "-Z", "-T", "-V"} <= h,
           str(sorted(h)))
    expect("every --help option is in smbscope.1", h <= m, "missing: %s" % sorted(h - m))
    expect("every smbscope.1 option is in --help", m <= h, "missing: %s" % sorted(m - h))
    for section in ("EXIT STATUS", "EXAMPLES", "OPTIONS"):
        expect("smbscope.1 has %s" % section, ".SH %s" % section in src)
    for code in ("0", "1", "2"):
        expect("exit status %s is documented" % code, re.search(r"^\.B %s$" % code, src, re.M) is not None)
    if shutil.which("groff"):
        g = subprocess.run(["groff", "-ww", "-z", "-man", a.man], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
        expect("groff -ww -z -man renders it without a warning", g.returncode == 0 and not g.stderr,
               g.stderr.decode(errors="replace"))
    else:
        print("skip groff: not installed")
    print("%d failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
