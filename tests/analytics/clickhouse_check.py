#!/usr/bin/python3
"""clickhouse_check.py - the analytics path of README "From one machine to a
cluster", on a real ClickHouse server.

Starts a private clickhouse-server on 127.0.0.1 (clickhouse_server.py),
creates analytics/clickhouse/schema.sql, loads the ndjson events of every
sample (and of one generated capture: a NetBIOS datagram nobody answers)
with analytics/clickhouse/load.sh (the samples split between two
sensors, some loaded a second time by a third sensor that saw the same
flows), runs per-host.sql and per-rule.sql, and checks their answers equal
smbscope's own JSON report of the samples analysed together (hosts[] and
verdict.violations[]), and the `smbscope merge` of the per-sample reports
(always: a merge that fails or is missing fails the test).  Under two policies: the default one and a strict
one (signing, encryption, Kerberos, SMB 3.0 at least), and with the QUIC
samples' key logs, so that SMB over QUIC is in.  Also: every scalar ndjson
key is a column; load.sh's errors and odd names; load.sh -n on ndjson files;
and analytics/clickhouse/cluster.sql on two nodes (one sensor each, a third
through the Distributed table) answering the same from either node.  Every
server listens on 127.0.0.1 only (checked in /proc).

Exit 77 (skipped) when clickhouse-server or clickhouse-client is not
installed, unless CI=true: then that is a failure.

With --corpus DIR: the same for the public captures of DIR/CATALOG.tsv
(default policy, one server): all of them against the joint report, then
those that repeat no other's connection against the joint report and
`smbscope merge`; 77 when the corpus is absent, a failure under
CI=true.

Usage: clickhouse_check.py --smbscope BIN --samples DIR --analytics DIR [--corpus DIR]
"""

import argparse
import base64
import collections
import csv
import glob
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

from clickhouse_server import PortTaken, Server, cluster_config, free_ports, listening_addresses

failures = []

POLICIES = {
    "default": [],
    "strict": ["--require-signing", "--require-encryption", "--require-kerberos", "--min-dialect", "3.0"],
}


def expect(name, cond, detail=""):
    print("%-4s %s%s" % ("ok" if cond else "FAIL", name, "" if cond else ": " + str(detail)[:1500]))
    if not cond:
        failures.append(name)


def smbscope_json(b, args):
    """smbscope's JSON report of args; None when it is not one."""
    p = subprocess.run([b, "-q", "--format", "json"] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=120)
    try:
        return json.loads(p.stdout) if p.returncode in (0, 1, 3) else None
    except ValueError:
        return None


def reference(report):
    """The per-host and per-rule answers of one smbscope JSON report:
    {host: (rules violated, violations, SMB connections as client, as
    server)} for hosts with a violation or an SMB connection, {rule:
    (violating flows, hosts)}, and whether hosts[] hit its cap.  The one place the
    expected answer comes from."""
    hosts, rule_hosts = {}, collections.Counter()
    for h in report["hosts"]:
        # fix[] is detailed for the first hosts only; fix_rules[] and the
        # catalog's "violation" tell for every listed host
        catalog = report["fix_catalog"]["rules"]
        rules = sorted(r for r in h["fix_rules"] if catalog[r]["violation"])
        rule_hosts.update(rules)
        row = (rules, h["violations"], h["smb_connections_as_client"], h["smb_connections_as_server"])
        if h["violations"] or h["smb_connections_as_client"] or h["smb_connections_as_server"]:
            hosts[h["address"]] = row
    # a violation entry stands for its flows (one, or a connection group's);
    # violations_summary counts the flows of every line, listed or not
    # (violations[] lists at most 1 MiB of lines)
    per_rule = collections.Counter()
    for v in report["verdict"]["violations"]:
        per_rule[v["rule"]] += v["flows"]
    summary = report["verdict"]["violations_summary"]
    if summary["listing_capped"]:
        per_rule = collections.Counter({r: s["flows"] for r, s in summary["rules"].items()})
    else:
        expect("violations_summary's flows per rule equal the listed lines'",
               per_rule == collections.Counter({r: s["flows"] for r, s in summary["rules"].items()}),
               (per_rule, summary["rules"]))
    rules = {r: (n, rule_hosts[r]) for r, n in per_rule.items()}
    # hosts[] lists at most 10,000 and 2.5 MiB (README); hosts_summary.not_listed
    # also counts broadcast addresses, which are not hosts: listing_capped says
    return hosts, rules, report["hosts_summary"]["listing_capped"]


def sql_answers(server, analytics):
    """The answers of per-host.sql and per-rule.sql, shaped like reference()."""
    out = {}
    for name in ("per-host", "per-rule"):
        with open(os.path.join(analytics, name + ".sql"), "rb") as f:
            rc, text, err = server.client(["--multiquery", "--format", "JSONEachRow",
                                           "--output_format_json_quote_64bit_integers=0"], stdin=f.read())
        expect("%s.sql runs" % name, rc == 0, err)
        out[name] = [json.loads(line) for line in text.splitlines() if line.strip()]
    hosts = {r["host"]: (r["rules"], r["violations"], r["smb_connections_as_client"], r["smb_connections_as_server"])
             for r in out["per-host"]}
    rules = {r["rule"]: (r["violations"], r["hosts"]) for r in out["per-rule"]}
    return hosts, rules, out


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF


def unanswered_datagram(path):
    """A capture of one NetBIOS direct unique datagram (RFC 1002 4.4.2,
    tshark: "Direct_unique datagram") from 10.213.9.2 to 10.213.9.1, which
    never answers: a netbios violation whose server is a target only, so
    only the client must fix it (the fact netbios.server_answered carries)."""
    def name(n):  # first-level encoded NetBIOS name
        raw = n.ljust(15).encode() + b"\0"
        return bytes([32]) + bytes(c for b in raw for c in (0x41 + (b >> 4), 0x41 + (b & 15))) + b"\0"
    src, dst = bytes([10, 213, 9, 2]), bytes([10, 213, 9, 1])
    data = name("CLIENT") + name("TARGET") + b"hello"
    dgm = struct.pack("!BBH4sHHH", 0x10, 0x02, 7, src, 138, len(data), 0) + data
    udp = struct.pack("!HHHH", 138, 138, 8 + len(dgm), 0) + dgm
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    frame = b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00" + ip + udp
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        f.write(struct.pack("<IIII", 1795000000, 0, len(frame), len(frame)) + frame)


def merged_report(b, captures, options, tmp):
    """`smbscope merge --format json` of one JSON report per capture; None
    when it fails."""
    paths = []
    for i, c in enumerate(captures):
        r = smbscope_json(b, options + ["--merge-state", c])  # merge takes only reports that carry their state
        if r is None:
            return None
        paths.append(os.path.join(tmp, "report-%03d.json" % i))
        with open(paths[-1], "w") as f:
            json.dump(r, f)
    # merge judges again under the policy of the runs (the options but the key log)
    policy = [o for i, o in enumerate(options) if o != "--tls-keylog" and (i == 0 or options[i - 1] != "--tls-keylog")]
    p = subprocess.run([b, "merge", "-q", "--format", "json"] + policy + paths, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    if p.returncode not in (0, 1, 3):
        print("#    smbscope merge exited with %d: %s" % (p.returncode, p.stderr.decode(errors="replace")[:500]))
    try:
        return json.loads(p.stdout) if p.returncode in (0, 1, 3) else None
    except ValueError:
        return None


NDJSON_CACHE = {}


def ndjson_facts(b, captures, options):
    """Lines per capture and the type of every key of the ndjson smbscope
    writes for the captures (one run per capture and options)."""
    key = (tuple(captures), tuple(options))
    if key not in NDJSON_CACHE:
        lines, keys = [], {}
        for c in captures:
            p = subprocess.run([b, "-q", "-T", "ndjson"] + options + [c], stdout=subprocess.PIPE, timeout=120)
            events = [json.loads(line) for line in p.stdout.decode().splitlines()]
            lines.append(len(events))
            for e in events:
                for k, v in e.items():
                    keys.setdefault(k, type(v).__name__)
        NDJSON_CACHE[key] = (lines, keys)
    return NDJSON_CACHE[key]


def load_sh(a, sensor, part, client, table, options):
    loader = os.path.join(a.analytics, "load.sh")
    p = subprocess.run([loader, "-s", a.smbscope, "-o", sensor, "-c", " ".join(client), "-t", table] + part
                       + ["--"] + options, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    expect("load.sh loads %d captures as %s into %s" % (len(part), sensor, table), p.returncode == 0,
           p.stderr.decode())


def rows_per_sensor(server, table):
    """{sensor: {"n": rows, "inputs": distinct capture files}} of a table."""
    rc, text, err = server.client(["--query", "SELECT `observer.name` AS sensor, count() AS n, "
                                   "uniqExact(`smbscope.input`) AS inputs FROM %s GROUP BY sensor "
                                   "FORMAT JSONEachRow" % table, "--output_format_json_quote_64bit_integers=0"])
    expect("rows of %s counted" % table, rc == 0, err)
    return {r["sensor"]: r for r in map(json.loads, text.splitlines())}


def load(server, a, captures, options):
    """Half the captures as sensor-a, half as sensor-b, and the first three
    again as sensor-c (the same flows seen twice); the rows per sensor."""
    for sensor, part in (("sensor-a", captures[0::2]), ("sensor-b", captures[1::2]), ("sensor-c", captures[:3])):
        load_sh(a, sensor, part, server.client_command(), "smbscope.events", options)
    return rows_per_sensor(server, "smbscope.events")


def check_loaded(policy, loaded, lines, third, n):
    rows = sum(r["n"] for r in loaded.values())
    expect("%s: every ndjson line is a row, tagged with its sensor and capture" % policy,
           rows == lines + third and set(loaded) == {"sensor-a", "sensor-b", "sensor-c"}
           and loaded["sensor-c"]["inputs"] == 3
           and sum(loaded[s]["inputs"] for s in ("sensor-a", "sensor-b")) == n, loaded)
    return rows


def check_answers(label, server, a, reports):
    """per-host.sql and per-rule.sql against reference() of each report."""
    sql_hosts, sql_rules, raw = sql_answers(server, a.analytics)
    print("#    %s: per-rule.sql %s" % (label, json.dumps(raw["per-rule"])))
    for what, report in reports:
        hosts, rules, capped = reference(report)
        expect("%s: the %s report lists every host" % (label, what), not capped)
        expect("%s: the captures violate the policy (something to compare)" % label, len(rules) > 0, rules)
        expect("%s: per-host.sql equals the %s report's hosts[]" % (label, what), sql_hosts == hosts,
               {"sql": sql_hosts, what: hosts})
        expect("%s: per-rule.sql equals the %s report's violations and hosts" % (label, what), sql_rules == rules,
               {"sql": sql_rules, what: rules})


REFERENCE_CACHE = {}


def references(a, captures, options, tmp, merge, label):
    """[(name, report)]: the joint analysis, and smbscope merge when asked."""
    key = tuple(options)
    if key in REFERENCE_CACHE:
        return REFERENCE_CACHE[key]
    out = REFERENCE_CACHE[key] = []
    joint = smbscope_json(a.smbscope, options + captures)
    expect("%s: smbscope --format json of the captures together" % label, joint is not None)
    if joint is not None:
        out.append(("joint", joint))
    if merge:
        m = merged_report(a.smbscope, captures, options, tmp)
        expect("%s: smbscope merge of the per-sample reports" % label, m is not None)
        if m is not None:
            out.append(("merged", m))
    return out


def check_loopback(server, label):
    listening = listening_addresses(server.proc.pid)
    expect("%s listens on 127.0.0.1 only, on the ports chosen" % label,
           sorted(listening) == sorted([("127.0.0.1", server.tcp_port), ("127.0.0.1", server.http_port)]),
           listening)


def check_policy(server, a, policy, captures, keylog, tmp, merge):
    options = POLICIES[policy] + ["--tls-keylog", keylog]
    rc, _, err = server.client(["--query", "TRUNCATE TABLE smbscope.events"])
    expect("%s: the table is emptied" % policy, rc == 0, err)
    t0 = time.monotonic()
    loaded = load(server, a, captures, options)
    per_capture, keys = ndjson_facts(a.smbscope, captures, options)
    lines, third = sum(per_capture), sum(per_capture[:3])
    rows = check_loaded(policy, loaded, lines, third, len(captures))
    print("#    %s: %d events loaded (%d ndjson lines of %d captures, %d again as sensor-c) in %.2f s"
          % (policy, rows, lines, len(captures), third, time.monotonic() - t0))
    rc, text, _ = server.client(["--query", "SELECT name FROM system.columns WHERE database = 'smbscope' "
                                 "AND table = 'events'"])
    columns = set(text.split("\n"))
    missing = sorted(k for k, t in keys.items() if t != "list" and k not in columns)
    expect("%s: every scalar ndjson key is a column of smbscope.events" % policy, not missing, missing)
    check_answers(policy, server, a, references(a, captures, options, tmp, merge, policy))


def check_loader_errors(server, a, samples, tmp):
    """load.sh on a missing capture, a name with a newline and a name with
    quotes, a backslash and a space, as a sensor with an odd name: status 1,
    the errors named, the good capture loaded under its exact names."""
    odd = os.path.join(tmp, 'a "quoted" \\ name.pcap')
    shutil.copy(os.path.join(samples, "nbss-on-445.pcap"), odd)
    newline = os.path.join(tmp, "new\nline.pcap")
    shutil.copy(odd, newline)
    missing = os.path.join(tmp, "missing.pcap")
    rc, _, err = server.client(["--query", "CREATE TABLE smbscope.scratch AS smbscope.events"])
    expect("a scratch table like smbscope.events", rc == 0, err)
    observer = "odd \x01 \u00e9 \\ \""  # smbscope escapes it, ClickHouse reads it back
    p = subprocess.run([os.path.join(a.analytics, "load.sh"), "-s", a.smbscope, "-o", observer, "-c",
                        " ".join(server.client_command()), "-t", "smbscope.scratch", missing, newline, odd],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    err = p.stderr.decode()
    expect("load.sh: status 1 when a capture cannot be read or named", p.returncode == 1, (p.returncode, err))
    expect("load.sh names the missing capture and the name it refuses",
           "missing.pcap: smbscope exited with 2" in err and "control characters in the name" in err, err)
    rc, text, _ = server.client(["--query", "SELECT `smbscope.input` AS input, groupUniqArray(`event.action`) AS "
                                 "actions, groupUniqArray(`smbscope.verdict`) AS verdicts, "
                                 "groupUniqArray(`observer.name`) AS observers FROM smbscope.scratch "
                                 "GROUP BY input ORDER BY input FORMAT JSONEachRow"])
    rows = {r["input"]: r for r in map(json.loads, text.splitlines())}
    expect("load.sh loads the readable capture under its exact name, and of the missing one the summary "
           "(verdict error)", sorted(rows) == sorted([odd, missing]) and len(rows[odd]["actions"]) > 1
           and rows[missing]["actions"] == ["summary"] and "error" in rows[missing]["verdicts"]
           and all(r["observers"] == [observer] for r in rows.values()), rows)


def check_ndjson_files(server, a, captures, tmp):
    """load.sh -n: ndjson files smbscope wrote (as a live sensor does), the
    last one cut in the middle of a line as while it is being written."""
    files, lines = [], 0
    for i, c in enumerate(captures):
        files.append(os.path.join(tmp, "sensor-%d.ndjson" % i))
        subprocess.run([a.smbscope, "-q", "-T", "ndjson", "--observer-name", "live", "-o", files[-1], c],
                       timeout=60)
        with open(files[-1]) as f:
            lines += len(f.read().splitlines())
    with open(files[-1], "a") as f:
        f.write('{"@timestamp":"2026-')
    rc, _, err = server.client(["--query", "CREATE TABLE smbscope.from_files AS smbscope.events"])
    expect("a table for ndjson files", rc == 0, err)
    p = subprocess.run([os.path.join(a.analytics, "load.sh"), "-n", "-c", " ".join(server.client_command()),
                        "-t", "smbscope.from_files"] + files, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    expect("load.sh -n loads ndjson files", p.returncode == 0, p.stderr.decode())
    loaded = rows_per_sensor(server, "smbscope.from_files")
    expect("load.sh -n: every whole line of the files is a row, the line being written is not",
           set(loaded) == {"live"} and loaded["live"]["n"] == lines and loaded["live"]["inputs"] == len(files),
           (loaded, lines))


def check_cluster(bins, a, captures, keylog, tmp, merge):
    """Two nodes, one shard each (cluster.sql): sensor-a loads into node A,
    sensor-b into node B, sensor-c through node A's Distributed table; either
    node answers for both."""
    options = POLICIES["default"] + ["--tls-keylog", keylog]
    for attempt in range(3):  # the ports chosen may be taken before the nodes bind them
        ports = free_ports(4)
        extra = cluster_config("smbscope_cluster", [ports[0], ports[2]])
        try:
            with Server(*bins, ports=ports[0:2], extra_config=extra) as na, \
                    Server(*bins, ports=ports[2:4], extra_config=extra) as nb:
                check_nodes(na, nb, a, captures, options, tmp, merge)
            return
        except PortTaken:
            if attempt == 2:
                raise


def check_nodes(na, nb, a, captures, options, tmp, merge):
    """The checks of check_cluster on its two running nodes."""
    for node in (na, nb):
        check_loopback(node, "cluster node %d" % node.tcp_port)
        for name in ("schema.sql", "cluster.sql"):
            with open(os.path.join(a.analytics, name), "rb") as f:
                rc, _, err = node.client(["--multiquery"], stdin=f.read())
            expect("cluster: %s on node %d" % (name, node.tcp_port), rc == 0, err)
    load_sh(a, "sensor-a", captures[0::2], na.client_command(), "smbscope.events_local", options)
    load_sh(a, "sensor-b", captures[1::2], nb.client_command(), "smbscope.events_local", options)
    load_sh(a, "sensor-c", captures[:3], na.client_command() + ["--insert_distributed_sync=1"],
            "smbscope.events", options)
    local = [rows_per_sensor(n, "smbscope.events_local") for n in (na, nb)]
    whole = rows_per_sensor(nb, "smbscope.events")
    per_capture = ndjson_facts(a.smbscope, captures, options)[0]
    lines, third = sum(per_capture), sum(per_capture[:3])
    rows = check_loaded("cluster", whole, lines, third, len(captures))
    print("#    cluster: %d events on two nodes (%s)" % (rows, [sum(r["n"] for r in x.values()) for x in local]))
    expect("cluster: each node holds its own sensor's rows",
           set(local[0]) - {"sensor-c"} == {"sensor-a"} and set(local[1]) - {"sensor-c"} == {"sensor-b"}, local)
    refs = references(a, captures, options, tmp, merge, "cluster")
    for node, label in ((na, "cluster node A"), (nb, "cluster node B")):
        check_answers(label, node, a, refs)


def corpus_captures(corpus):
    """The captures of the public corpus (its CATALOG.tsv), None if absent."""
    catalog = os.path.join(corpus, "CATALOG.tsv")
    if not os.path.exists(catalog):
        return None
    with open(catalog, newline="") as f:
        return [os.path.join(corpus, row["relpath"]) for row in csv.DictReader(f, delimiter="\t")]


def check_corpus(bins, a, captures, tmp, merge):
    with Server(*bins) as server:
        print("#    clickhouse-server answered %.2f s after its start" % server.start_seconds)
        check_loopback(server, "the server")
        with open(os.path.join(a.analytics, "schema.sql"), "rb") as f:
            rc, _, err = server.client(["--multiquery"], stdin=f.read())
        expect("schema.sql creates the table and views", rc == 0, err)
        t0 = time.monotonic()
        load_sh(a, "corpus", captures, server.client_command(), "smbscope.events", [])
        loaded = rows_per_sensor(server, "smbscope.events").get("corpus", {"n": 0, "inputs": 0})
        lines = sum(ndjson_facts(a.smbscope, captures, [])[0])
        print("#    corpus: %d events of %d captures loaded in %.2f s" % (loaded["n"], len(captures),
                                                                       time.monotonic() - t0))
        expect("corpus: every ndjson line is a row", loaded["n"] == lines and loaded["inputs"] == len(captures),
               (loaded, lines))
        # The joint report only: four public captures repeat another's connections
        # (same 5-tuple), which a joint run takes as one connection and merge as
        # two (tests/e2e/merge_check.py leaves them out of its corpus check).
        check_answers("corpus", server, a, references(a, captures, [], tmp, False, "corpus"))
        # Then without those: the SQL against the joint run and `smbscope merge`.
        rest = distinct(a.smbscope, captures)
        expect("corpus: captures that repeat no other's connection", len(rest) >= 10, len(rest))
        rc, _, err = server.client(["--query", "TRUNCATE TABLE smbscope.events"])
        expect("corpus: the table is emptied", rc == 0, err)
        load_sh(a, "corpus", rest, server.client_command(), "smbscope.events", [])
        joint = smbscope_json(a.smbscope, rest)
        merged = merged_report(a.smbscope, rest, [], tmp)
        expect("corpus without repeats: the joint report and smbscope merge", joint is not None and merged is not None)
        check_answers("corpus without repeats", server, a,
                      [(n, r) for n, r in (("joint", joint), ("merged", merged)) if r is not None])


def distinct(b, captures):
    """The captures that can be read and repeat no TCP connection and no
    packet of an earlier one (merge_check.py's rule for the corpus: the
    records each input sampled, merge_state.state.inputs[].overlap; merge
    refuses two captures that share one)."""
    seen, seen_records, out = set(), set(), []
    for c in captures:
        doc = smbscope_json(b, [c])
        if doc is None:
            continue
        tcp = doc.get("connections", []) + [f for f in doc.get("netbios", {}).get("flows", []) if f["proto"] == "tcp"]
        conns = {tuple(sorted([(x["client"], x["client_port"]), (x["server"], x["server_port"])])) for x in tcp}
        records = set()
        for i in doc.get("merge_state", {}).get("state", {}).get("inputs", []):
            h = base64.b64decode(i.get("overlap", {}).get("hashes", ""))
            records |= {h[k:k + 8] for k in range(0, len(h), 8)}
        if conns & seen or records & seen_records:
            continue
        seen |= conns
        seen_records |= records
        out.append(c)
    return out


def unavailable(what):
    if os.environ.get("CI") == "true":
        print("FAIL %s (CI=true)" % what)
        return 1
    print("SKIP %s" % what)
    return 77


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples", required=True)
    ap.add_argument("--analytics", required=True)
    ap.add_argument("--corpus")
    a = ap.parse_args()
    # meson's timeout sends SIGTERM: unwind, so that the server is stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))
    server_bin, client_bin = shutil.which("clickhouse-server"), shutil.which("clickhouse-client")
    if not server_bin or not client_bin:
        return unavailable("clickhouse-server and clickhouse-client are needed: .ci/deps.sh installs them")
    t_all = time.monotonic()
    # A sample with a NAME.origin file is cut from another sample: the same
    # connection twice, which a joint run takes as one and merge as two.
    captures = sorted(c for c in glob.glob(os.path.join(a.samples, "*.pcap")) if not os.path.exists(os.path.splitext(c)[0] + ".origin"))
    if a.corpus:
        captures = corpus_captures(a.corpus)
        if captures is None:
            return unavailable("corpus not found at %s" % a.corpus)
    with tempfile.TemporaryDirectory(prefix="smbscope-analytics-") as tmp:
        # Always compared with merge (issue 13): once optional, a build whose
        # merge was missing or broken passed with the joint report alone.
        merge = True
        if a.corpus:
            check_corpus((server_bin, client_bin), a, captures, tmp, merge)
            return finish(t_all)
        captures.append(os.path.join(tmp, "unanswered-datagram.pcap"))
        unanswered_datagram(captures[-1])
        keylog = os.path.join(tmp, "keys.log")
        with open(keylog, "w") as out:
            for k in sorted(glob.glob(os.path.join(a.samples, "*.keylog"))):
                with open(k) as f:
                    out.write(f.read())
        with Server(server_bin, client_bin) as server:
            print("#    clickhouse-server answered %.2f s after its start" % server.start_seconds)
            check_loopback(server, "the server")
            with open(os.path.join(a.analytics, "schema.sql"), "rb") as f:
                rc, _, err = server.client(["--multiquery"], stdin=f.read())
            expect("schema.sql creates the table and views", rc == 0, err)
            if rc == 0:
                for policy in POLICIES:
                    check_policy(server, a, policy, captures, keylog, tmp, merge)
                check_loader_errors(server, a, a.samples, tmp)
                check_ndjson_files(server, a, captures[:3], tmp)
        check_cluster((server_bin, client_bin), a, captures, keylog, tmp, merge)
    return finish(t_all)


def finish(t_all):
    print("#    %.1f s in all" % (time.monotonic() - t_all))
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
