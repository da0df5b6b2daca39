#!/usr/bin/python3
"""merge_check.py - `smbscope merge` of per-capture JSON reports equals the
run that reads the captures together, and merge refuses what it must.

Checked over samples/*.pcap (X.pcap.gz is the same traffic as X.pcap):
  * pairs: every sample with the next one (cyclic), in both argument orders
    (order independence); by default each sample in one pair, the first
    with the second, the third with the fourth, ... (SMBSCOPE_FULL=1: the
    cyclic pairs); --all-pairs checks every pair (slow: minutes);
  * all: every sample at once, and the same merged in two halves first
    (associativity: merge(merge(A), merge(B)) == merge(A + B));
  * splits: captures cut with editcap -c in the middle of SMB connections
    (NBT with SMB 3.1.1, direct 445, NetBIOS mixed; 2 and 3 parts): the
    merge of the parts' reports equals the run over the parts, connection
    for connection (the parts of one connection joined, also when a
    NEGOTIATE, SESSION_SETUP or TREE_CONNECT request and its response fall
    in different parts, and across up to 8 parts); merge_cuts_check.py
    cuts at every packet; README.md (smbscope merge) says what merge
    cannot join yet (a last part of ACKs and FINs only: merge_limits_check.py);
  * --jobs 2 (threads, merged in-process) answers as --jobs 1 over every
    sample (JSON, text), and refuses -T ndjson;
  * stdin: a report read from - ;
  * malformed states with a matching digest (a forged report): refused by
    the reader's own bounds, the message naming the member;
  * refusals: a report whose state was changed (digest mismatch), a foreign
    JSON document, another merge_state format, a report written under
    another policy, a non-JSON file, a document nested too deep: exit 2 and
    a message naming the file.
  * repeats: a capture part given twice (the same report twice, renamed,
    from a file and stdin, (A+B)+(B+C), (A+B)+B, a merged report holding a
    run twice, the capture analysed again under another name, its gzip twin,
    its pcapng conversion, --jobs 2 and 1, two filters keeping the same
    packets, an older report without part_id twice): exit 2, naming both
    reports and the part; a changed part_id is a digest mismatch; another
    sensor's capture of the same traffic, another filter, another cut and
    two empty captures merge;
  * overlaps: cuts of one capture that share packets (editcap -r of a
    sample and of a generated capture: one packet at the cut, thousands, a
    cut of the middle; also inside a merged report and between a run's
    own inputs): exit 2 naming both and the sampled records they share;
    cuts next to each other, another sensor's copy of an overlapping cut,
    a report without the sketch merge; forged sketches are refused; a SPAN
    capture (each packet twice) cut between a packet's two copies is
    refused with what to do (editcap -D, editcap -i), and cut between two
    packets, by time or after editcap -D it merges to the joint run.

Equal means: the JSON reports are the same with merge_state removed, apart
from the counters a run cannot add up from parts (documented in README.md):
stats.max_concurrent_connections, stats.reassembly_buffer_peak (peaks),
stats.time_jumps (a jump between two files read one after the other) and
stats.connections_closed_early (a cap on connections lingering at once).  The
joint run reads the captures in the order of their first packet, as merge
lists its inputs; exit statuses must be equal too.

With --corpus DIR (../shared/corpus: public captures of other projects),
the same pairs and all-at-once checks over those captures instead (exit 77
when the corpus is absent, a failure under CI=true).

Usage: merge_check.py --smbscope BIN (--samples DIR | --corpus DIR) [--all-pairs]
"""

import argparse
import base64
import glob
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcap_cut  # noqa: E402  (editcap -r / -c without a tool start each)

failures = []
FULL = os.environ.get("SMBSCOPE_FULL") == "1"


def expect(name, cond, detail=""):
    print("%-4s %s%s" % ("ok" if cond else "FAIL", name, "" if cond else ": " + detail))
    if not cond:
        failures.append(name)


SANITIZER = ("AddressSanitizer", "LeakSanitizer", "runtime error:")


def run(cmd, stdin=None):
    p = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    err = p.stderr.decode(errors="replace")
    if any(s in err for s in SANITIZER):  # a sanitized build's report fails the test whatever the output
        expect("no sanitizer report from " + " ".join(os.path.basename(c) for c in cmd[:4]), False, err[:2000])
    return p.returncode, p.stdout, err


UNADDABLE = ("max_concurrent_connections", "reassembly_buffer_peak", "connections_closed_early",
             "jobs")  # --jobs: how the work was divided (stats.jobs)


def normal(doc):
    doc = dict(doc)
    doc.pop("merge_state", None)
    stats = dict(doc.get("stats", {}))
    for k in UNADDABLE:
        stats.pop(k, None)
    stats.pop("merged", None)  # a merge says which counters are the largest or the sum of its runs
    doc["stats"] = stats
    # A run lists NetBIOS rows as it creates them (a row for NBSS on another
    # port is made when its connection closes); merge by first seen.
    nb = dict(doc.get("netbios", {}))
    nb["flows"] = sorted(nb.get("flows", []), key=lambda f: json.dumps(f, sort_keys=True))
    doc["netbios"] = nb
    # verdict lines are in first-seen order; of one time, a run lists them in
    # the order it met their connections, merge by content.
    v = dict(doc.get("verdict", {}))
    for k in ("violations",):
        v[k] = sorted(v.get(k, []), key=lambda x: (x.get("first_seen") or "", json.dumps(x, sort_keys=True)))
    doc["verdict"] = v
    doc["findings"] = sorted(doc.get("findings", []), key=lambda x: (x.get("first_seen") or "", json.dumps(x, sort_keys=True)))
    # connections[] is in first-seen order; a run breaks ties by its flow
    # ids, which mean nothing across captures (merge: by the entry's text).
    doc["connections"] = sorted(doc.get("connections", []),
                                key=lambda c: (c.get("first_seen") or "", json.dumps(c, sort_keys=True)))
    return doc


def same_json(a, b):
    """a and b are the same JSON value (1 is not 1.0 nor true, object
    members in any order): their sorted texts, by the C encoder, where
    first_diff() in Python took seconds on a large report."""
    try:
        return type(a) is type(b) and json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    except (TypeError, ValueError):  # not JSON (a set, a tuple key): first_diff() walks it
        return False


def first_diff(a, b, path=""):
    """Where two JSON values first differ, for the message."""
    if not path and same_json(a, b):  # the usual answer, whole
        return None
    if type(a) is not type(b):
        return "%s: %r != %r" % (path, a, b)
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return "%s.%s only in %s" % (path, k, "merge" if k in a else "joint")
            d = first_diff(a[k], b[k], path + "." + k)
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return "%s: %d != %d elements" % (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_diff(x, y, "%s[%d]" % (path, i))
            if d:
                return d
        return None
    return None if a == b else "%s: %r != %r" % (path, a, b)


class Reports:
    def __init__(self, smbscope, tmp):
        self.smbscope, self.tmp, self.cache = smbscope, tmp, {}

    def of(self, capture):
        """The per-capture report file, its first packet time and exit code."""
        if capture not in self.cache:
            out = os.path.join(self.tmp, os.path.basename(capture) + ".json")
            rc, data, err = run([self.smbscope, "-q", "-T", "json", capture])  # merge_state by default
            with open(out, "wb") as f:
                f.write(data)
            doc = json.loads(data) if data else {}
            first = doc["merge_state"]["state"]["inputs"][0]["first_ts"] if "merge_state" in doc else 0
            self.cache[capture] = (out, first, rc)
        return self.cache[capture]

    def chrono(self, captures):
        return sorted(captures, key=lambda c: (self.of(c)[1], c))


def compare(name, smbscope, reports, captures, merged_args=None):
    caps = reports.chrono(captures)
    rc_j, joint, err_j = run([smbscope, "-q", "-T", "json"] + caps)
    args = merged_args if merged_args is not None else [reports.of(c)[0] for c in captures]
    rc_m, merged, err_m = run([smbscope, "merge", "-T", "json"] + args)
    if rc_m == 2:
        expect(name, False, "merge failed: " + err_m.strip())
        return None
    d = first_diff(normal(json.loads(merged)), normal(json.loads(joint)))
    expect(name, d is None and rc_m == rc_j, d or "exit %d != %d" % (rc_m, rc_j))
    return merged


SPLITS = [("nbt139-smb3_11.pcap", (9, 16, 23, 30, 37)), ("smb445-list-shares.pcap", (4, 8, 9, 12, 16)),
          ("mixed-nbns-139-445.pcap", (32, 38))]


def splits(smbscope, samples_dir, tmp):
    for name, counts in SPLITS:
        for n in counts:
            d = os.path.join(tmp, "split-%s-%d" % (name, n))
            os.mkdir(d)
            parts = pcap_cut.every(os.path.join(samples_dir, name), n, os.path.join(d, "part"))
            reports = Reports(smbscope, d)
            compare("split %s every %d packets (%d parts)" % (name, n, len(parts)), smbscope, reports, parts)
            if len(parts) >= 3:  # merged in two steps, the middle part with either neighbour
                rc, first, _ = run([smbscope, "merge", "-T", "json", reports.of(parts[0])[0], reports.of(parts[1])[0]])
                step = os.path.join(d, "step.json")
                with open(step, "wb") as f:
                    f.write(first)
                compare("split %s every %d packets, merged in two steps" % (name, n), smbscope, reports, parts,
                        [step] + [reports.of(p)[0] for p in parts[2:]])


def jobs(smbscope, reports, samples):
    """--jobs 2 (threads, merged in-process) answers as --jobs 1 does, for
    the captures given in the order of their first packet, in every format."""
    caps = reports.chrono(samples)
    for fmt in ("json", "text"):
        rc1, one, _ = run([smbscope, "-q", "-T", fmt] + caps)
        rc2, two, err = run([smbscope, "-q", "-T", fmt, "--jobs", "2"] + caps)
        if fmt == "json":
            d = first_diff(normal(json.loads(two)), normal(json.loads(one)))
        else:  # the same lines (NetBIOS rows: by first seen), but the time jumps between captures (README)
            lines = [sorted(l for l in out.decode().splitlines() if not l.startswith("  time jumps")) for out in (one, two)]
            d = None if lines[0] == lines[1] else "the text reports differ"
        expect("--jobs 2 == --jobs 1 (%s, %d captures)" % (fmt, len(caps)), d is None and rc1 == rc2,
               d or "exit %d != %d %s" % (rc2, rc1, err.strip()))
    rc, _, err = run([smbscope, "-q", "-T", "ndjson", "--jobs", "2"] + caps[:2])
    expect("--jobs 2 refuses -T ndjson", rc == 2 and "--jobs" in err, err.strip())


def canonical(x):
    """The compact form the digest is taken over (smbscope's JSON writer:
    as json.dumps, but DEL escaped; json.dumps never escapes it, so a raw
    DEL in its output is always inside a string)."""
    return json.dumps(x, separators=(",", ":"), ensure_ascii=False).replace("\x7f", "\\u007f")


def redigest(doc):
    text = "smbscope-merge-state/%d\n%s\n%s" % (doc["merge_state"]["format"], canonical(doc["merge_state"]["state"]),
                                                 canonical(doc.get("connections", [])))
    doc["merge_state"]["digest"] = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    return doc


def sensor_copy(src, dst, k):
    """The traffic of src as another sensor saw it: the same records at the
    same times, the Ethernet addresses' last two bytes XOR k (1..65535;
    another tap's link headers).  A distinct capture part (README: the same
    traffic captured by two sensors counts twice), whose connections are
    src's, of the same times: what the degenerate-shape tests once made of
    copies of one report, which merge now refuses."""
    assert 0 < k < 65536
    with open(src, "rb") as f:
        data = f.read()
    if data[:4] not in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4"):  # not classic microsecond pcap: made so
        tmp = dst + ".pcap-tmp"
        subprocess.run(["editcap", "-F", "pcap", src, tmp], check=True, stdout=subprocess.DEVNULL)
        with open(tmp, "rb") as f:
            data = f.read()
        os.unlink(tmp)
    end = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    assert struct.unpack_from(end + "I", data, 20)[0] == 1, "an Ethernet capture"
    out, at = bytearray(data[:24]), 24
    while at + 16 <= len(data):
        incl = struct.unpack_from(end + "I", data, at + 8)[0]
        rec = bytearray(data[at:at + 16 + incl])
        for mac in (16, 22):  # destination, source
            if len(rec) >= mac + 6:
                rec[mac + 4] ^= k >> 8
                rec[mac + 5] ^= k & 0xFF
        out += rec
        at += 16 + incl
    with open(dst, "wb") as f:
        f.write(out)
    return dst


def malformed(smbscope, reports, sample, tmp):
    """States smbscope never writes, with a digest that matches them (so
    the reader's own checks answer): refused, naming the member."""
    path = reports.of(sample)[0]
    doc = json.load(open(path))
    expect("the digest is SHA-256 over the compact state and connections[]",
           redigest(json.loads(json.dumps(doc)))["merge_state"]["digest"] == doc["merge_state"]["digest"])

    def case(name, change, needle):
        t = json.loads(json.dumps(doc))
        change(t["merge_state"]["state"], t)
        bad = os.path.join(tmp, "malformed-%s.json" % name)
        with open(bad, "w") as f:
            f.write(json.dumps(redigest(t)))
        rc, _, err = run([smbscope, "merge", bad])
        expect("refuses a malformed state: " + name, rc == 2 and bad in err and needle in err, err.strip())

    def group_set(member, value):
        def change(s, t):
            s["groups"][0][s["group_fields"].index(member)] = value
        return change

    fields = doc["merge_state"]["state"]["group_fields"]
    case("group level", group_set("level", 99), "groups[0][%d]" % fields.index("level"))
    case("group of none", group_set("count", 0), "groups[0]")
    # any int64 was taken as a time, and merge subtracts times (UBSan: signed overflow)
    case("group time past 2^62 us", group_set("first_ts", -2**63), "groups[0][%d]: not a capture time" % fields.index("first_ts"))
    case("input time none-like but not", lambda s, t: s["inputs"][0].update(first_ts=2**62), "inputs[0].first_ts: not a capture time")
    # a tail's FIN-acknowledged mark naming a tail of a state without tails wrote past merge's array
    case("FINs acknowledged of no tail", lambda s, t: s.update(tails=[], tail_closes=[], tail_fins_acked=[0]),
         "tail_fins_acked: names a tail of a state without tails")
    # merge adds twice a rank to it (signed overflow)
    case("close number past 2^62", lambda s, t: s.update(end_close_ranks=[0], end_closes_from=2**62 + 2),
         "end_closes_from: not a close number")
    case("dialect text too long", group_set("dialect_text", "x" * 40), "groups[0][%d]" % fields.index("dialect_text"))
    case("group of another shape", lambda s, t: s["groups"].append([1, 2]), "groups[%d]" % len(doc["merge_state"]["state"]["groups"]))
    case("group fields renamed", lambda s, t: s["group_fields"].__setitem__(0, "customer"), "group_fields")
    case("smb hosts past the state's cap", lambda s, t: s["smb_hosts"].update(cap=0), "smb_hosts")
    case("census pair", lambda s, t: s["census"].update(pairs=[["10.0.0.1"]]), "census.pairs[0]")
    case("address", lambda s, t: s["netbios"]["rows"].append(
         [("10.0.0.300" if k == s["netbios"]["row_fields"].index("client") else v)
          for k, v in enumerate(s["netbios"]["rows"][0])])
         if s["netbios"]["rows"] else s["census"].update(pairs=[["10.0.0.300", "10.0.0.1", 0, 1, 0, [], [1]]]),
         "not an")
    case("negative count", lambda s, t: s["run"].update(packets=-1), "run.packets")
    case("edges past the cap", lambda s, t: s.update(edges=[[None]] * 4097), "more than 4096")
    case("edge of another shape", lambda s, t: s.update(edges=[[1, 2, 3]]), "edges[0]")
    case("NetBIOS row fields renamed", lambda s, t: s["netbios"]["row_fields"].__setitem__(1, "customer"),
         "netbios.row_fields")
    case("NetBIOS host record of another shape", lambda s, t: s["hosts"]["records"].append([1, 2]), "hosts.records[")
    case("edge exchange of another shape", lambda s, t: s["edge_xchg"].append({"client": "10.0.0.1"}), "edge_xchg[0]")
    case("unknown decode outcome", lambda s, t: s["inputs"][0]["status"].update(bogus=1), "decode outcome")
    case("detail count", lambda s, t: t["connections"].append({"first_seen": None}), "conns_detailed")
    # review3: a connection's counters past 2^62 overflowed when merge added
    # two parts' (UBSan), and one forged as an array reached json-glib's
    # typed getters (Json-CRITICAL, half read): the entry is refused
    if doc.get("connections"):
        case("connection counter past 2^62", lambda s, t: t["connections"][0]["stream"].update(bytes_c2s=2**62 + 1),
             "connections[]: a number out of range")
        case("connection counter of another type", lambda s, t: t["connections"][0]["stream"].update(packets_c2s=[]),
             "connections[]: a member of another type")
        case("connection end of another type", lambda s, t: t["connections"][0].update(client_port={}),
             "connections[]: a member of another type")
    else:
        expect("the sample has connections[] to forge", False)
    compact_hosts(smbscope, doc, tmp)


def compact_stream(entries, width, n=None):
    """hosts.compact_v4 / compact_v6 as the writer puts them (mstate_nb.c):
    entries (address as an int, bits) in the order given, IPv4 as the
    difference from the one before (4 bytes), IPv6 its 16 bytes."""
    raw, prev = b"", 0
    for addr, bits in entries:
        raw += (((addr - prev) % (1 << 32)).to_bytes(4, "big") if width == 4 else addr.to_bytes(16, "big")) + \
            bytes([bits])
        prev = addr
    return {"n": len(entries) if n is None else n, "zlib": base64.b64encode(zlib.compress(raw)).decode()}


def compact_hosts(smbscope, doc, tmp):
    """A state's NetBIOS hosts past its records, compact: a forged set
    smbscope would write merges (a chunk boundary of the reader, 4,096
    entries, inside it), and every set it would not write is refused, the
    member named: out of order (also across that boundary), the same address
    twice, an IPv4 difference past 2^32, bits it does not write, another
    count than the stream holds."""
    def fold(name, member, value):
        t = json.loads(json.dumps(doc))
        t["merge_state"]["state"]["hosts"][member] = value
        bad = os.path.join(tmp, "compact-%s.json" % name.replace(" ", "-"))
        with open(bad, "w") as f:
            f.write(json.dumps(redigest(t)))
        return run([smbscope, "merge", "-T", "json", bad]) + (bad,)

    v4 = [(0x0A090000 + i, 0x81) for i in range(5000)]
    v6 = [((0xFD09 << 112) + i, 0x84) for i in range(5000)]
    rc, out, err, _ = fold("well formed", "compact_v4", compact_stream(v4, 4))
    total = json.loads(out)["hosts_summary"]["total"] if rc != 2 else None
    rc6, out6, err6, _ = fold("well formed v6", "compact_v6", compact_stream(v6, 16))
    total6 = json.loads(out6)["hosts_summary"]["total"] if rc6 != 2 else None
    base = doc["hosts_summary"]["total"]
    expect("a compact set smbscope would write merges, every host counted (IPv4, IPv6: 5,000 each)",
           rc != 2 and rc6 != 2 and total == base + 5000 and total6 == base + 5000,
           "%r %r %r %r" % (total, total6, err.strip()[:200], err6.strip()[:200]))
    swapped = v6[:4095] + [v6[4096], v6[4095]] + v6[4097:]
    for name, member, value, needle in (
            ("unsorted v4", "compact_v4", compact_stream([v4[1], v4[0]] + v4[2:], 4), "addresses not in order"),
            ("duplicate v4", "compact_v4", compact_stream(v4[:3] + [v4[2]], 4), "addresses not in order"),
            ("v4 difference past 2^32", "compact_v4", compact_stream([(0xFFFFFFF0, 0x81)], 4) |
             {"zlib": base64.b64encode(zlib.compress(b"\xff\xff\xff\xf0\x81\x00\x00\x00\x20\x81")).decode(),
              "n": 2}, "addresses not in order"),
            ("unsorted v6", "compact_v6", compact_stream([v6[1], v6[0]], 16), "addresses not in order"),
            ("unsorted v6 across the reader's chunk", "compact_v6", compact_stream(swapped, 16),
             "addresses not in order"),
            ("duplicate v6", "compact_v6", compact_stream(v6[:2] + [v6[1]], 16), "addresses not in order"),
            ("bits without present", "compact_v4", compact_stream([(0x0A090001, 0x01)], 4),
             "bits this smbscope does not write"),
            ("bits outside the mask", "compact_v4", compact_stream([(0x0A090001, 0xC1)], 4),
             "bits this smbscope does not write"),
            ("n one more", "compact_v4", compact_stream(v4, 4, n=len(v4) + 1), "not a zlib stream of n hosts"),
            ("n one fewer", "compact_v4", compact_stream(v4, 4, n=len(v4) - 1), "not a zlib stream of n hosts"),
            ("v6 n one fewer", "compact_v6", compact_stream(v6, 16, n=len(v6) - 1), "not a zlib stream of n hosts")):
        rc, _, err, bad = fold(name, member, value)
        expect("refuses compact hosts: " + name, rc == 2 and bad in err and "hosts." + member in err and
               needle in err, err.strip()[:300])


def pack_leaf(text):
    """A leaf's text packed as merge reads it, its zlib stream padded (bytes
    after the stream's end are not read) to the 256:1 a leaf may claim."""
    import base64
    import random
    import zlib
    raw = text.encode()
    z = zlib.compress(raw, 9)
    need = (len(raw) - (1 << 20) + 255) // 256
    if len(z) < need:
        z += random.Random(len(raw)).randbytes(need - len(z))  # the same every run
    return {"bytes": len(raw), "zlib": base64.b64encode(z).decode()}


def unpack_leaf(leaf):
    import base64
    import zlib
    return json.loads(zlib.decompress(base64.b64decode(leaf["zlib"])))


def forged_leaf_report(merged, where, mib):
    """A merged report (a document) whose leaf 0 holds about mib MiB of
    dense small values (json-glib's tree: about 40 bytes a byte), its
    digest made again: in its state, in a member smbscope does not write
    ("state"), or in connections[] entries of 4,000 values each, within what
    an entry may hold ("connections"; "connections-over": 5,000, past it)."""
    doc = json.loads(json.dumps(merged))
    leaf = unpack_leaf(doc["merge_state"]["state"]["leaves"][0])
    state = canonical(leaf["state"])
    n = int(mib * (1 << 20)) // 2
    if where == "state":
        text = '{"state":' + state[:-1] + ',"junk":[' + "0," * n + '0]},"connections":' + \
            canonical(leaf["connections"]) + "}"
    else:
        per = 4000 if where == "connections" else 5000
        k = max(1, n // per)
        leaf["state"]["conns_detailed"] = k
        state = canonical(leaf["state"])
        entry = '{"first_seen":"2026-01-01T00:00:00.%06dZ","client_port":%d,"server_port":445,"junk":[' + \
            "0," * (per - 4) + '0]}'
        text = '{"state":' + state + ',"connections":[' + ",".join(entry % (i, i % 65536) for i in range(k)) + "]}"
    doc["merge_state"]["state"]["leaves"][0] = pack_leaf(text)
    return redigest(doc)


def forged_leaves(smbscope, reports, samples, tmp):
    """A merged report whose packed leaf inflates to about 48 MiB of dense
    values (a few hundred KB of report): merge holds one piece of it at a
    time (leaf_split.c), and the values past the caps are refused before
    they are parsed.  Run in its own process under 512 MiB of address space
    (json-glib's tree of the whole leaf took 2 GB); a sanitizer's shadow
    memory does not fit such a limit, so there the leaf is 4 MiB and the
    peak is not checked."""
    rc, merged, err = run([smbscope, "merge", "-T", "json"] + [reports.of(c)[0] for c in samples[:2]])
    expect("a merged report to forge", rc != 2 and b'"leaves"' in merged, err.strip())
    if rc == 2 or b'"leaves"' not in merged:
        return
    merged = json.loads(merged)
    sanitized = b"__asan_init" in open(smbscope, "rb").read()
    # 16 MiB by default: its whole tree (about 40 bytes a byte, 640 MB) is
    # still past the 512 MiB of address space and the 256 MiB bound
    mib = 4 if sanitized else 48 if FULL else 16

    def limit():
        if not sanitized:
            import resource
            resource.setrlimit(resource.RLIMIT_AS, (512 << 20, 512 << 20))

    for where, args, want in (("state", [], (2, "state.junk (not a member smbscope writes)")),
                              ("connections-over", [], (2, "a connections[] entry of more than 4096 values")),
                              ("connections", [], (1, None)),
                              ("connections", ["--connections", "none"], (1, None))):
        bad = os.path.join(tmp, "forged-%s.json" % where)
        with open(bad, "w") as f:
            f.write(json.dumps(forged_leaf_report(merged, where, mib)))
        p = subprocess.Popen([smbscope, "merge", "-T", "json", "-q", "-o", os.devnull] + args + [bad],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=limit)
        err = p.stderr.read().decode(errors="replace")
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        name = "a packed leaf of %d MiB of dense values in its %s%s" % (mib, where, " " + " ".join(args) if args else "")
        ok = p.returncode in ((2,) if want[0] == 2 else (0, 1)) and (want[1] is None or want[1] in err)
        expect(name + (": refused before it is parsed" if want[0] == 2 else ": merged a piece at a time"), ok,
               "exit %d, peak %d MiB, %r" % (p.returncode, usage.ru_maxrss >> 10, err.strip()[:300]))
        if not sanitized:
            expect(name + ": peak RSS %d MiB under 256 MiB" % (usage.ru_maxrss >> 10), usage.ru_maxrss < 256 << 10)


def limited_merge(smbscope, args, limit_mib):
    """merge run in its own process under limit_mib MiB of address space
    (None: no limit; a sanitizer's shadow memory does not fit one):
    (exit status, stderr, peak RSS in KiB)."""
    def limit():
        if limit_mib is not None:
            import resource
            resource.setrlimit(resource.RLIMIT_AS, (limit_mib << 20, limit_mib << 20))

    p = subprocess.Popen([smbscope, "merge", "-T", "json", "-q", "-o", os.devnull] + args,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=limit)
    err = p.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(p.pid, 0)
    return os.waitstatus_to_exitcode(status), err, usage.ru_maxrss


def forged_merged_connections(smbscope, reports, samples, tmp):
    """A merged report's own connections[] (the view of its leaves, read
    only for its digest) of about 16 MiB of dense entries, digest made
    again: hashed an element at a time, never one tree (json-glib's tree of
    the whole array is about 40 bytes a byte: main was killed at 512 MiB of
    address space); an element that is no object, or one of more values
    than a joined entry can hold, is refused before it is parsed."""
    rc, merged, err = run([smbscope, "merge", "-T", "json"] + [reports.of(c)[0] for c in samples[:2]])
    expect("a merged report to forge (connections[])", rc != 2 and b'"leaves"' in merged, err.strip())
    if rc == 2 or b'"leaves"' not in merged:
        return
    sanitized = b"__asan_init" in open(smbscope, "rb").read()
    # 8 MiB by default: its whole tree (about 40 bytes a byte, 320 MB) is
    # still past the 128 MiB bound
    mib = 4 if sanitized else 16 if FULL else 8
    per = 4000
    k = mib * (1 << 20) // (2 * per)
    entry = {"first_seen": "2026-01-01T00:00:00.000000Z", "client_port": 1, "server_port": 445,
             "junk": [0] * (per - 4)}
    cases = (("dense", [dict(entry, client_port=i % 65536) for i in range(k)], None),
             ("not an object", [entry, 7], "connections[%d]: an entry that is not an object"),
             ("too many values", [dict(entry, junk=[0] * (16 * 4096))],
              "connections[%d]: an entry of more than 65536 values"))
    for name, conns, needle in cases:
        doc = json.loads(merged)
        if needle:
            needle %= len(doc["connections"]) + len(conns) - 1
        doc["connections"] = doc["connections"] + conns
        bad = os.path.join(tmp, "forged-merged-%s.json" % name.replace(" ", "-"))
        with open(bad, "w") as f:
            f.write(json.dumps(redigest(doc)))
        rc, err, peak = limited_merge(smbscope, [bad], None if sanitized else 512)
        what = "a merged report's connections[] of %s" % name
        if needle is None:
            expect(what + " (%d MiB): merged an entry at a time" % mib, rc in (0, 1), "exit %d, peak %d MiB, %r" %
                   (rc, peak >> 10, err.strip()[:300]))
            if not sanitized:
                expect(what + ": peak RSS %d MiB under 128 MiB" % (peak >> 10), peak < 128 << 10)
        else:
            expect(what + ": refused", rc == 2 and needle in err, "exit %d, %r" % (rc, err.strip()[:300]))


def forged_edge_entries(smbscope, reports, samples, tmp):
    """A merged report whose leaf of a run with an edge connection (one a
    join may change: its entry is kept to the end whatever the limit)
    carries 2,048 entries of that connection, each of 4,000 values (within
    what an entry may hold), digest made again: kept as their text, not
    json-glib trees (about 360 KB each: main was killed at 512 MiB of
    address space)."""
    mid = [c for c in samples if os.path.basename(c) == "smb445-midstream.pcap"]
    other = [c for c in samples if os.path.basename(c) == "smb445-list-shares.pcap"]
    expect("samples with an edge connection", mid and other)
    if not mid or not other:
        return
    rc, merged, err = run([smbscope, "merge", "-T", "json", reports.of(mid[0])[0], reports.of(other[0])[0]])
    expect("a merged report to forge (edge entries)", rc != 2 and b'"leaves"' in merged, err.strip())
    if rc == 2 or b'"leaves"' not in merged:
        return
    sanitized = b"__asan_init" in open(smbscope, "rb").read()
    # 1,024 by default: their trees (about 360 KB each, 360 MB) still past the 160 MiB bound
    k, per = (256 if sanitized else 2048 if FULL else 1024), 4000
    doc = json.loads(merged)
    leaves = doc["merge_state"]["state"]["leaves"]
    at = [i for i, lf in enumerate(leaves) if unpack_leaf(lf)["state"]["edges"]]
    expect("a leaf with an edge connection and its entry", len(at) == 1)
    if len(at) != 1:
        return
    leaf = unpack_leaf(leaves[at[0]])
    entry = leaf["connections"][0]
    padded = dict(entry, junk=[0] * (per - 100))
    leaf["connections"] = leaf["connections"] + [padded] * k
    leaf["state"]["conns_detailed"] = len(leaf["connections"])
    leaves[at[0]] = pack_leaf('{"state":%s,"connections":%s}' % (canonical(leaf["state"]),
                                                                  canonical(leaf["connections"])))
    bad = os.path.join(tmp, "forged-edge-entries.json")
    with open(bad, "w") as f:
        f.write(json.dumps(redigest(doc)))
    for args in ([], ["--connections", "all"]):
        rc, err, peak = limited_merge(smbscope, args + [bad], None if sanitized else 512)
        what = "%d entries of an edge connection of %d values each%s" % (k, per, " " + " ".join(args) if args else "")
        expect(what + ": merged", rc in (0, 1, 3), "exit %d, peak %d MiB, %r" % (rc, peak >> 10, err.strip()[:300]))
        if not sanitized:
            expect(what + ": peak RSS %d MiB under 160 MiB" % (peak >> 10), peak < 160 << 10)


def forged_run_states(smbscope, reports, samples, tmp):
    """A run's report (not merged) whose state's group rows, or whose
    connections[], are far more than a run writes, digest made again
    (forge_state.py): read a row or an entry at a time
    (analyzer/merge/mstate_cut.h, mstate_fold_run_text()), never one
    json-glib tree (main: 65,536 rows of 58 zeros peaked 360 MB, refused
    only after the whole tree was built; 262,144 SMB host records of 11
    zeros 297 MB; 65,536 groups 262 MB; 20,000 entries 655 MB).  Each merge in its own process under 512 MiB of
    address space; a sanitizer's shadow memory does not fit such a limit,
    so there the inputs are smaller and the peak is not checked."""
    from forge_state import forge
    sample = with_smb_sample(samples)
    doc = json.load(open(reports.of(sample)[0]))
    sanitized = b"__asan_init" in open(smbscope, "rb").read()
    rows, entries = (4096, 1000) if sanitized else (32768, 4000)
    over = json.loads(json.dumps(doc))
    over["merge_state"]["state"]["groups"].append([0] * 129)
    cases = (("groups-zeros", rows, [], "merge_state.state.groups[0]: not a group of group_fields' members", 64),
             ("past-zeros", rows, [], "merge_state.state.groups_past.groups[0]: not a group of group_fields' members",
              64),
             ("hosts-zeros", 4 * rows, [], "merge_state.state.smb_hosts.records[0]: not a host of fields' members",
              64),
             ("groups", rows, [], None, 64),
             ("entries", entries, [], None, 64),
             ("entries", entries, ["--connections", "all"], None, 96))
    for kind, n, args, needle, bound in cases:
        bad = os.path.join(tmp, "forged-run-%s.json" % kind)
        with open(bad, "w") as f:
            f.write(json.dumps(forge(doc, kind, n)))
        rc, err, peak = limited_merge(smbscope, args + [bad], None if sanitized else 512)
        what = "a run's report forged (%s, %d)%s" % (kind, n, " " + " ".join(args) if args else "")
        if needle:
            expect(what + ": refused at its first row", rc == 2 and needle in err, "exit %d, %r" % (rc, err.strip()[:300]))
        else:
            expect(what + ": merged", rc in (0, 1, 3), "exit %d, %r" % (rc, err.strip()[:300]))
        if not sanitized:
            expect(what + ": peak RSS %d MiB under %d MiB" % (peak >> 10, bound), peak < bound << 10)
        os.unlink(bad)
    bad = os.path.join(tmp, "forged-run-row-over.json")
    with open(bad, "w") as f:
        f.write(json.dumps(redigest(over)))
    rc, err, _ = limited_merge(smbscope, [bad], None if sanitized else 512)
    n = len(doc["merge_state"]["state"]["groups"])
    expect("a group row of 129 values: refused before it is parsed", rc == 2 and
           "merge_state.state.groups[%d]: a row of more than 128 values" % n in err, "exit %d, %r" % (rc, err.strip()[:300]))
    # an entry that is not JSON: named, as the whole parse named where it stopped
    text = json.dumps(doc)
    at = text.index('"connections": [') + len('"connections": [')
    bad = os.path.join(tmp, "forged-run-entry-not-json.json")
    with open(bad, "w") as f:
        f.write(text[:at] + '{"a": tru}, ' + text[at:])
    rc, err, _ = limited_merge(smbscope, [bad], None)
    expect("a run's report with an entry that is not JSON: refused, naming it",
           rc == 2 and "not JSON: connections[0]: " in err, "exit %d, %r" % (rc, err.strip()[:300]))
    # the same report read whole (as it was) and a piece at a time: the same merge
    groups = forge(doc, "groups", 300)
    same = os.path.join(tmp, "forged-run-groups300.json")
    with open(same, "w") as f:
        f.write(json.dumps(groups))
    pretty = os.path.join(tmp, "forged-run-groups300-pretty.json")
    with open(pretty, "w") as f:
        json.dump(groups, f, indent=2)
    rc1, out1, err1 = run([smbscope, "merge", "-T", "json", same])
    rc2, out2, err2 = run([smbscope, "merge", "-T", "json", pretty])
    merged = json.loads(out1) if rc1 != 2 else {}
    expect("300 forged groups merged, compact or indented alike", rc1 != 2 and (rc1, out1) == (rc2, out2) and
           len(merged.get("connection_groups", [])) >= 300, (err1 + err2).strip()[:300])


def extreme_times(smbscope, sample, tmp):
    """A pcapng whose packets are at the latest time the readers keep (its
    timestamps in tenths of a second at 2^64 - 7: seconds clamped to
    READER_TS_SEC_LIMIT, plus 0.9 s, past 2^61 us): what a run writes, merge
    reads back (the fuzzer found merge refusing it once times were bounded)."""
    with open(sample, "rb") as f:
        data = f.read()
    recs, off = [], 24
    while off + 16 <= len(data):
        incl = struct.unpack_from("<I", data, off + 8)[0]
        recs.append(data[off + 16:off + 16 + incl])
        off += 16 + incl

    def block(kind, body):
        body += b"\0" * (-len(body) % 4)
        return struct.pack("<II", kind, len(body) + 12) + body + struct.pack("<I", len(body) + 12)

    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += block(1, struct.pack("<HHI", 1, 0, 65535) + struct.pack("<HHB3x", 9, 1, 1) + struct.pack("<HH", 0, 0))
    ts = (1 << 64) - 7
    for r in recs:
        out += block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(r), len(r)) + r)
    cap = os.path.join(tmp, "extreme-times.pcapng")
    with open(cap, "wb") as f:
        f.write(out)
    rc, report, err = run([smbscope, "-q", "-T", "json", cap])
    path = os.path.join(tmp, "extreme-times.json")
    with open(path, "wb") as f:
        f.write(report)
    rc_m, _, err_m = run([smbscope, "merge", "-T", "json", path])
    expect("a run at the latest time the readers keep merges (%d packets)" % len(recs),
           rc in (0, 1) and rc_m != 2 and len(recs) > 2, (err + err_m).strip())


def refusals(smbscope, reports, sample, tmp):
    path = reports.of(sample)[0]
    doc = json.load(open(path))

    def refused(name, text, needle):
        bad = os.path.join(tmp, name + ".json")
        with open(bad, "w") as f:
            f.write(text)
        rc, _, err = run([smbscope, "merge", path, bad])
        expect("refuses " + name, rc == 2 and bad in err and needle in err, "exit %d, %r" % (rc, err.strip()))

    t = json.loads(json.dumps(doc))
    t["merge_state"]["state"]["run"]["packets"] += 1
    refused("tampered-state", json.dumps(t), "digest does not match")
    t = json.loads(json.dumps(doc))
    t["connections"].append({"first_seen": "2026-01-01T00:00:00Z"})
    refused("tampered-connections", json.dumps(t), "digest does not match")
    refused("foreign", json.dumps({"name": "not a report", "verdict": {"pass": True}}), "not an smbscope JSON report")
    t = json.loads(json.dumps(doc))
    t["merge_state"]["format"] = 99
    refused("other-format", json.dumps(t), "format 99")
    refused("not-json", "smbscope\n", "not JSON")
    # Top-level members without the comma between them: not JSON, though
    # both members merge reads are whole (merge's cut of them once let it pass).
    text = json.dumps(doc)
    expect("one top-level merge_state", text.count(', "merge_state": ') == 1)
    refused("no-comma", text.replace(', "merge_state": ', ' "merge_state": '), "not JSON")
    rc, plain, _ = run([smbscope, "-q", "-T", "json", "--no-merge-state", sample])
    refused("without-merge-state", plain.decode(), "--no-merge-state")
    rc, opted, _ = run([smbscope, "-q", "-T", "json", "--merge-state", sample])
    expect("--merge-state (the default) is still accepted", rc != 2 and opted == open(path, "rb").read())
    refused("deep", "[" * 100000 + "]" * 100000, "nested deeper")
    # A reformatted report (jq, an ingest pipeline) still verifies.
    pretty = os.path.join(tmp, "reformatted.json")
    with open(pretty, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=False)
    rc, _, err = run([smbscope, "merge", "-T", "json", pretty])
    expect("accepts a reformatted report", rc != 2, err.strip())
    rc, _, err = run([smbscope, "merge", "--allow-smb1", path])
    expect("refuses a report of another policy", rc == 2 and "another policy" in err, err.strip())


def repeats(smbscope, reports, samples, tmp):
    """A capture part given twice is refused, naming both reports and the
    part (README, smbscope merge): it would count twice.  Its identity
    (inputs[].part_id) is the part's, not the file's or the report's."""
    def pick(name):
        return [s for s in samples if os.path.basename(s) == name][0]
    a_cap, b_cap, c_cap = pick("smb445-list-shares.pcap"), pick("nbt139-nt1.pcap"), pick("nbss-on-445.pcap")
    a, b, c = (reports.of(x)[0] for x in (a_cap, b_cap, c_cap))
    docs = {p: json.load(open(p)) for p in (a, b, c)}
    ids = {p: [i.get("part_id") for i in d["inputs"]] for p, d in docs.items()}
    expect("each input carries its part_id (sha256:HEX), in inputs[] and in the state",
           all(len(v) == 1 and str(v[0]).startswith("sha256:") and len(v[0]) == 71 for v in ids.values()) and
           all([i.get("part_id") for i in d["merge_state"]["state"]["inputs"]] == ids[p] for p, d in docs.items()) and
           len({v[0] for v in ids.values()}) == 3, str(ids))
    pid = {p: (v[0] or "?") for p, v in ids.items()}

    def refused(name, args, names, part):
        rc, _, err = run([smbscope, "merge", "-T", "json"] + args)
        expect("refuses " + name, rc == 2 and all(n in err for n in names) and "capture part " + part in err and
               "twice" in err, "exit %d, %r" % (rc, err.strip()[:400]))

    def accepted(name, args):
        rc, _, err = run([smbscope, "merge", "-T", "json"] + args)
        expect("merges " + name, rc in (0, 1, 3), "exit %d, %r" % (rc, err.strip()[:400]))

    def save(name, data):
        path = os.path.join(tmp, name)
        with open(path, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
        return path

    def merged(name, args):
        return save(name, run([smbscope, "merge", "-T", "json"] + args)[1])

    refused("the same report twice", [a, b, a], [a], pid[a])
    renamed = save("renamed.json", open(a, "rb").read())
    refused("a report renamed, given with the original", [a, renamed], [a, renamed], pid[a])
    with open(a, "rb") as f:
        rc, _, err = run([smbscope, "merge", "-T", "json", a, "-"], stdin=f.read())
    expect("refuses a report given as a file and on standard input",
           rc == 2 and "standard input" in err and a in err and pid[a] in err, err.strip()[:400])
    ab, bc = merged("rep-ab.json", [a, b]), merged("rep-bc.json", [b, c])
    refused("(A+B)+(B+C): the part of B in both", [ab, bc], [ab, bc], pid[b])
    refused("(A+B)+B", [ab, b], [ab, b], pid[b])
    accepted("(A+B)+C", [ab, c])
    t = json.load(open(ab))
    leaves = t["merge_state"]["state"]["leaves"]
    leaves.append(leaves[0])
    twice = save("rep-leaf-twice.json", json.dumps(redigest(t)))
    rc, _, err = run([smbscope, "merge", "-T", "json", twice])
    expect("refuses a merged report holding one run twice", rc == 2 and twice in err and "twice in this report" in err,
           err.strip()[:400])
    # the identity is under the digest: changed, the report is refused as changed
    for name, change in (("another part's", lambda i: i.update(part_id=pid[c])),
                         ("a new", lambda i: i.update(part_id="sha256:" + "0" * 64)),
                         ("no", lambda i: i.pop("part_id", None))):
        t = json.loads(json.dumps(docs[a]))
        change(t["merge_state"]["state"]["inputs"][0])
        bad = save("rep-tampered.json", json.dumps(t))
        rc, _, err = run([smbscope, "merge", "-T", "json", b, bad])
        expect("refuses a report whose identity was changed (%s part_id)" % name,
               rc == 2 and bad in err and "digest does not match" in err, err.strip()[:400])
    # a report written before part_id: compared by its counts, times and filter
    olds = []
    for p in (a, a, b):
        t = json.loads(json.dumps(docs[p]))
        for i in t["inputs"] + t["merge_state"]["state"]["inputs"]:
            i.pop("part_id")
        olds.append(save("rep-old%d.json" % len(olds), json.dumps(redigest(t))))
    rc, _, err = run([smbscope, "merge", "-T", "json"] + olds)
    expect("refuses a report written before part_id given twice", rc == 2 and olds[0] in err and olds[1] in err,
           err.strip()[:400])
    accepted("reports written before part_id of two parts", [olds[0], olds[2]])
    t = json.loads(json.dumps(docs[a]))
    t["merge_state"]["state"]["inputs"][0]["part_id"] = "md5:1234"
    bad = save("rep-malformed-id.json", json.dumps(redigest(t)))
    rc, _, err = run([smbscope, "merge", "-T", "json", bad])
    expect("refuses a part_id not of the form smbscope writes (digest matching)",
           rc == 2 and "inputs[0]" in err and "part_id" in err, err.strip()[:400])
    # the part, not the file: the capture copied under another name, its
    # gzip twin, --jobs 2 over it; another cut, filter or sensor is another part
    copy = os.path.join(tmp, "another-name.pcap")
    shutil.copy(a_cap, copy)
    again = save("rep-again.json", run([smbscope, "-q", "-T", "json", copy])[1])
    refused("the same capture analysed again under another name", [a, again], [a, again], pid[a])
    ng = os.path.join(tmp, "converted.pcapng")
    subprocess.run(["editcap", "-F", "pcapng", a_cap, ng], check=True)
    conv = save("rep-pcapng.json", run([smbscope, "-q", "-T", "json", ng])[1])
    refused("a capture and its pcapng conversion", [conv, a], [conv, a], pid[a])
    gz = pick("nbt139-smb3_11.pcap")
    zipped = save("rep-gz.json", run([smbscope, "-q", "-T", "json", gz + ".gz"])[1])
    plain = reports.of(gz)[0]
    refused("a capture and its gzip twin", [plain, zipped], [plain, zipped], json.load(open(plain))["inputs"][0]["part_id"])
    split = save("rep-jobs.json", run([smbscope, "-q", "-T", "json", "--jobs", "2", a_cap])[1])
    refused("a capture analysed with --jobs 2 and without", [split, a], [split, a], pid[a])
    sensor = save("rep-sensor.json", run([smbscope, "-q", "-T", "json", sensor_copy(a_cap, copy, 7)])[1])
    accepted("another sensor's capture of the same traffic (counted twice, README)", [a, sensor])
    mixed = pick("mixed-nbns-139-445.pcap")
    f445 = save("rep-f445.json", run([smbscope, "-q", "-T", "json", "-r", mixed, "tcp port 445"])[1])
    fnot = save("rep-fnot.json", run([smbscope, "-q", "-T", "json", "-r", mixed, "not tcp port 445"])[1])
    accepted("one capture under two filters (two parts)", [f445, fnot])
    same = save("rep-f445-again.json", run([smbscope, "-q", "-T", "json", "-r", mixed, "port 445 and tcp"])[1])
    refused("one capture under two filters that keep the same packets", [f445, same], [f445, same],
            json.load(open(f445))["inputs"][0]["part_id"])
    pcap_cut.records(mixed, os.path.join(tmp, "first.pcap"), 1, 20)
    pcap_cut.records(mixed, os.path.join(tmp, "longer.pcap"), 1, 21)
    cuts = [save("rep-%s.json" % n, run([smbscope, "-q", "-T", "json", os.path.join(tmp, n + ".pcap")])[1])
            for n in ("first", "longer")]
    expect("cuts of one capture with the same first packets are two parts",
           len({json.load(open(p))["inputs"][0]["part_id"] for p in cuts}) == 2)
    empty = []
    for k in range(2):  # two captures without a packet: no identity, nothing counted twice
        empty.append(os.path.join(tmp, "empty%d.pcap" % k))
        with open(a_cap, "rb") as f, open(empty[-1], "wb") as g:
            g.write(f.read(24))
    er = [save("rep-empty%d.json" % k, run([smbscope, "-q", "-T", "json", e])[1]) for k, e in enumerate(empty)]
    expect("an input without a packet has no identity",
           all(json.load(open(p))["inputs"][0].get("part_id", "") is None for p in er))
    accepted("two empty captures", er)


def overlaps(smbscope, reports, samples, tmp):
    """Two inputs that share records (cuts of one capture that overlap) are
    refused as a part given twice is (README, smbscope merge): exit 2,
    naming both reports and inputs and how many sampled records they share
    (merge_state.state.inputs[].overlap).  Cuts next to each other, another
    sensor's copy of an overlapping cut, a report without the member (an
    older smbscope's) merge.  Cut from a sample (every record kept) and
    from a generated capture of 15,000 packets, where each part keeps a
    sample and the first and last records of each hash level, so an
    overlap of one packet at a cut and one of thousands are both caught."""
    def cut(src, name, rng, args=()):
        pcap = os.path.join(tmp, name + ".pcap")
        pcap_cut.records(src, pcap, *map(int, rng.split("-")))
        return report(name, [pcap], args)

    def report(name, caps, args=()):
        path = os.path.join(tmp, "ov-%s.json" % name)
        with open(path, "wb") as f:
            f.write(run([smbscope, "-q", "-T", "json"] + list(args) + caps)[1])
        return path

    def refused(name, args, shared=None, names=None):
        rc, _, err = run([smbscope, "merge", "-T", "json"] + args)
        names = names or [os.path.basename(a)[3:-5] + ".pcap" for a in args[:2]]
        expect("refuses " + name, rc == 2 and "capture parts overlap" in err and all(a in err for a in args) and
               all(n in err for n in names) and (shared is None or " shares %d sampled record" % shared in err),
               "exit %d, %r" % (rc, err.strip()[:500]))

    def accepted(name, args):
        rc, _, err = run([smbscope, "merge", "-T", "json"] + args)
        expect("merges " + name, rc in (0, 1, 3), "exit %d, %r" % (rc, err.strip()[:400]))

    mixed = [s for s in samples if os.path.basename(s) == "mixed-nbns-139-445.pcap"][0]  # 80 packets
    a, b, one, c = (cut(mixed, n, r) for n, r in (("s1-30", "1-30"), ("s20-60", "20-60"), ("s30-60", "30-60"),
                                                  ("s31-60", "31-60")))
    refused("two cuts of a sample that share 11 packets (editcap -r 1-30, 20-60)", [a, b], 11)
    refused("the same, in the other order", [b, a], 11)
    refused("two cuts of a sample that share one packet (1-30, 30-60)", [a, one], 1)
    accepted("two cuts of a sample next to each other (1-30, 31-60)", [a, c])
    sensor = report("s20-60-sensor", [sensor_copy(os.path.join(tmp, "s20-60.pcap"), os.path.join(tmp, "sensor.pcap"), 5)])
    accepted("a cut and another sensor's copy of a cut that overlaps it (other link headers, same times)", [a, sensor])
    ab = os.path.join(tmp, "ov-merged.json")  # carried through a merged report
    with open(ab, "wb") as f:
        f.write(run([smbscope, "merge", "-T", "json", a, reports.of(samples[0])[0]])[1])
    rc, _, err = run([smbscope, "merge", "-T", "json", b, ab])
    expect("refuses a cut overlapping one inside a merged report", rc == 2 and "capture parts overlap" in err and
           ab in err and "s1-30.pcap" in err and "s20-60.pcap" in err, "exit %d, %r" % (rc, err.strip()[:500]))
    both = report("both", [os.path.join(tmp, "s1-30.pcap"), os.path.join(tmp, "s20-60.pcap")])
    rc, _, err = run([smbscope, "merge", "-T", "json", both])
    expect("refuses a run's report whose two inputs overlap", rc == 2 and "both in this report" in err, err.strip()[:400])
    # a report without the member (an older smbscope's) is not compared
    t = json.load(open(b))
    t["merge_state"]["state"]["inputs"][0].pop("overlap", None)
    old = os.path.join(tmp, "ov-old.json")
    with open(old, "w") as f:
        f.write(json.dumps(redigest(t)))
    accepted("a report without a sketch (an older smbscope's) and a cut it overlaps", [a, old])
    # forged sketches: the reader's bounds, the member named
    for why, change in (("not in order", lambda o: o.update(hashes=base64.b64encode(
                            base64.b64decode(o["hashes"])[8:16] + base64.b64decode(o["hashes"])[:8]).decode())),
                        ("not base64", lambda o: o.update(hashes="!!!!")),
                        ("a hash cut short", lambda o: o.update(hashes=base64.b64encode(b"1234").decode())),
                        ("past the bound", lambda o: o.update(hashes=base64.b64encode(b"".join(
                            struct.pack("<Q", i) for i in range(3000))).decode())),
                        ("a level past the last", lambda o: o.update(level=99))):
        t = json.load(open(a))
        change(t["merge_state"]["state"]["inputs"][0].setdefault("overlap", {"level": 0, "hashes": ""}))
        bad = os.path.join(tmp, "ov-forged.json")
        with open(bad, "w") as f:
            f.write(json.dumps(redigest(t)))
        rc, _, err = run([smbscope, "merge", "-T", "json", bad])
        expect("refuses a forged sketch (%s)" % why, rc == 2 and "inputs[0].overlap" in err, err.strip()[:400])
    # a generated capture: 15,000 packets, each part's sample a share of it
    gen = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench", "gen_capture.py")
    big = os.path.join(tmp, "gen.pcap")
    subprocess.run([sys.executable, gen, "--samples", os.path.dirname(mixed), "--many", "1500", big], check=True,
                   stdout=subprocess.DEVNULL)
    whole = report("gen", [big])
    n = json.load(open(whole))["inputs"][0]["packets"]
    h1, h2, o1, o2, mid = (cut(big, nm, r) for nm, r in (("g1-7000", "1-7000"), ("g7001-", "7001-%d" % n),
                                                         ("g6990-", "6990-%d" % n), ("g3000-", "3000-%d" % n),
                                                         ("g2000-12000", "2000-12000")))
    st = json.load(open(h1))["merge_state"]["state"]["inputs"][0].get("overlap", {"level": 0, "hashes": ""})
    expect("a part of 7,000 records keeps a sample of them, bounded", st["level"] >= 2 and
           len(base64.b64decode(st["hashes"])) // 8 < 7000 // 4, str((st["level"], len(st["hashes"]))))
    accepted("two cuts of a generated capture next to each other", [h1, h2])
    refused("two cuts of a generated capture that share 11 packets at the cut (its last, the other's first)",
            [h1, o1], 11)
    refused("two cuts of a generated capture that share 4,001 packets", [h1, o2])
    refused("a generated capture and a cut of its middle (10,001 packets)", [whole, mid])
    jobs2 = report("gen-jobs2", [big], ["--jobs", "2"])
    expect("--jobs 2 samples a part's records as --jobs 1",
           json.load(open(jobs2))["merge_state"]["state"]["inputs"][0].get("overlap", 0) ==
           json.load(open(whole))["merge_state"]["state"]["inputs"][0].get("overlap", 1))
    refused("a cut and the capture read with --jobs 2", [jobs2, o1], names=["gen.pcap", "g6990-.pcap"])
    sensors = [report("gen-sensor%d" % k, [sensor_copy(os.path.join(tmp, f), os.path.join(tmp, "gs%d.pcap" % k), k)])
               for k, f in ((1, "g1-7000.pcap"), (2, "g3000-.pcap"))]
    accepted("another sensor's copies of two overlapping cuts, with those cuts", [h1, sensors[1]])
    accepted("two sensors' copies of one capture's cuts that overlap, each with the other's cut", sensors + [o1])
    span_cuts(smbscope, mixed, tmp, cut, refused)


def span_copy(src, dst):
    """A capture holding each packet twice at the same microsecond, as a
    SPAN port mirroring both directions of a bridged frame gives it."""
    d = open(src, "rb").read()
    out, off = [d[:24]], 24
    while off + 16 <= len(d):
        cl = struct.unpack("<I", d[off + 8:off + 12])[0]
        out += [d[off:off + 16 + cl]] * 2
        off += 16 + cl
    with open(dst, "wb") as f:
        f.write(b"".join(out))


def span_cuts(smbscope, mixed, tmp, cut, refused):
    """Review F6: cuts of a SPAN capture between a packet's two copies share
    that packet (the earlier part's last record is the later part's first):
    still refused, merged they do not equal the joint run (the later part
    reads the second copy as new data, the joint run as a retransmission: 64
    of the 80 such cuts of this capture gave another report), but the
    message says what happened and what to do (main: "cuts of one capture
    that overlap").  What it says to do works: cut between two packets, by
    time (editcap -i), or after editcap -D, the parts merge to the joint
    run; a real overlap (times shared) keeps the plain message."""
    span = os.path.join(tmp, "span.pcap")
    span_copy(mixed, span)
    p1, p2 = cut(span, "span1-41", "1-41"), cut(span, "span42-", "42-1000")
    refused("two cuts of a SPAN capture between a packet's two copies (1-41, 42-160)", [p1, p2], 1)
    rc, _, err = run([smbscope, "merge", "-T", "json", p1, p2])
    expect("the refusal of a cut between a packet's two copies says how to cut such a capture",
           rc == 2 and "the one microsecond where one part ends and the other starts" in err and "SPAN" in err and
           "editcap -D" in err and "editcap -i" in err, err.strip()[:700])
    a, b = cut(mixed, "s1-30", "1-30"), cut(mixed, "s20-60", "20-60")
    rc, _, err = run([smbscope, "merge", "-T", "json", a, b])
    expect("a real overlap (the parts share times) keeps the plain message", rc == 2 and "editcap -D" not in err and
           "cuts of one capture that overlap" in err, err.strip()[:500])
    d = os.path.join(tmp, "span-between-packets")
    os.mkdir(d)
    parts = [os.path.join(d, "part-1.pcap"), os.path.join(d, "part-2.pcap")]
    for part, rng in zip(parts, ("1-42", "43-1000")):  # after the second copy of the 21st packet
        pcap_cut.records(span, part, *map(int, rng.split("-")))
    compare("a SPAN capture cut between two packets: merge equals the joint run", smbscope, Reports(smbscope, d),
            parts)
    d = os.path.join(tmp, "span-by-time")
    os.mkdir(d)
    subprocess.run(["editcap", "-i", "0.01", span, os.path.join(d, "part.pcap")], check=True, stdout=subprocess.DEVNULL)
    parts = sorted(glob.glob(os.path.join(d, "part_*.pcap")))
    compare("a SPAN capture cut by time (editcap -i 0.01, %d parts): merge equals the joint run" % len(parts),
            smbscope, Reports(smbscope, d), parts)
    d = os.path.join(tmp, "span-dedup")
    os.mkdir(d)
    dedup = os.path.join(tmp, "span-D.pcap")
    subprocess.run(["editcap", "-D", "5", span, dedup], check=True, capture_output=True)
    parts = [os.path.join(d, "part-1.pcap"), os.path.join(d, "part-2.pcap")]
    for part, rng in zip(parts, ("1-41", "42-1000")):  # the same cut, on the copy without duplicates
        pcap_cut.records(dedup, part, *map(int, rng.split("-")))
    compare("a SPAN capture without its duplicates (editcap -D) cut at the same place: merge equals the joint run",
            smbscope, Reports(smbscope, d), parts)


def sampled_records(doc):
    """The records a report's inputs sampled (merge_state.state.inputs[].overlap,
    part_sketch.h): two captures that hold one packet both sample it."""
    out = set()
    for i in doc.get("merge_state", {}).get("state", {}).get("inputs", []):
        h = base64.b64decode(i.get("overlap", {}).get("hashes", ""))
        out |= {h[k:k + 8] for k in range(0, len(h), 8)}
    return out


def corpus(a):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from absent import absent
    catalog = os.path.join(a.corpus, "CATALOG.tsv")
    if not os.path.exists(catalog):
        return absent("corpus not found at %s" % a.corpus)
    with open(catalog) as f:
        rows = [line.split("\t")[0] for line in f.read().splitlines()[1:] if line.strip()]
    caps = sorted(os.path.join(a.corpus, r) for r in rows)
    with tempfile.TemporaryDirectory() as tmp:
        reports = Reports(a.smbscope, tmp)
        readable = [c for c in caps if reports.of(c)[2] != 2]  # merging needs a readable capture
        # Some public captures hold the same connection as another (variants
        # of one trace), or the same packet (a fuzzed copy of a trace keeps
        # some of its records): the same traffic twice is not two captures
        # to merge (README: it counts twice; merge refuses parts that share
        # records), so such a capture is left out.
        seen, seen_records, distinct = set(), set(), []
        for c in readable:
            doc = json.load(open(reports.of(c)[0]))
            tcp = doc.get("connections", []) + [f for f in doc.get("netbios", {}).get("flows", []) if f["proto"] == "tcp"]
            conns = {tuple(sorted([(x["client"], x["client_port"]), (x["server"], x["server_port"])])) for x in tcp}
            records = sampled_records(doc)
            if conns & seen or records & seen_records:
                print("(left out: %s repeats a connection or a packet of another capture)" % os.path.basename(c))
                continue
            seen |= conns
            seen_records |= records
            distinct.append(c)
        readable = distinct
        expect("corpus captures readable", len(readable) >= 10, str(len(readable)))
        pairs = [(x, y) for i, x in enumerate(readable) for y in readable[i + 1:]] if a.all_pairs else \
            [(readable[i], readable[(i + 1) % len(readable)]) for i in range(len(readable))]
        for x, y in pairs:
            compare("corpus %s + %s" % (os.path.basename(x), os.path.basename(y)), a.smbscope, reports, [x, y])
        compare("merge of every readable corpus capture", a.smbscope, reports, readable)
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


def with_smb_sample(samples):
    return ([s for s in samples if os.path.basename(s) == "smb445-list-shares.pcap"] or samples)[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples")
    ap.add_argument("--corpus")
    ap.add_argument("--all-pairs", action="store_true")
    a = ap.parse_args()
    if a.corpus:
        return corpus(a)
    # X.pcap.gz is X.pcap compressed: the same traffic seen twice is not two
    # captures of one network to merge (the joint run would see one
    # connection retransmitted), so only the uncompressed one is used.
    # A sample with a NAME.origin file is cut from another sample (the same
    # connection again, e.g. mid-stream iWARP): left out, as in the corpus.
    samples = sorted(c for c in glob.glob(os.path.join(a.samples, "*.pcap")) if not os.path.exists(os.path.splitext(c)[0] + ".origin"))
    expect("samples found", len(samples) >= 10, str(len(samples)))
    with tempfile.TemporaryDirectory() as tmp:
        reports = Reports(a.smbscope, tmp)
        if a.all_pairs:
            pairs = [(x, y) for i, x in enumerate(samples) for y in samples[i + 1:]]
        elif FULL:
            pairs = [(samples[i], samples[(i + 1) % len(samples)]) for i in range(len(samples))]
        else:  # each sample in one pair (SMBSCOPE_FULL=1: with the next one and the one before)
            pairs = [(samples[i], samples[(i + 1) % len(samples)]) for i in range(0, len(samples), 2)]
        print("pairs: %d (SMBSCOPE_FULL=1: %d; --all-pairs: every pair)" % (len(pairs), len(samples)))
        for x, y in pairs:
            n = "merge %s + %s" % (os.path.basename(x), os.path.basename(y))
            m1 = compare(n, a.smbscope, reports, [x, y])
            _, m2, _ = run([a.smbscope, "merge", "-T", "json", reports.of(y)[0], reports.of(x)[0]])
            if m1 is not None:
                expect(n + " (either order)", m1 == m2, "the outputs differ")
        compare("merge of every sample", a.smbscope, reports, samples)
        half = len(samples) // 2
        parts = []
        for k, group in enumerate((samples[:half], samples[half:])):
            part = os.path.join(tmp, "part%d.json" % k)
            rc, data, err = run([a.smbscope, "merge", "-T", "json"] + [reports.of(c)[0] for c in group])
            with open(part, "wb") as f:
                f.write(data)
            parts.append(part)
        compare("merge of two merged halves (associative)", a.smbscope, reports, samples, parts)
        splits(a.smbscope, a.samples, tmp)
        jobs(a.smbscope, reports, samples)
        with open(reports.of(samples[0])[0], "rb") as f:
            rc, out, err = run([a.smbscope, "merge", "-T", "json", "-"], stdin=f.read())
        rc1, out1, _ = run([a.smbscope, "merge", "-T", "json", reports.of(samples[0])[0]])
        expect("a report from standard input", rc == rc1 and out == out1, err.strip())
        refusals(a.smbscope, reports, samples[0], tmp)
        repeats(a.smbscope, reports, samples, tmp)
        overlaps(a.smbscope, reports, samples, tmp)
        extreme_times(a.smbscope, with_smb_sample(samples), tmp)
        with_smb = [s for s in samples if os.path.basename(s) == "smb445-list-shares.pcap"] or samples
        malformed(a.smbscope, reports, with_smb[0], tmp)
        forged_leaves(a.smbscope, reports, samples, tmp)
        forged_merged_connections(a.smbscope, reports, samples, tmp)
        forged_edge_entries(a.smbscope, reports, samples, tmp)
        forged_run_states(a.smbscope, reports, samples, tmp)
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
