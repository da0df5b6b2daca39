#!/usr/bin/python3
"""small.py - small versions of the hostile floods, checked against tshark.

  control-names  NetBIOS names, SMB1 dialect strings, NTLM user, domain and
                 workstation, tree paths made of control bytes and terminal
                 escapes: the text report must carry no control byte but
                 newline (no ESC, no C1), the JSON must parse, and the JSON
                 strings must hold exactly the bytes tshark decodes
                 (ntlmssp.auth.*, smb2.tree, smb.dialect.name); merge
                 accepts the report and gives connections[] back unchanged.
  nbss-16m       NBSS / direct-TCP length fields of 0xFFFFFF: per connection
                 largest_message equals tshark's largest nbss.length, the
                 transport is nbt exactly where tshark saw a session request,
                 packets match tshark's frame count, peak RSS stays bounded.
  the others     (negotiate-65535, compound-deep, overlap-storm, syn-flood,
                 conns-100k, missing-first-1g, frag-flood), small: exit 0/1/2, JSON parses,
                 no ESC in text, packets match tshark's count.

usage: small.py --smbscope BIN [--rss-mib 256]   (0: no RSS check, for ASan builds)
Exit 77 (skip) when tshark is missing.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import child_rss  # noqa: E402  (a child's own peak RSS)
SANITIZER = (b"AddressSanitizer", b"LeakSanitizer", b"runtime error:")
problems = []
DEFAULT_MAX_CONNS = 10000  # README, --max-connections


def fail(msg):
    problems.append(msg)
    print("FAIL", msg)


def gen(case, path, scale):
    subprocess.run(["/usr/bin/python3", os.path.join(HERE, "gen_hostile.py"), case, path, "--scale", str(scale)],
                   check=True, stdout=subprocess.DEVNULL)


def smbscope(binary, path, fmt):
    """Run the command; (CompletedProcess-like, its own peak RSS in KiB:
    child_rss.py, not this process's peak, which the captures built here
    raise to about 49 MiB)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        args = [binary, "-q", "--format", fmt, path]
        rc, _, _, maxrss = child_rss.run(args, stdout=out, stderr=err)
        out.seek(0)
        err.seek(0)
        p = subprocess.CompletedProcess(args, rc, out.read(), err.read())
    if p.returncode not in (0, 1, 2, 3):
        fail("%s (%s): exit status %d" % (path, fmt, p.returncode))
    for s in SANITIZER:
        if s in p.stderr:
            fail("%s (%s): %s" % (path, fmt, p.stderr[p.stderr.find(s):][:400]))
    return p, maxrss


def tshark_fields(path, fields, extra=()):
    cmd = ["tshark", "-n", "-r", path, *extra, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=\x01"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout
    rows = []
    for line in out.split(b"\n"):
        if line:
            rows.append([c.split(b"\x01") if c else [] for c in line.split(b"\t")])
    return rows


def text_clean(label, out):
    if b"\x1b" in out:
        fail("%s: ESC byte in the text report" % label)
    bad = [c for c in set(out) if (c < 0x20 and c != 0x0A) or c == 0x7F]
    if bad:
        fail("%s: control bytes %s in the text report" % (label, sorted(bad)))
    try:
        t = out.decode("utf-8")
    except UnicodeDecodeError as e:
        fail("%s: text report is not UTF-8: %s" % (label, e))
        return
    if any(0x80 <= ord(ch) <= 0x9F for ch in t):
        fail("%s: C1 control characters in the text report" % label)


def load_json(label, out):
    try:
        return json.loads(out.decode("utf-8", errors="strict"))
    except ValueError as e:
        fail("%s: JSON does not parse: %s" % (label, e))
        return None


TSHARK_ESCAPES = {"\\b": "\b", "\\t": "\t", "\\n": "\n", "\\r": "\r", "\\f": "\f", "\\v": "\v"}


def tshark_str(b):
    """tshark -T fields prints string fields raw except the C escapes
    \\b \\t \\n \\r \\f \\v (a backslash itself stays as it is); undo them.
    The generated strings never hold a real backslash before those letters."""
    s = b.decode("utf-8", errors="replace")
    for k, v in TSHARK_ESCAPES.items():
        s = s.replace(k, v)
    return s


def check_control_names(binary, tmp):
    path = os.path.join(tmp, "control-names.pcap")
    gen("control-names", path, 0.02)
    p, _ = smbscope(binary, path, "text")
    text_clean("control-names", p.stdout)
    p, _ = smbscope(binary, path, "json")
    doc = load_json("control-names", p.stdout)
    if doc is None:
        return
    ours = {"user": [], "domain": [], "workstation": [], "tree": [], "dialect": []}
    for c in doc.get("connections", []):
        for s in c.get("sessions", []):
            for k in ("user", "domain", "workstation"):
                ours[k].append(s.get(k))
        for sh in c.get("shares", []):
            ours["tree"].append(sh.get("path"))
        ours["dialect"] += c.get("smb1_dialects_offered", [])
    theirs = {"user": [], "domain": [], "workstation": [], "tree": [], "dialect": []}
    for row in tshark_fields(path, ["ntlmssp.auth.username", "ntlmssp.auth.domain", "ntlmssp.auth.hostname",
                                    "smb2.tree", "smb.dialect.name"]):
        u, d, h, tree, dia = row
        theirs["user"] += [tshark_str(x) for x in u]
        theirs["domain"] += [tshark_str(x) for x in d]
        theirs["workstation"] += [tshark_str(x) for x in h]
        theirs["tree"] += [tshark_str(x) for x in tree]
        theirs["dialect"] += [tshark_str(x) for x in dia]
    for k in ours:
        # sets: tshark names the tree in requests and responses alike
        a = set(x for x in ours[k] if x is not None)
        b = set(theirs[k])
        if not b:
            fail("control-names: tshark shows no %s (generator broken?)" % k)
        elif a != b:
            fail("control-names: %s differ: ours only %r, tshark only %r" % (k, sorted(a - b), sorted(b - a)))
    print("control-names: %d users, %d shares, %d SMB1 dialects compared with tshark"
          % (len(theirs["user"]), len(theirs["tree"]), len(theirs["dialect"])))
    check_merge_back(binary, tmp, p.stdout, doc)


def check_merge_back(binary, tmp, report, doc):
    """The merge state's digest covers connections[] as merge reads them back;
    the writer hashes it without parsing it (mstate_canon.c): with wire
    strings that are not valid UTF-8 merge must still accept the report and
    give its connections back unchanged."""
    if "\\ufffd" not in report.decode("utf-8", "replace"):
        fail("control-names: no invalid UTF-8 in the report (generator changed?)")
    path = os.path.join(tmp, "control-names.json")
    with open(path, "wb") as f:
        f.write(report)
    m = subprocess.run([binary, "merge", "-T", "json", path], capture_output=True)
    for s in SANITIZER:
        if s in m.stderr:
            fail("control-names merge: %s" % m.stderr[m.stderr.find(s):][:400])
    if m.returncode not in (0, 1):
        fail("control-names: merge refused its report (exit %d): %s" % (m.returncode, m.stderr[:300]))
        return
    merged = json.loads(m.stdout)
    if merged.get("connections") != doc.get("connections"):
        fail("control-names: merge gave connections[] back changed")


def check_nbss_16m(binary, tmp, rss_mib):
    path = os.path.join(tmp, "nbss-16m.pcap")
    gen("nbss-16m", path, 0.02)
    p, rss_kib = smbscope(binary, path, "json")
    doc = load_json("nbss-16m", p.stdout)
    if doc is None:
        return
    if p.returncode not in (0, 1, 3):
        fail("nbss-16m: exit %d (nothing in this capture is an input error)" % p.returncode)
    if rss_mib and rss_kib > rss_mib * 1024:
        fail("nbss-16m: peak RSS %d KiB over the %d MiB bound" % (rss_kib, rss_mib))
    # tshark without TCP reassembly shows every NBSS header
    largest, request, ports = {}, {}, {}
    rows = tshark_fields(path, ["tcp.stream", "tcp.srcport", "tcp.dstport", "nbss.length", "nbss.type"],
                         ["-o", "tcp.desegment_tcp_streams:FALSE", "-d", "tcp.port==8445,nbss"])
    frames = len(rows)
    for stream, sp, dp, lens, types in rows:
        s = int(stream[0])
        ports.setdefault(s, (int(sp[0]), int(dp[0])))
        for n in lens:
            largest[s] = max(largest.get(s, 0), int(n))
        if b"0x81" in types or b"0x00000081" in types:
            request[s] = True
    by_cport = {ports[s][0]: s for s in ports}
    conns = doc.get("connections", [])
    if len(conns) != len(ports):
        fail("nbss-16m: %d connections reported, tshark sees %d TCP streams" % (len(conns), len(ports)))
    for c in conns:
        s = by_cport.get(c["client_port"])
        if s is None:
            fail("nbss-16m: connection from port %d unknown to tshark" % c["client_port"])
            continue
        if c.get("largest_message") != largest.get(s):
            fail("nbss-16m: stream %d largest_message %s, tshark's largest nbss.length %s"
                 % (s, c.get("largest_message"), largest.get(s)))
        want = "nbt" if request.get(s) else "direct"
        if c.get("transport") != want:
            fail("nbss-16m: stream %d transport %s, want %s" % (s, c.get("transport"), want))
    if doc["inputs"][0]["packets"] != frames:
        fail("nbss-16m: %s packets, tshark %d" % (doc["inputs"][0]["packets"], frames))
    print("nbss-16m: %d connections, largest messages as tshark, peak RSS %d KiB" % (len(conns), rss_kib))


def check_others(binary, tmp, rss_mib):
    for case, scale in (("negotiate-65535", 0.05), ("compound-deep", 0.05), ("overlap-storm", 0.01),
                        ("syn-flood", 0.1), ("conns-100k", 0.01), ("missing-first-1g", 0.005),
                        ("frag-flood", 0.01)):
        path = os.path.join(tmp, case + ".pcap")
        gen(case, path, scale)
        p, rss_kib = smbscope(binary, path, "json")
        doc = load_json(case, p.stdout)
        t, _ = smbscope(binary, path, "text")
        text_clean(case, t.stdout)
        frames = int(subprocess.run(["capinfos", "-M", "-c", "-T", "-r", path], stdout=subprocess.PIPE,
                                    check=True).stdout.split(b"\t")[-1])
        if doc is not None and doc["inputs"][0]["packets"] != frames:
            fail("%s: %s packets, capinfos %d" % (case, doc["inputs"][0]["packets"], frames))
        if rss_mib and rss_kib > rss_mib * 1024:
            fail("%s: peak RSS %d KiB over the %d MiB bound" % (case, rss_kib, rss_mib))
        if case == "syn-flood" and doc is not None:
            # 100,000 half-open connections against the documented default
            # cap (README: --max-connections, 10,000): the excess is evicted
            # and counted, never tracked
            st = doc.get("stats", {})
            if st.get("max_concurrent_connections") != DEFAULT_MAX_CONNS or \
                    st.get("evictions") != frames - DEFAULT_MAX_CONNS:
                fail("syn-flood: %d SYNs, stats %r: want at most %d tracked and the rest evicted"
                     % (frames, st, DEFAULT_MAX_CONNS))
        print("%s: %d packets, exit %d, peak RSS %d KiB" % (case, frames, p.returncode, rss_kib))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--rss-mib", type=int, default=256, help="peak RSS bound; 0: not checked (sanitizer builds)")
    args = ap.parse_args()
    if not shutil.which("tshark") or not shutil.which("capinfos"):
        print("small.py: tshark/capinfos missing: skipped")
        return 77
    with tempfile.TemporaryDirectory(prefix="smbscope-hostile-") as tmp:
        check_control_names(args.smbscope, tmp)
        check_nbss_16m(args.smbscope, tmp, args.rss_mib)
        check_others(args.smbscope, tmp, args.rss_mib)
    print("%d problems" % len(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
