#!/usr/bin/python3
"""plugin_test.py - end-to-end checks of the Wireshark plugin smbscope.so.

Usage:
    plugin_test.py CHECK --plugin SO --source-root DIR [--tshark BIN]
                   [--samples DIR] [--smbscope BIN [--smbscope-arg ARG]...]

CHECK is one of:
  listed    tshark -G plugins lists smbscope.so (a plugin with a missing
            symbol is skipped by tshark with one stderr line and exit 0)
  fields    tshark -G fields lists every smbscope.* field
  samples   per connection / NetBIOS flow of every samples/*.pcap: transport,
            dialect, NetBIOS service and state equal samples/MANIFEST.tsv
            (tshark's own facts), on two passes (-2: every packet of the
            flow agrees) and on one pass (the flow's last packet agrees);
            with --smbscope, also equal the command's JSON report
  expert    expert items per capture: one "NetBIOS traffic" per NetBIOS
            flow, one "refused" per refused flow, SMB1, NBSS off port 139,
            alternative port
  stats     tshark -z smbscope,tree counts connections and NetBIOS flows
            exactly as the manifest does (one pass and two passes)
  altport   SMB on a port other than 139/445 is decoded as SMB without any
            -d option, frame for frame as plain tshark does with -d
  valgrind  tshark with the plugin over every sample under valgrind: no
            error (opt-in: SMBSCOPE_VALGRIND=1)
  corpus    samples + expert + stats over the public captures of
            ../shared/corpus that hold SMB or NetBIOS, facts by
            tests/e2e/tshark_facts.py (skips when either is absent)

Expected values never come from the plugin: they come from MANIFEST.tsv,
which tshark_facts.py builds from tshark's own dissection, or from plain
tshark runs.  tshark ignores uninstalled plugins when run as root, so as
root tshark runs as "nobody" (setpriv) with its own HOME and
WIRESHARK_PLUGIN_DIR in a temporary directory.

Exit status: 0 pass, 1 fail, 77 skip (no tshark, no plugin build, no samples).
"""

import argparse
import collections
import csv
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
FIELDS = [
    "smbscope.netbios", "smbscope.netbios.service", "smbscope.netbios.state",
    "smbscope.transport", "smbscope.alt_port", "smbscope.dialect",
    "smbscope.dialects_offered", "smbscope.smb_version", "smbscope.signing",
    "smbscope.encryption", "smbscope.auth", "smbscope.violation",
    "smbscope.client", "smbscope.client_port", "smbscope.server", "smbscope.server_port",
]
FLOW_FIELDS = ["frame.number", "smbscope.client", "smbscope.client_port", "smbscope.server",
               "smbscope.server_port", "smbscope.transport", "smbscope.dialect",
               "smbscope.netbios.service", "smbscope.netbios.state"]
NO_DIALECT = "(no negotiate seen)"


class Failure(Exception):
    pass


class Tshark:
    """Runs tshark with the build-tree plugin, unprivileged when we are root."""

    def __init__(self, tshark, plugin):
        self.tshark = tshark
        self.tmp = tempfile.mkdtemp(prefix="smbscope-plugin-test-")
        os.chmod(self.tmp, 0o755)
        version = self._version()
        plugdir = os.path.join(self.tmp, "plugins")
        epan = os.path.join(plugdir, version, "epan")
        os.makedirs(epan)
        shutil.copy(plugin, os.path.join(epan, "smbscope.so"))
        self.home = os.path.join(self.tmp, "home")
        os.makedirs(self.home)
        for root, dirs, files in os.walk(self.tmp):
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o755)
            for f in files:
                os.chmod(os.path.join(root, f), 0o644)
        self.prefix = []
        if os.geteuid() == 0:
            if not shutil.which("setpriv"):
                raise Failure("running as root and setpriv is missing")
            subprocess.run(["chown", "-R", "nobody", self.home], check=True)
            self.prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        self.env = dict(os.environ, HOME=self.home, WIRESHARK_PLUGIN_DIR=plugdir, LC_ALL="C")
        self.env.pop("WIRESHARK_CONFIG_DIR", None)

    def _version(self):
        out = subprocess.run([self.tshark, "--version"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL).stdout.decode("utf-8", "replace")
        m = re.search(r"\b(\d+)\.(\d+)\.\d+", out)
        if not m:
            raise Failure("cannot read tshark's version")
        return "%s.%s" % (m.group(1), m.group(2))

    def capture(self, path):
        """A copy the unprivileged tshark can read."""
        dst = os.path.join(self.tmp, os.path.basename(path))
        if not os.path.exists(dst):
            shutil.copy(path, dst)
            os.chmod(dst, 0o644)
        return dst

    def run(self, args, plugin=True, wrapper=(), check=True):
        cmd = list(wrapper) + [self.tshark] + list(args)
        if plugin:
            cmd = self.prefix + cmd
            env = self.env
        else:
            env = dict(os.environ, LC_ALL="C")
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=self.tmp)
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        if check and p.returncode != 0:
            raise Failure("%s exited %d: %s" % (" ".join(cmd), p.returncode, err.strip()[-500:]))
        return out, err, p.returncode

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def read_manifest(samples):
    path = os.path.join(samples, "MANIFEST.tsv")
    if not os.path.exists(path):
        return None
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def dash(v):
    return None if v in (None, "", "-") else v


def manifest_flows(rows, one_pass=False):
    """key -> (transport, dialect, service, state), as tshark_facts.py saw them.

    one_pass: a query answered from another address (a broadcast query) is
    answered on another flow's packet, after the query's last one: in a
    single pass its own packets can only say no-answer (plugin/README.md)."""
    flows = collections.defaultdict(list)
    for r in rows:
        key = (r["kind"], r["client"], int(r["client_port"]), r["server"], int(r["server_port"]))
        state = dash(r["netbios_state"])
        if one_pass and r["kind"] == "udp" and "answered by" in r.get("note", ""):
            state = "no-answer"
        flows[key].append((dash(r["transport"]), dash(r["dialect"]), dash(r["netbios_service"]), state))
    return flows


def plugin_flows(ts, capture, two_pass, uncovered=None):
    """key -> set of value tuples over the flow's packets (two_pass) or the
    tuple of its last packet (one pass).  With `uncovered` (a dict), also
    {tcp.stream: frames without smbscope.transport} for the streams where
    some packet has it: on two passes every packet of an SMB connection
    must carry it."""
    extra = ["tcp.stream", "icmp.type", "icmpv6.type"]
    args = ["-n", "-r", capture, "-T", "fields", "-E", "separator=/t",
            "-E", "occurrence=f"]
    if two_pass:
        args.insert(0, "-2")
    for f in FLOW_FIELDS + extra:
        args += ["-e", f]
    out, _, _ = ts.run(args)
    seen = collections.defaultdict(set)
    last = {}
    streams = collections.defaultdict(lambda: ([], []))
    for line in out.splitlines():
        v = line.split("\t")
        v += [""] * (len(FLOW_FIELDS) + len(extra) - len(v))
        frame, client, cport, server, sport, transport, dialect, service, state, stream, icmp, icmp6 = v
        if stream and not icmp and not icmp6:
            streams[stream][1 if transport else 0].append(frame)
        if not client:
            continue
        # TCP (also an ICMP error quoting a TCP header) has a tcp.stream.
        kind = "tcp" if (transport or stream) else "udp"
        key = (kind, client, int(cport), server or "-", int(sport))
        vals = (dash(transport), dash(dialect), dash(service), dash(state))
        seen[key].add(vals)
        last[key] = vals
    if uncovered is not None:
        uncovered.update({st: without for st, (without, with_) in streams.items() if with_ and without})
    if two_pass:
        return seen
    return {k: {v} for k, v in last.items()}


def compare_flows(name, expected, got, what, errors):
    for key in sorted(set(expected) | set(got)):
        exp = expected.get(key)
        have = got.get(key)
        if exp is None:
            errors.append("%s: %s %s: plugin reports %s, %s has no such flow" % (name, what, key, sorted(have), "manifest"))
        elif have is None:
            errors.append("%s: %s %s: expected %s, plugin shows nothing" % (name, what, key, exp))
        elif len(have) != 1:
            errors.append("%s: %s %s: packets disagree: %s" % (name, what, key, sorted(have, key=str)))
        elif set(exp) != have:
            errors.append("%s: %s %s: expected %s, plugin %s" % (name, what, key, exp, sorted(have, key=str)))


def command_flows(cmd, capture):
    """The command's JSON report as the same key -> values map."""
    p = subprocess.run(cmd + [capture], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # 1: policy violated, still a report; 2: an input error, with the report
    # of what was read (a truncated file) or of nothing (a format libpcap
    # cannot read, e.g. Solaris snoop, which tshark's wiretap reads).
    if p.returncode not in (0, 1, 2):
        raise Failure("%s exited %d: %s" % (" ".join(cmd), p.returncode, p.stderr.decode()[-300:]))
    doc = json.loads(p.stdout.decode("utf-8"))
    if p.returncode == 2 and all(i.get("error") and not i.get("packets") for i in doc["inputs"]):
        return None
    flows = collections.defaultdict(set)
    nb = {}
    for f in (doc.get("netbios") or {}).get("flows", []):
        key = (f.get("proto", "udp"), f["client"], int(f["client_port"]), f["server"], int(f["server_port"]))
        nb[key] = (dash(f.get("service")), dash(f.get("state")))
    for c in doc.get("connections", []):
        if c.get("transport") in NOT_IN_PLUGIN:
            continue
        key = ("tcp", c["client"], int(c["client_port"]), c["server"], int(c["server_port"]))
        svc, state = nb.pop(key, (None, None))
        flows[key].add((dash(c.get("transport")), dash(c.get("dialect")), svc, state))
    for key, (svc, state) in nb.items():
        flows[key].add((None, None, svc, state))
    return flows


# Transports the command reports and the plugin does not yet: their rows are
# left out of every plugin comparison, and said so (an open item, not a pass).
NOT_IN_PLUGIN = ("rdma-iwarp", "rdma-roce")


def samples_or_skip(args):
    samples = args.samples or os.path.join(args.source_root, "samples")
    rows = read_manifest(samples)
    if rows is not None:
        skipped = [r for r in rows if r["transport"] in NOT_IN_PLUGIN]
        rows = [r for r in rows if r["transport"] not in NOT_IN_PLUGIN]
        if skipped:
            print("note: %d SMB Direct flows (%s) not compared: the plugin does not report SMB Direct yet" %
                  (len(skipped), ", ".join(NOT_IN_PLUGIN)))
    caps = sorted(glob.glob(os.path.join(samples, "*.pcap")))
    if rows is None or not caps:
        print("SKIP: no samples/*.pcap with MANIFEST.tsv under %s" % samples)
        sys.exit(SKIP)
    by_file = collections.defaultdict(list)
    for r in rows:
        by_file[r["file"]].append(r)
    return caps, by_file


# ---- checks ----------------------------------------------------------------

def check_listed(ts, args):
    out, err, _ = ts.run(["-G", "plugins"])
    lines = [l for l in out.splitlines() if l.split("\t")[0].strip() == "smbscope.so"]
    if not lines:
        raise Failure("smbscope.so not in tshark -G plugins; stderr: %s" % err.strip()[-400:])
    print("listed: " + " ".join(lines[0].split()))


def check_fields(ts, args):
    out, _, _ = ts.run(["-G", "fields"])
    have = {l.split("\t")[2] for l in out.splitlines() if l.startswith("F\t") and "\tsmbscope" in l}
    missing = [f for f in FIELDS if f not in have]
    if missing:
        raise Failure("fields missing from tshark -G fields: " + ", ".join(missing))
    protos = [l for l in out.splitlines() if l.startswith("P\t") and l.endswith("\tsmbscope")]
    if not protos:
        raise Failure("protocol smbscope not registered")
    print("fields: %d smbscope fields, all %d expected present" % (len(have), len(FIELDS)))


def check_samples(ts, args):
    caps, by_file = samples_or_skip(args)
    compare_samples(ts, args, caps, by_file)


def compare_samples(ts, args, caps, by_file):
    cmd = [args.smbscope] + (args.smbscope_arg or ["--format", "json"]) if args.smbscope else None
    errors = []
    checked = 0
    for cap in caps:
        name = os.path.basename(cap)
        expected = manifest_flows(by_file.get(name, []))
        local = ts.capture(cap)
        uncovered = {}
        for two_pass in (True, False):
            got = plugin_flows(ts, local, two_pass, uncovered if two_pass else None)
            want = expected if two_pass else manifest_flows(by_file.get(name, []), one_pass=True)
            compare_flows(name, want, got, "2-pass" if two_pass else "1-pass", errors)
            if cmd and two_pass:
                command = command_flows(cmd, cap)
                if command is None:
                    print("note: %s: the command cannot read this file; not compared" % name)
                else:
                    compare_flows(name, command, got, "vs smbscope", errors)
        for stream, frames in sorted(uncovered.items()):
            errors.append("%s: tcp.stream %s: frames %s lack smbscope.transport on two passes" %
                          (name, stream, ",".join(frames[:10])))
        checked += len(expected)
    for e in errors:
        print("FAIL " + e)
    if errors:
        raise Failure("%d mismatches" % len(errors))
    print("samples: %d flows in %d captures agree with MANIFEST.tsv%s" %
          (checked, len(caps), " and the command" if cmd else ""))


EXPERT = {
    "netbios": re.compile(r"^NetBIOS traffic \("),
    "refused": re.compile(r"^NetBIOS attempt refused"),
    "smb1": re.compile(r"^SMB1 negotiated"),
    "offport": re.compile(r"^NBSS session setup on TCP port \d+ \(not 139\)"),
    "altport": re.compile(r"^SMB on alternative TCP port \d+"),
}


def expert_counts(ts, capture):
    out, _, _ = ts.run(["-n", "-r", capture, "-T", "fields", "-e", "_ws.expert.message",
                        "-E", "occurrence=a", "-E", "aggregator=\x1f"])
    counts = collections.Counter()
    for line in out.splitlines():
        for msg in line.split("\x1f"):
            for k, rx in EXPERT.items():
                if rx.search(msg):
                    counts[k] += 1
    return counts


def check_expert(ts, args):
    caps, by_file = samples_or_skip(args)
    compare_expert(ts, caps, by_file)


def compare_expert(ts, caps, by_file):
    errors = []
    for cap in caps:
        name = os.path.basename(cap)
        rows = by_file.get(name, [])
        tcp = [r for r in rows if r["kind"] == "tcp"]
        alt = [r for r in tcp if int(r["server_port"]) not in (139, 445)
               and (dash(r["dialect"]) or dash(r["smb_version"]))]
        exact = {
            "netbios": sum(1 for r in rows if dash(r["netbios_service"])),
            "refused": sum(1 for r in rows if r["netbios_state"] == "refused"),
            "smb1": sum(1 for r in tcp if r["smb_version"] == "1" and dash(r["dialect"])),
            "altport": len(alt),
        }
        offport = any(r["transport"] == "nbt-nonstandard-port" for r in tcp)
        got = expert_counts(ts, ts.capture(cap))
        for k, n in exact.items():
            if got[k] != n:
                errors.append("%s: %d \"%s\" expert items, expected %d" % (name, got[k], k, n))
        if bool(got["offport"]) != offport:
            errors.append("%s: NBSS-off-139 expert %s, expected %s" % (name, bool(got["offport"]), offport))
    for e in errors:
        print("FAIL " + e)
    if errors:
        raise Failure("%d mismatches" % len(errors))
    print("expert: %d captures, counts as expected" % len(caps))


def parse_stats(text):
    """{path: count} of the smbscope stats tree, zero rows left out."""
    counts = {}
    stack = []
    for line in text.splitlines():
        m = re.match(r"^( *)(\S.*?)\s{2,}(\d+)\s", line)
        if not m or m.group(2).startswith("Topic"):
            continue
        depth = len(m.group(1))
        stack = stack[:depth] + [m.group(2)]
        if int(m.group(3)):
            counts["/".join(stack)] = int(m.group(3))
    return counts


def expected_stats(rows):
    t = "SMB connections by transport"
    d = "SMB connections by dialect"
    n = "NetBIOS flows by service and state"
    c = collections.Counter()
    for r in rows:
        if r["kind"] == "tcp" and dash(r["transport"]):
            c[t] += 1
            c[t + "/" + r["transport"]] += 1
            c[d] += 1
            c[d + "/" + (dash(r["dialect"]) or NO_DIALECT)] += 1
        if dash(r["netbios_service"]):
            c[n] += 1
            c[n + "/" + r["netbios_service"]] += 1
            c[n + "/" + r["netbios_service"] + "/" + r["netbios_state"]] += 1
    return dict(c)


def check_stats(ts, args):
    caps, by_file = samples_or_skip(args)
    compare_stats(ts, caps, by_file)


def compare_stats(ts, caps, by_file):
    errors = []
    for cap in caps:
        name = os.path.basename(cap)
        exp = expected_stats(by_file.get(name, []))
        for two_pass in (False, True):
            a = ["-q", "-n", "-r", ts.capture(cap), "-z", "smbscope,tree"]
            out, _, _ = ts.run((["-2"] if two_pass else []) + a)
            got = parse_stats(out)
            if got != exp:
                errors.append("%s (%s): stats %s, expected %s" % (name, "2-pass" if two_pass else "1-pass", got, exp))
    for e in errors:
        print("FAIL " + e)
    if errors:
        raise Failure("%d mismatches" % len(errors))
    print("stats: %d captures, counts as expected" % len(caps))


# Public captures whose manifest rows cannot be compared, and why.
CORPUS_KNOWN = {}
CATALOG_COUNTS = ("tcp_445_packets", "tcp_139_packets", "udp_137_packets", "udp_138_packets", "nbss_packets")


def check_corpus(ts, args):
    """The samples, expert and stats comparisons over the public captures
    (../shared/corpus, read in place and never copied into the repository),
    with facts computed by tests/e2e/tshark_facts.py from plain tshark."""
    corpus = args.corpus or os.path.join(args.source_root, "..", "shared", "corpus")
    catalog = os.path.join(corpus, "CATALOG.tsv")
    facts = os.path.join(args.source_root, "tests", "e2e", "tshark_facts.py")
    if not os.path.exists(catalog) or not os.path.exists(facts):
        print("SKIP: needs %s and %s" % (catalog, facts))
        sys.exit(SKIP)
    with open(catalog, newline="") as f:
        entries = [r for r in csv.DictReader(f, delimiter="\t")
                   if any(int(r.get(k) or 0) for k in CATALOG_COUNTS)]
    caps = []
    for r in entries:
        name = r["relpath"].replace("/", "__")
        if name in CORPUS_KNOWN:
            print("skipping %s: %s" % (name, CORPUS_KNOWN[name]))
            continue
        dst = os.path.join(ts.tmp, name)
        shutil.copy(os.path.join(corpus, r["relpath"]), dst)
        os.chmod(dst, 0o644)
        caps.append(dst)
    if not caps:
        print("SKIP: no SMB or NetBIOS capture in the corpus")
        sys.exit(SKIP)
    p = subprocess.run(["/usr/bin/python3", facts, "--tshark", args.tshark] + caps,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise Failure("tshark_facts.py failed: %s" % p.stderr.decode()[-400:])
    by_file = collections.defaultdict(list)
    for r in csv.DictReader(p.stdout.decode("utf-8", "replace").splitlines(), delimiter="\t"):
        by_file[r["file"]].append(r)
    compare_samples(ts, args, caps, by_file)
    compare_expert(ts, caps, by_file)
    compare_stats(ts, caps, by_file)


def smb_frames(ts, capture, plugin, decode_as=None):
    a = ["-n", "-r", capture, "-Y", "smb || smb2", "-T", "fields", "-e", "frame.number"]
    if decode_as:
        a += ["-d", decode_as]
    out, _, _ = ts.run(a, plugin=plugin)
    return out.split()


def check_altport(ts, args):
    caps, by_file = samples_or_skip(args)
    tested = 0
    errors = []
    for cap in caps:
        name = os.path.basename(cap)
        ports = {int(r["server_port"]) for r in by_file.get(name, [])
                 if r["kind"] == "tcp" and int(r["server_port"]) not in (139, 445) and dash(r["transport"])}
        for port in sorted(ports):
            local = ts.capture(cap)
            ours = smb_frames(ts, local, True)
            ref = smb_frames(ts, local, False, "tcp.port==%d,nbss" % port)
            bare = smb_frames(ts, local, False)
            tested += 1
            if not ref:
                errors.append("%s: plain tshark -d decodes no SMB on %d" % (name, port))
            if ours != ref:
                errors.append("%s: port %d: plugin decodes SMB in %d frames, tshark -d in %d" %
                              (name, port, len(ours), len(ref)))
            if bare == ref:
                errors.append("%s: port %d: tshark decodes SMB without help: test proves nothing" % (name, port))
            print("%s: port %d: %d SMB frames with the plugin, %d with -d, %d without either" %
                  (name, port, len(ours), len(ref), len(bare)))
    if not tested:
        print("SKIP: no sample with SMB on an alternative port")
        sys.exit(SKIP)
    for e in errors:
        print("FAIL " + e)
    if errors:
        raise Failure("%d mismatches" % len(errors))


def valgrind_blocks(text):
    """valgrind's report split into its error blocks (blank-prefix lines)."""
    blocks, cur = [], []
    for line in text.splitlines():
        body = re.sub(r"^==\d+== ?", "", line)
        if body.strip():
            cur.append(body)
        elif cur:
            blocks.append("\n".join(cur))
            cur = []
    if cur:
        blocks.append("\n".join(cur))
    return blocks


def check_valgrind(ts, args):
    if os.environ.get("SMBSCOPE_VALGRIND") != "1":
        print("SKIP: slow; run with SMBSCOPE_VALGRIND=1")
        sys.exit(SKIP)
    caps, _ = samples_or_skip(args)
    vg = shutil.which("valgrind")
    if not vg:
        print("SKIP: valgrind not installed")
        sys.exit(SKIP)
    os.chmod(ts.tmp, 0o777)  # the log is written by the unprivileged user
    errors = []
    for cap in caps:
        name = os.path.basename(cap)
        log = os.path.join(ts.tmp, "vg-%s.log" % name)
        wrapper = [vg, "--error-exitcode=99", "--num-callers=40", "--log-file=" + log]
        a = ["-2", "-n", "-r", ts.capture(cap), "-z", "smbscope,tree", "-T", "fields"]
        for f in FIELDS:
            a += ["-e", f]
        _, _, rc = ts.run(a, wrapper=wrapper, check=False)
        text = open(log, errors="replace").read() if os.path.exists(log) else ""
        m = re.search(r"ERROR SUMMARY: (\d+) errors", text)
        ours = [b for b in valgrind_blocks(text)
                if "smbscope.so" in b and re.search(r"Invalid|uninitialised|Mismatched|overlap", b)]
        print("%s: valgrind exit %d, %s errors, %d through smbscope.so" %
              (name, rc, m.group(1) if m else "?", len(ours)))
        if not m:
            errors.append("%s: no valgrind summary (exit %d): %s" % (name, rc, text[-500:]))
        elif m.group(1) != "0":
            errors.append("%s: %s" % (name, ours[0] if ours else "errors outside the plugin:\n" + text[-1500:]))
    for e in errors:
        print("FAIL " + e)
    if errors:
        raise Failure("%d captures with valgrind errors" % len(errors))


CHECKS = {
    "listed": check_listed, "fields": check_fields, "samples": check_samples,
    "expert": check_expert, "stats": check_stats, "altport": check_altport,
    "valgrind": check_valgrind, "corpus": check_corpus,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("check", choices=sorted(CHECKS))
    ap.add_argument("--plugin", default="", help="the built smbscope.so")
    ap.add_argument("--source-root", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    ap.add_argument("--samples", default=None, help="default: SOURCE_ROOT/samples")
    ap.add_argument("--corpus", default=None, help="default: SOURCE_ROOT/../shared/corpus")
    ap.add_argument("--tshark", default=os.environ.get("TSHARK", "tshark"))
    ap.add_argument("--smbscope", default=None, help="the smbscope command, to compare its JSON report")
    ap.add_argument("--smbscope-arg", action="append", default=None,
                    help="argument placed before the capture (default: --format json); repeatable")
    args = ap.parse_args()
    if not shutil.which(args.tshark):
        print("SKIP: tshark not found")
        return SKIP
    if not args.plugin or not os.path.exists(args.plugin):
        print("SKIP: plugin not built")
        return SKIP
    ts = None
    try:
        ts = Tshark(args.tshark, args.plugin)
        CHECKS[args.check](ts, args)
    except Failure as e:
        print("FAIL: %s" % e)
        return 1
    finally:
        if ts:
            ts.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
