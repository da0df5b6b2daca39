#!/usr/bin/python3
"""formats_check.py - every capture format and compression gives the report
the original gives; our reader gives libpcap's answers.

For every sample (samples/*.pcap, *.pcapng, *.gz), in one process, each
conversion made once and shared by the checks that use it:

  * formats: `editcap -F pcapng`, `-F netmon1`, `-F netmon2`, `-F snoop`, and a
    pcapng written here (pcapng_writer.py): big-endian then little-endian
    sections, interfaces with if_tsresol 10^-9 and 2^-20, an if_tsoffset,
    comment, custom and unknown blocks, an obsolete Packet Block.  Each must
    give the same JSON report as
    the original (capture time fields aside for netmon and snoop, which store
    time their own way; everything for pcapng).  A sample whose link type a
    format cannot hold must be refused by editcap (listed in UNCONVERTIBLE:
    a sample that becomes convertible, or one that stops being so, fails);
  * several interfaces: `mergecap` of two samples of different link types
    gives the connections and NetBIOS flows of both;
  * compression: gzip, zstd and lz4 (`-c` of each tool) give the same report;
  * readers: our reader on large reads (default), on a map of the file
    (SMBSCOPE_READER=mmap) and libpcap (SMBSCOPE_READER=libpcap) give
    identical JSON on every sample and every corpus capture, and
    inputs[].reader says which one read it;
  * cuts: a few samples cut at every record boundary and inside every record:
    the same exit status, records kept and error offset with our reader and
    with libpcap; at a boundary, a clean end.

Default mode (SMBSCOPE_FULL unset): the per-sample checks run on
FORMAT_SAMPLES (named below with what each brings) and on the first sample of
every distinct file header (format, byte order, version, snaplen, link type,
compression) among the others; every cut position of the cut samples' first
HEAD_RECORDS and last TAIL_RECORDS records and of every CUT_STRIDE-th record
between; the corpus captures of CORPUS_HOSTILE and the first of every
distinct file header among the others.  Every check, format, compressor,
reader, link type and file header still runs; the merge and the if_filter as
in full mode.  SMBSCOPE_FULL=1: every sample, every cut, every corpus
capture (the output says how many of how many ran).

Output: TAP.  The corpus (../shared/corpus) is optional: without it its
checks are skipped (and fail when CI=true).

Usage: formats_check.py --smbscope BIN --samples DIR [--corpus DIR]
"""

import argparse
import glob
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapng_writer  # noqa: E402

# editcap refuses these link types in these formats (checked, not assumed).
UNCONVERTIBLE = {
    "netmon1": {"LINUX_SLL", "LINUX_SLL2"},
    "netmon2": {"LINUX_SLL", "LINUX_SLL2"},
    "snoop": {"LINUX_SLL", "LINUX_SLL2"},
}
FORMATS = ("pcapng", "netmon1", "netmon2", "snoop")
# smbscope's format names for them (libwiretap's for the last three)
FORMAT_NAMES = {"pcapng": "pcapng", "netmon1": "netmon1", "netmon2": "netmon2", "snoop": "snoop"}
COMPRESSORS = {"gzip": ["gzip", "-c"], "zstd": ["zstd", "-q", "-c"], "lz4": ["lz4", "-q", "-c"]}
CUT_SAMPLES = ("nbss-negative.pcap", "smb445-smb3_11.pcapng", "nbns-unicast.pcap")
# The default mode's samples for the per-sample checks, each for what it
# brings to the reader, the converters or the compressors:
FORMAT_SAMPLES = (
    "nbss-negative.pcap",        # the if_filter check; a cut sample
    "smb445-smb3_11.pcapng",     # a pcapng original; a cut sample
    "nbt139-smb3_11.pcap.gz",    # a gzip'd original (compressed again)
    "smb445-any-sll.pcap",       # LINUX_SLL: netmon1/netmon2/snoop refuse it
    "smb445-any-sll2.pcap",      # LINUX_SLL2: the same
    "smb445-snaplen96.pcap",     # frames cut by the snaplen (wire length kept by each format)
    "smb445-bulk.pcap",          # 1.3 MB: many reads, maps and compression blocks
    "race-139-answered.pcap",    # timing decides its verdict (netmon1/snoop store time their own way)
    "rdma-roce-4791.pcap",       # snaplen 65535, RoCEv2
    "rdma-iwarp-midstream-5445.pcap",  # snaplen 0 in its header
)
# the cuts: every position in these records (default mode)
HEAD_RECORDS, TAIL_RECORDS, CUT_STRIDE = 4, 2, 16
# corpus folders whose captures were each made to crash a reader or a
# printer (tcpdump's regression captures): every one of them in default mode
CORPUS_HOSTILE = ("the-tcpdump-group__tcpdump",)
FULL = os.environ.get("SMBSCOPE_FULL") == "1"
TIME_KEYS = ("first_seen", "last_seen", "part_id")  # part_id: of the packets' times too (netmon1 rounds them)
RUN_KEYS = ("elapsed", "wall_", "cpu_", "runtime", "merge_state")  # merge_state names inputs (path, reader, format)
INPUT_KEYS = ("path", "bytes", "format", "reader", "gzip")

results = []


def tap(ok, name, detail=""):
    results.append(ok)
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), name))
    if detail and not ok:
        for line in str(detail).splitlines()[:12]:
            print("#   " + line)
    sys.stdout.flush()


def run(bin_, path, reader=None):
    env = dict(os.environ)
    env.pop("SMBSCOPE_READER", None)
    if reader:
        env["SMBSCOPE_READER"] = reader
    p = subprocess.run([bin_, "--format", "json", "-q", path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, timeout=600)
    try:
        doc = json.loads(p.stdout)
    except ValueError:
        doc = None
    return p.returncode, doc, p.stderr.decode(errors="replace")


def normalise(doc, drop_time, keep_inputs=False):
    """The report without run-dependent keys (and input names, unless asked)."""
    def walk(o, top=False):
        if isinstance(o, dict):
            out = {}
            for k, v in o.items():
                if any(r in k for r in RUN_KEYS) or (drop_time and k in TIME_KEYS):
                    continue
                if top and k == "inputs" and not keep_inputs:
                    v = [{kk: vv for kk, vv in i.items() if kk not in INPUT_KEYS} for i in v]
                out[k] = walk(v)
            return out
        if isinstance(o, list):
            return [walk(v) for v in o]
        if drop_time and isinstance(o, str):  # durations in details, e.g. "0.085 s"
            return re.sub(r"\d+\.\d+ s\b", "<t> s", o)
        return o
    return walk(doc, top=True)


def first_difference(a, b, path="$"):
    if type(a) is not type(b):
        return "%s: %r != %r" % (path, a, b)
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return "%s.%s: %r != %r" % (path, k, a.get(k, "<absent>"), b.get(k, "<absent>"))
            d = first_difference(a[k], b[k], "%s.%s" % (path, k))
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return "%s: %d != %d items" % (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, "%s[%d]" % (path, i))
            if d:
                return d
        return None
    return None if a == b else "%s: %r != %r" % (path, a, b)


def without_filters(doc):
    """libpcap does not tell a pcapng's if_filter nor its Interface Statistics
    Blocks' drop counts: leave them out of comparisons with it."""
    if doc and isinstance(doc.get("evidence"), dict):
        doc = dict(doc, evidence={k: v for k, v in doc["evidence"].items()
                                  if k not in ("capture_filters", "capture_drops")})
    return doc


def same_report(name, want, got, drop_time, expect_format=None, expect_reader=None, libpcap=False):
    rc_w, doc_w, _ = want
    rc_g, doc_g, err_g = got
    if libpcap:
        doc_w, doc_g = without_filters(doc_w), without_filters(doc_g)
    if doc_g is None:
        tap(False, name, "no JSON: " + err_g)
        return
    problems = []
    if rc_w != rc_g:
        problems.append("exit %d != %d: %s" % (rc_g, rc_w, err_g))
    d = first_difference(normalise(doc_w, drop_time), normalise(doc_g, drop_time))
    if d:
        problems.append(d)
    inp = doc_g["inputs"][0]
    if expect_format and inp.get("format") != expect_format:
        problems.append("format %r, want %r" % (inp.get("format"), expect_format))
    if expect_reader and inp.get("reader") != expect_reader:
        problems.append("reader %r, want %r" % (inp.get("reader"), expect_reader))
    tap(not problems, name, "\n".join(problems))


def convert(tool_args, out):
    p = subprocess.run(tool_args + [out], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode == 0 and os.path.exists(out), p.stderr.decode(errors="replace")


def compress(src, tool, out):
    with open(out, "wb") as f:
        p = subprocess.run(COMPRESSORS[tool] + [src], stdout=f, stderr=subprocess.PIPE)
    return p.returncode == 0


def plain_copy(sample, tmp):
    """An uncompressed copy of a sample (the .gz sample decompressed)."""
    if not sample.endswith(".gz"):
        return sample
    out = os.path.join(tmp, os.path.basename(sample)[:-3])
    with gzip.open(sample, "rb") as f, open(out, "wb") as g:
        shutil.copyfileobj(f, g)
    return out


def check_sample(bin_, sample, tmp):
    base = os.path.basename(sample)
    plain = plain_copy(sample, tmp)
    want = run(bin_, plain)
    if want[1] is None:
        tap(False, base + ": original report", want[2])
        return
    link = want[1]["inputs"][0]["link_type"]
    # readers (the default one: the original run itself, run once)
    inp = want[1]["inputs"][0]
    tap(inp.get("reader") == "stream", "%s: reader stream = original" % base, "reader %r" % inp.get("reader"))
    for reader, label in (("mmap", "mmap"), ("libpcap", "libpcap")):
        same_report("%s: reader %s = original" % (base, label), want, run(bin_, plain, reader), False,
                    expect_reader=label, libpcap=reader == "libpcap")
    # formats
    for fmt in FORMATS:
        out = os.path.join(tmp, "%s.%s" % (base, fmt))
        ok, err = convert(["editcap", "-F", fmt, plain], out)
        refused = link in UNCONVERTIBLE.get(fmt, ())
        if refused:
            tap(not ok, "%s: %s cannot hold %s (editcap refuses)" % (base, fmt, link), "editcap converted it")
            continue
        if not ok:
            tap(False, "%s: editcap -F %s" % (base, fmt), err)
            continue
        same_report("%s: %s = original" % (base, fmt), want, run(bin_, out), fmt != "pcapng",
                    expect_format=FORMAT_NAMES[fmt], expect_reader="stream" if fmt == "pcapng" else "wiretap")
    # our own pcapng writer: opposite byte order, two sections, tsresol/tsoffset, odd blocks
    out = os.path.join(tmp, base + ".written.pcapng")
    pcapng_writer.rewrite(plain, out)
    same_report("%s: written pcapng (byte orders, sections, tsresol, tsoffset) = original" % base, want,
                run(bin_, out), False, expect_format="pcapng", expect_reader="stream")
    same_report("%s: written pcapng through a map = original" % base, want,
                run(bin_, out, "mmap"), False, expect_reader="mmap")
    # the first interface's if_filter reaches the report
    if base == "nbss-negative.pcap":
        pcapng_writer.rewrite(plain, out, "port 445 or port 139")
        got = run(bin_, out)[1] or {}
        filters = (got.get("evidence") or {}).get("capture_filters")
        tap(filters == ["port 445 or port 139"], "%s: pcapng if_filter in evidence.capture_filters" % base,
            "capture_filters: %r" % (filters,))
    # compression, of the original and of the written pcapng
    for tool in COMPRESSORS:
        z = os.path.join(tmp, "%s.%s" % (base, tool))
        if not compress(plain, tool, z):
            tap(False, "%s: %s" % (base, tool), "compressor failed")
            continue
        same_report("%s: %s = original" % (base, tool), want, run(bin_, z), False, expect_reader="stream")
        os.unlink(z)


def header_signature(path):
    """What a reader sees before the first record: a pcap's 24-octet header
    (magic, version, snaplen, link type), a pcapng's magic and its first
    interface's link type and snaplen; gzip: of the inflated file."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return "unreadable " + os.path.basename(path)
    kind = "gz " if path.endswith(".gz") else ""
    if head[:4] == b"\x0a\x0d\x0d\x0a":
        order = "<" if head[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
        shb = int.from_bytes(head[4:8], "little" if order == "<" else "big")
        return kind + "pcapng %s %s" % (order, head[shb + 8:shb + 16].hex())
    return kind + "pcap " + head[:4].hex() + head[4:8].hex() + head[16:24].hex()


def sample_set(samples):
    """(samples the per-sample checks run on, why): every sample in full
    mode; else FORMAT_SAMPLES and the first of each other file header."""
    if FULL:
        return samples
    chosen = [s for s in samples if os.path.basename(s) in FORMAT_SAMPLES]
    seen = {header_signature(s) for s in chosen}
    for s in samples:
        sig = header_signature(s)
        if sig not in seen:
            seen.add(sig)
            chosen.append(s)
    return sorted(chosen)


def check_merge(bin_, samples, tmp):
    """Two samples of different link types merged into one pcapng."""
    a = os.path.join(samples, "smb445-any-sll2.pcap")
    b = os.path.join(samples, "nbt139-smb3_11.pcap")
    out = os.path.join(tmp, "merged.pcapng")
    p = subprocess.run(["mergecap", "-F", "pcapng", "-w", out, a, b], stderr=subprocess.PIPE)
    if p.returncode != 0:
        tap(False, "mergecap", p.stderr.decode(errors="replace"))
        return
    rc, doc, err = run(bin_, out)
    parts = [run(bin_, a)[1], run(bin_, b)[1]]
    if doc is None or None in parts:
        tap(False, "merged pcapng (SLL2 + Ethernet) read", err)
        return
    def keys(d, what):
        return sorted(json.dumps(normalise(x, False), sort_keys=True) for x in d.get(what) or [])
    problems = []
    for what in ("connections",):
        want = sorted(keys(parts[0], what) + keys(parts[1], what))
        if keys(doc, what) != want:
            problems.append("%s differ: %d vs %d" % (what, len(keys(doc, what)), len(want)))
    flows = lambda d: sorted(json.dumps(normalise(x, False), sort_keys=True) for x in d["netbios"]["flows"])
    if flows(doc) != sorted(flows(parts[0]) + flows(parts[1])):
        problems.append("netbios flows differ")
    inp = doc["inputs"][0]
    pk = sum(p_["inputs"][0]["packets"] for p_ in parts)
    if inp["packets"] != pk or inp["decode"] != _sum_decode(parts):
        problems.append("packets %s / decode %s, want %s / %s" % (inp["packets"], inp["decode"], pk, _sum_decode(parts)))
    if inp["reader"] != "stream" or inp["error"] is not None:
        problems.append("reader %s error %s" % (inp["reader"], inp["error"]))
    tap(not problems, "merged pcapng with two link types = both samples", "\n".join(problems))


def _sum_decode(parts):
    out = {}
    for p in parts:
        for k, v in p["inputs"][0]["decode"].items():
            out[k] = out.get(k, 0) + v
    return out


def record_starts(path):
    """Offsets of every record (pcap) or block (pcapng) and the file's end."""
    data = open(path, "rb").read()
    starts = []
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        off, end = 0, "<"
        while off + 12 <= len(data):
            if data[off:off + 4] == b"\x0a\x0d\x0d\x0a":
                end = "<" if data[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            starts.append(off)
            off += int.from_bytes(data[off + 4:off + 8], "little" if end == "<" else "big")
    else:
        order = "little" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else "big"
        off = 24
        while off + 16 <= len(data):
            starts.append(off)
            off += 16 + int.from_bytes(data[off + 8:off + 12], order)
    return data, starts


def cut_positions(data, starts):
    """Every cut (each record's start, and 9 octets into it) and the file's
    end; default mode: those of the first HEAD_RECORDS records (the file
    and section headers, the interfaces, the first packets), the last
    TAIL_RECORDS and every CUT_STRIDE-th between."""
    cuts = []
    for i, s in enumerate(starts):
        if not (FULL or i < HEAD_RECORDS or i >= len(starts) - TAIL_RECORDS or i % CUT_STRIDE == 0):
            continue
        cuts.append(s)               # a boundary
        nxt = starts[i + 1] if i + 1 < len(starts) else len(data)
        if nxt - s > 9:
            cuts.append(s + 9)       # inside the record header or block
    cuts.append(len(data))
    return cuts


def all_cuts(data, starts):
    return len(starts) + sum(1 for i, s in enumerate(starts)
                             if (starts[i + 1] if i + 1 < len(starts) else len(data)) - s > 9) + 1


def check_cuts(bin_, samples, tmp):
    for name in CUT_SAMPLES:
        data, starts = record_starts(os.path.join(samples, name))
        problems = []
        cuts = cut_positions(data, starts)
        print("# %s: cuts: %d of %d (SMBSCOPE_FULL=1: all)" % (name, len(cuts), all_cuts(data, starts)))
        # before the first record (pcapng: the section header and the first
        # interface description) a cut file cannot be opened at all
        first_rec = starts[2] if data[:4] == b"\x0a\x0d\x0d\x0a" else starts[0]
        path = os.path.join(tmp, "cut-" + name)
        for cut in cuts:
            with open(path, "wb") as f:
                f.write(data[:cut])
            ours, lib = run(bin_, path), run(bin_, path, "libpcap")
            o_in = ours[1]["inputs"][0] if ours[1] else {}
            l_in = lib[1]["inputs"][0] if lib[1] else {}
            if ours[0] != lib[0] or o_in.get("packets") != l_in.get("packets"):
                problems.append("cut %d: exit %s/%s packets %s/%s" % (cut, ours[0], lib[0], o_in.get("packets"),
                                                                      l_in.get("packets")))
                continue
            offs = [re.search(r"byte offset (\d+)", e or "") for e in (o_in.get("error"), l_in.get("error"))]
            if any(offs) and (not all(offs) or offs[0].group(1) != offs[1].group(1)):
                problems.append("cut %d: %r vs %r" % (cut, o_in.get("error"), l_in.get("error")))
            at_boundary = cut in starts or cut == len(data)
            if at_boundary and (o_in.get("error") is not None and cut >= first_rec):
                problems.append("cut %d at a boundary: %s" % (cut, o_in.get("error")))
            if not at_boundary and o_in.get("error") is None and cut > first_rec:
                problems.append("cut %d inside a record: no error" % cut)
        tap(not problems, "%s: %d cuts, our reader = libpcap (exit, records, offset)" % (name, len(cuts)),
            "\n".join(problems))


def check_corpus(bin_, corpus):
    files = sorted(f for f in glob.glob(os.path.join(corpus, "**", "*"), recursive=True)
                   if os.path.isfile(f) and not f.endswith((".md", ".tsv")))
    chosen = files
    if not FULL:
        seen, chosen = set(), []
        for f in files:
            sig = header_signature(f)
            if sig not in seen or os.path.relpath(f, corpus).split(os.sep)[0] in CORPUS_HOSTILE:
                seen.add(sig)
                chosen.append(f)
    print("# corpus: %d of %d captures (SMBSCOPE_FULL=1: all)" % (len(chosen), len(files)))
    for f in chosen:
        want = run(bin_, f, "libpcap")
        if want[1] is None or want[1]["inputs"][0]["reader"] != "libpcap":
            continue  # not a file libpcap reads: libwiretap's alone
        rel = os.path.relpath(f, corpus)
        same_report("corpus %s: our reader = libpcap" % rel, want, run(bin_, f), False,
                    expect_reader="stream", libpcap=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples", required=True)
    ap.add_argument("--corpus")
    args = ap.parse_args()
    for tool in ("editcap", "mergecap", "gzip", "zstd", "lz4"):
        if not shutil.which(tool):
            print("1..0 # SKIP %s not installed" % tool)
            return 77
    samples = sorted(glob.glob(os.path.join(args.samples, "*.pcap")) +
                     glob.glob(os.path.join(args.samples, "*.pcapng")) +
                     glob.glob(os.path.join(args.samples, "*.gz")))
    tmp = tempfile.mkdtemp(prefix="smbscope-formats-")
    try:
        chosen = sample_set(samples)
        print("# samples: %d of %d (SMBSCOPE_FULL=1: all): %s" % (len(chosen), len(samples),
                                                                  " ".join(os.path.basename(s) for s in chosen)))
        for s in chosen:
            check_sample(args.smbscope, s, tmp)
        check_merge(args.smbscope, args.samples, tmp)
        check_cuts(args.smbscope, args.samples, tmp)
        if args.corpus and os.path.isdir(args.corpus):
            check_corpus(args.smbscope, args.corpus)
        elif os.environ.get("CI") == "true":
            tap(False, "corpus present (CI=true)", "no corpus at %s" % args.corpus)
        else:
            print("# SKIP corpus checks: no corpus at %s" % args.corpus)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
