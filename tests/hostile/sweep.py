#!/usr/bin/python3
"""sweep.py - damaged captures through smbscope (and tshark with our plugin).

For every capture in SAMPLES:
  corrupt   editcap -E RATE --seed SEED, several rates x seeds (packet bytes)
  flip      random bytes changed anywhere in the file (record headers and
            the file header too), several seeds
  truncate  the file cut at many byte offsets: every byte of the file
            header, around record headers, inside packet data
A capture with a TLS key log beside it (NAME.keylog: SMB over QUIC) is read
with --tls-keylog (tshark: -o tls.keylog_file), so that the damage reaches
the decrypted 1-RTT packets and the SMB decoders behind them too.
Every run must exit 0, 1 or 2 within the timeout, print no sanitizer
report, and print JSON that parses.  Text reports (corrupt mode) must not
carry an ESC byte.  For truncation, inputs[0].packets must equal the number
of complete packet records before the cut (computed here from the record
headers, independently of smbscope), and a cut inside a record must exit 2
naming the file and the byte offset of that record.

With --plugin (smbscope.so) the corrupted and flipped files also go
through `tshark -V` as the user nobody with the plugin loaded: tshark must
not die of a signal.  --tshark-only: those tshark runs alone, smbscope not
run (tests/meson.build: the plain build runs the plugin's part, the ASan
build smbscope's, the same damaged copies in both).

usage: sweep.py --smbscope BIN --samples DIR [--work DIR] [--jobs N]
                [--modes corrupt,flip,truncate] [--plugin SO [--tshark-only]]
Every rate and seed for every capture, every truncation place of the
dense kind for every file, with SMBSCOPE_FULL=1 (tests/run.sh --full); by
default the (capture, damage) cases that cover every damage with every
format and every kind of flow (subset.py, see FULL below) and fewer cuts.
Exit 0 when every run is clean, 1 otherwise, 77 (skip) without samples.
"""
import argparse
import concurrent.futures
import csv
import glob
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapio  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "plugin"))
import subset  # noqa: E402

# Every rate and seed for every capture under `tests/run.sh --full`
# (SMBSCOPE_FULL=1).  The default run takes one low and one high rate and
# one flip seed, and of those (capture, damage) cases a cover (subset.py) of
# every damage with every file format and link type, and of every kind of
# flow samples/MANIFEST.tsv lists (transport, SMB version, NetBIOS service)
# and the key log (the plugin's and the command's decoders): each tshark
# start costs half a second.  Truncation cuts every byte of the file header
# of one file per format, a few places of every other file.
FULL = subset.FULL
RATES = (0.001, 0.01, 0.05, 0.2) if FULL else (0.01, 0.2)
SEEDS = (1, 2, 3) if FULL else (1,)
FLIP_SEEDS = (11, 12, 13, 14) if FULL else (11,)
SANITIZER = (b"AddressSanitizer", b"LeakSanitizer", b"runtime error:", b"UndefinedBehaviorSanitizer")
TIMEOUT = 60


def run(cmd, timeout=TIMEOUT, **kw):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, **kw)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return "timeout", b"", b""


def check_common(rc, out, err, what, fmt):
    problems = []
    if rc == "timeout":
        return ["%s: timed out after %d s" % (what, TIMEOUT)], None
    if rc not in (0, 1, 2, 3):
        problems.append("%s: exit status %s" % (what, rc))
    for s in SANITIZER:
        if s in err:
            problems.append("%s: sanitizer report: %s" % (what, err[err.find(s):][:300]))
            break
    doc = None
    if fmt == "json":
        try:
            doc = json.loads(out.decode("utf-8", errors="strict"))
        except (UnicodeDecodeError, ValueError) as e:
            problems.append("%s: JSON does not parse: %s" % (what, e))
    else:
        if b"\x1b" in out:
            problems.append("%s: ESC byte in the text report" % what)
    return problems, doc


def expected_cut(data, cut):
    """(expected packets, header_end, failing record start or None)."""
    fmt, _, spans = pcapio.record_spans(data)
    blocks = all_blocks(data, fmt)
    header_end = 24 if fmt == "pcap" else first_idb_end(data)
    pk = pcapio.complete_before(spans, cut)
    fail = None
    for s, e in blocks:
        if s < cut < e:
            fail = s
            break
    if fail is None and blocks and cut > blocks[-1][1]:
        fail = blocks[-1][1]
    return pk, header_end, fail


def all_blocks(data, fmt):
    """Every record (pcap) or block (pcapng) as (start, end)."""
    out = []
    if fmt == "pcap":
        e = pcapio.PCAP_MAGICS[data[:4]]
        off = 24
        while off + 16 <= len(data):
            n = int.from_bytes(data[off + 8:off + 12], "little" if e == "<" else "big")
            out.append((off, off + 16 + n))
            off += 16 + n
        if off < len(data):
            out.append((off, off + 16))  # a record header cut short
        return out
    off, e = 0, "little"
    while off + 12 <= len(data):
        if data[off:off + 4] == b"\x0a\x0d\x0d\x0a":
            e = "little" if data[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else "big"
        n = int.from_bytes(data[off + 4:off + 8], e)
        out.append((off, off + n))
        off += n
    return out


def first_idb_end(data):
    off, e = 0, "little"
    while off + 12 <= len(data):
        if data[off:off + 4] == b"\x0a\x0d\x0d\x0a":
            e = "little" if data[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else "big"
        t = int.from_bytes(data[off:off + 4], e)
        n = int.from_bytes(data[off + 4:off + 8], e)
        off += n
        if t == 1:
            return off
    return off


def manifest_flows(samples):
    """capture name -> {(kind, transport, SMB version, NetBIOS service)} of samples/MANIFEST.tsv."""
    out = {}
    path = os.path.join(samples, "MANIFEST.tsv")
    if os.path.exists(path):
        with open(path, newline="") as f:
            for r in csv.DictReader(f, delimiter="\t"):
                out.setdefault(r["file"], set()).add((r["kind"], r["transport"], r["smb_version"], r["netbios_service"]))
    return out


def gz_offsets(raw, rng):
    """A gzip file cut: every byte of its first 30 and 20 places through it
    (SMBSCOPE_FULL=1); by default the 10-octet gzip header, a cut inside
    the deflate stream's first block and 4 places through it."""
    if FULL:
        return sorted(set(range(0, 30)) | set(rng.sample(range(len(raw)), min(20, len(raw)))))
    return sorted(set(range(0, 11)) | {20} | set(rng.sample(range(len(raw)), min(4, len(raw)))))


def cut_offsets(data, rng, dense=True):
    """Byte offsets to cut at: the whole file header, around record headers
    (first records and a spread through the file), inside packet data.
    Not dense (the default run, for all but one file of each format): the
    file header's last byte and its end, inside the header of one record
    through the file (smbscope stops there with the state of a capture cut
    anywhere), the file's last byte (inside the last record's data)."""
    fmt, _, _ = pcapio.record_spans(data)
    blocks = all_blocks(data, fmt)
    hdr = 24 if fmt == "pcap" else 64
    if dense:
        offs = set(range(0, min(len(data), hdr + 1), 1 if fmt == "pcap" else 3)) | {hdr - 1, hdr}
        pick = blocks[:2] + [blocks[i] for i in sorted(rng.sample(range(len(blocks)), min(3, len(blocks))))]
        near = (1, 8, 15, 16, 17)
    else:
        offs = {hdr - 1, hdr}
        pick = [blocks[i] for i in sorted(rng.sample(range(len(blocks)), min(1, len(blocks))))]
        near = (8,)
    for s, e in pick:
        for d in near:
            offs.add(s + d)
        if dense:
            offs.add((s + e) // 2)
            offs.add(e - 1)
    offs.add(len(data) - 1)
    return sorted(o for o in offs if 0 <= o < len(data))


class Sweep:
    def __init__(self, args):
        self.args = args
        self.runs = {"corrupt": 0, "flip": 0, "truncate": 0, "tshark": 0}
        self.files = {"corrupt": set(), "flip": set(), "truncate": set()}
        self.problems = []
        self.keylogs = {}  # sample -> its key log, copied where nobody can read it
        self.keyed = set()

    def keylog(self, sample):
        return self.keylogs.get(os.path.realpath(sample))

    def smbscope(self, path, fmt="json", sample=None):
        keys = self.keylog(sample) if sample else None
        return run([self.args.smbscope, "-q", "--format", fmt] + (["--tls-keylog", keys] if keys else []) + [path])

    def tshark(self, path, sample=None):
        if not self.args.plugin_dir:
            return []
        env = dict(os.environ, WIRESHARK_PLUGIN_DIR=self.args.plugin_dir, HOME="/nonexistent")
        keys = self.keylog(sample) if sample else None
        cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
               "tshark", "-n", "-V", "-o", "tcp.desegment_tcp_streams:TRUE", "-r", path] + (
                   ["-o", "tls.keylog_file:" + keys] if keys else [])
        rc, _, err = run(cmd, env=env, timeout=120)
        self.runs["tshark"] += 1
        if rc == "timeout" or (isinstance(rc, int) and rc < 0):
            return ["tshark %s: %s %s" % (path, "timed out" if rc == "timeout" else "killed by signal %d" % -rc,
                                          err[-300:])]
        return []

    def corrupt_one(self, sample, rate, seed, out):
        fmt = "pcapng" if open(sample, "rb").read(4) == b"\x0a\x0d\x0d\x0a" else "pcap"
        rc, _, err = run(["editcap", "-F", fmt, "-E", str(rate), "--seed", str(seed), sample, out])
        if rc != 0:
            return ["editcap %s: %s" % (sample, err[-200:])]
        what = "corrupt %s rate %s seed %s" % (os.path.basename(sample), rate, seed)
        if self.args.tshark_only:
            self.runs["corrupt"] += 1
            return self.tshark(out, sample)
        p, _ = check_common(*self.smbscope(out, sample=sample), what, "json")
        p2, _ = check_common(*self.smbscope(out, "text", sample), what + " (text)", "text")
        p += p2 + self.tshark(out, sample)
        self.runs["corrupt"] += 1
        return p

    def flip_one(self, sample, seed, out):
        data = bytearray(open(sample, "rb").read())
        rng = random.Random(seed * 1000003 + len(data))
        for _ in range(max(1, len(data) // 200)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        with open(out, "wb") as f:
            f.write(data)
        what = "flip %s seed %s" % (os.path.basename(sample), seed)
        if self.args.tshark_only:
            self.runs["flip"] += 1
            return self.tshark(out, sample)
        p, _ = check_common(*self.smbscope(out, sample=sample), what, "json")
        self.runs["flip"] += 1
        return p + self.tshark(out, sample)

    def truncate_one(self, sample, data, cut, out):
        with open(out, "wb") as f:
            f.write(data[:cut])
        what = "truncate %s at %d" % (os.path.basename(sample), cut)
        rc, stdout, err = self.smbscope(out, sample=sample)
        p, doc = check_common(rc, stdout, err, what, "json")
        self.runs["truncate"] += 1
        if doc is None or data[:2] == b"\x1f\x8b":
            return p
        want, header_end, fail = expected_cut(data, cut)
        got = doc["inputs"][0]["packets"] if doc.get("inputs") else 0
        if got != want:
            p.append("%s: inputs[0].packets %s, complete records before the cut %d" % (what, got, want))
        if cut < header_end:
            if rc != 2 or out.encode() not in err:
                p.append("%s: cut inside the file header: exit %s, stderr %r" % (what, rc, err[-200:]))
        elif fail is not None:
            needle = ("offset %d " % fail).encode()
            # damaged but partly readable: fail (1) or inconclusive (3), never a pass or "no input"
            if rc not in (1, 3) or out.encode() not in err or needle not in err:
                p.append("%s: want exit 1 or 3 and '%s' naming the file; got exit %s, stderr %r"
                         % (what, needle.decode().strip(), rc, err[-300:]))
        elif rc not in (0, 1, 3):
            p.append("%s: cut on a record boundary should read cleanly, exit %s" % (what, rc))
        return p

    def go(self):
        samples = sorted(glob.glob(os.path.join(self.args.samples, "*.pcap")) +
                         glob.glob(os.path.join(self.args.samples, "*.pcapng")) +
                         glob.glob(os.path.join(self.args.samples, "*.pcap.gz")))
        if not samples:
            print("sweep: no captures in %s: skipped" % self.args.samples)
            return 77
        modes = self.args.modes.split(",")
        work = tempfile.mkdtemp(prefix="smbscope-sweep-", dir=self.args.work)
        os.chmod(work, 0o755)
        for s in samples:
            keys = re.sub(r"\.pcap(ng)?(\.gz)?$", ".keylog", s)
            if keys != s and os.path.exists(keys):
                copy = os.path.join(work, "keys-" + os.path.basename(keys))
                shutil.copy(keys, copy)
                os.chmod(copy, 0o644)
                self.keylogs[os.path.realpath(s)] = copy
                self.keyed.add(os.path.basename(s))
        jobs = []
        dense_done = set()  # formats whose file header was cut at every byte
        flows = manifest_flows(self.args.samples)
        damage = []  # (sample, "corrupt", rate, seed) and (sample, "flip", seed, None)
        for s in samples:
            if "corrupt" in modes and not s.endswith(".gz"):
                damage += [(s, "corrupt", rate, seed) for rate in RATES for seed in SEEDS]
            if "flip" in modes:
                damage += [(s, "flip", seed, None) for seed in FLIP_SEEDS]

        def features(case):
            s, kind, value, _ = case
            base = os.path.basename(s)
            f = {(kind, value), (kind,) + subset.link_type(s)} | {("flow",) + r for r in flows.get(base, ())}
            return f | ({("key log",)} if base in self.keyed else set())
        chosen = subset.cover(damage, features, cost=lambda c: os.path.getsize(c[0]))
        subset.say("damaged copies (capture x damage)", len(chosen), len(damage))
        with concurrent.futures.ThreadPoolExecutor(self.args.jobs) as ex:
            n = 0
            for s, kind, value, seed in chosen:
                n += 1
                base = os.path.basename(s)
                self.files[kind].add(base)
                if kind == "corrupt":
                    jobs.append(ex.submit(self.corrupt_one, s, value, seed, os.path.join(work, "c%d-%s" % (n, base))))
                else:
                    jobs.append(ex.submit(self.flip_one, s, value, os.path.join(work, "f%d-%s" % (n, base))))
            for s in samples:
                base = os.path.basename(s)
                gz = s.endswith(".gz")
                raw = open(s, "rb").read()
                if "truncate" in modes:
                    rng = random.Random(len(raw))
                    dense = FULL or raw[:4] not in dense_done
                    dense_done.add(raw[:4])
                    offs = (cut_offsets(raw, rng, dense) if not gz else gz_offsets(raw, rng))
                    self.files["truncate"].add(base)
                    for cut in offs:
                        n += 1
                        jobs.append(ex.submit(self.truncate_one, s, raw, cut,
                                              os.path.join(work, "t%d-%s" % (n, base))))
            for j in concurrent.futures.as_completed(jobs):
                self.problems += j.result()
        print("mode: %s (rates %s, seeds %s, flip seeds %s)" %
              ("full" if FULL else "default; SMBSCOPE_FULL=1 for all", RATES, SEEDS, FLIP_SEEDS))
        for m in ("corrupt", "flip", "truncate"):
            if m in modes:
                print("%-9s %3d files, %5d runs" % (m, len(self.files[m]), self.runs[m]))
        print("key logs  %d captures read with theirs (%s)" % (len(self.keyed), ", ".join(sorted(self.keyed))))
        if self.args.plugin_dir:
            print("tshark    %5d runs with the plugin (as nobody)" % self.runs["tshark"])
        else:
            print("tshark    skipped (no plugin)")
        for p in self.problems[:50]:
            print("FAIL", p)
        if not self.problems and not self.args.keep:
            shutil.rmtree(work, ignore_errors=True)
        if self.problems:
            print("%d problems (inputs kept in %s)" % (len(self.problems), work))
            return 1
        print("all clean")
        return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples", required=True)
    ap.add_argument("--work", default=None)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--modes", default="corrupt,flip,truncate")
    ap.add_argument("--plugin", default=None, help="smbscope.so; tshark runs are skipped when absent")
    ap.add_argument("--plugin-dir", default=None)
    ap.add_argument("--tshark-only", action="store_true",
                    help="only tshark with the plugin over the corrupted and flipped copies")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    if shutil.which("editcap") is None and "corrupt" in args.modes:
        args.modes = ",".join(m for m in args.modes.split(",") if m != "corrupt")
        print("sweep: editcap not found: corrupt mode skipped")
    if args.plugin and os.path.exists(args.plugin) and shutil.which("tshark") and shutil.which("setpriv"):
        # a copy the user nobody can read (the build tree may not be), in
        # the layout tshark 4.0 searches: DIR/<major.minor>/epan/
        out = subprocess.run(["tshark", "--version"], stdout=subprocess.PIPE).stdout.decode("utf-8", "replace")
        m = re.search(r"\b(\d+)\.(\d+)\.\d+", out)
        d = tempfile.mkdtemp(prefix="smbscope-plugin-")
        epan = os.path.join(d, "%s.%s" % (m.group(1), m.group(2)), "epan")
        os.makedirs(epan)
        shutil.copy(args.plugin, os.path.join(epan, "smbscope.so"))
        for root, dirs, files in os.walk(d):
            os.chmod(root, 0o755)
            for f in files:
                os.chmod(os.path.join(root, f), 0o644)
        args.plugin_dir = d
        env = dict(os.environ, WIRESHARK_PLUGIN_DIR=d, HOME="/nonexistent")
        listed = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                                 "tshark", "-G", "plugins"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env).stdout
        if b"smbscope.so" not in listed:
            print("sweep: tshark (as nobody) does not load %s" % args.plugin)
            return 1
    if args.tshark_only:
        if not args.plugin_dir:
            print("SKIP: --tshark-only needs the plugin built, tshark and setpriv")
            return 77
        args.modes = ",".join(m for m in args.modes.split(",") if m != "truncate")  # no tshark part
    return Sweep(args).go()


if __name__ == "__main__":
    sys.exit(main())
