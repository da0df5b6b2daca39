#!/usr/bin/python3
"""ndjson_ecs_check.py - the ndjson events against their documented mapping
(README.md "ndjson events") and against Elastic Common Schema (issue 13:
ECS names where they exist, flat dotted keys, smbscope's own fields in
their own namespaces, the mapping documented).

Over every sample (with its key log, under the default and a strict
policy) and a capture of 300 generated connections:
  * every key written is a row of README's table, and every row's key of
    an event kind these inputs produce is written (a key added without its
    row, or a row whose key was renamed, fails);
  * a key under an ECS field set (@timestamp, message, event., source.,
    destination., client., server., network., rule., observer.) is an ECS
    field of that name, with ECS's type: dates RFC 3339 UTC, ports and
    counts non-negative integers, addresses IP addresses;
  * event.kind, event.category, event.type and event.outcome take only
    ECS's allowed values, every category/type pair is one ECS expects
    (ECS's table of expected types per category), and each event.action
    has the categorisation README documents;
  * violation and finding lines carry rule.name, rule.ruleset and
    smbscope.violation;
  * smb.alt_port of every SMB connection event equals what the manifest's
    server port and transport (tshark's) give, and the JSON's alt_port;
  * every other key is under smb., netbios. or smbscope.

Usage: ndjson_ecs_check.py --smbscope BIN --samples DIR --readme README.md
"""

import argparse
import glob
import ipaddress
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
failures = []


def expect(name, cond, detail=""):
    print("%-4s %s%s" % ("ok" if cond else "FAIL", name, "" if cond else ": " + str(detail)[:1500]))
    if not cond:
        failures.append(name)


DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")


def is_date(v):
    return isinstance(v, str) and DATE.match(v) is not None


def is_ip(v):
    try:
        ipaddress.ip_address(v)
        return True
    except (TypeError, ValueError):
        return False


def is_count(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def is_port(v):
    return is_count(v) and v <= 65535


def is_keyword(v):
    return isinstance(v, str)


# ECS 8.x fields smbscope may write, with a check of ECS's type.
ECS = {
    "@timestamp": is_date, "message": is_keyword,
    "event.kind": is_keyword, "event.category": is_keyword, "event.type": is_keyword,
    "event.action": is_keyword, "event.outcome": is_keyword, "event.dataset": is_keyword,
    "event.start": is_date, "event.end": is_date, "event.severity": is_count, "event.reason": is_keyword,
    "observer.name": is_keyword, "observer.hostname": is_keyword,
    "source.ip": is_ip, "source.port": is_port, "destination.ip": is_ip, "destination.port": is_port,
    "client.ip": is_ip, "client.port": is_port, "server.ip": is_ip, "server.port": is_port,
    "network.transport": is_keyword, "network.protocol": is_keyword, "network.type": is_keyword,
    "network.packets": is_count, "network.bytes": is_count,
    "rule.name": is_keyword, "rule.description": is_keyword, "rule.id": is_keyword, "rule.category": is_keyword,
    "rule.ruleset": is_keyword,
}
ECS_SETS = ("event.", "source.", "destination.", "client.", "server.", "network.", "rule.", "observer.")
OWN = ("smb.", "netbios.", "smbscope.")
# ECS's allowed values (ecs/schemas/event.yml, 8.x)
ALLOWED = {
    "event.kind": {"alert", "asset", "enrichment", "event", "metric", "state", "pipeline_error", "signal"},
    "event.category": {"api", "authentication", "configuration", "database", "driver", "email", "file", "host",
                       "iam", "intrusion_detection", "library", "malware", "network", "package", "process",
                       "registry", "session", "threat", "vulnerability", "web"},
    "event.type": {"access", "admin", "allowed", "change", "connection", "creation", "deletion", "denied", "device",
                   "end", "error", "group", "indicator", "info", "installation", "protocol", "start", "user"},
    "event.outcome": {"failure", "success", "unknown"},
    "network.type": {"ipv4", "ipv6", "ipsec", "pim", "ipv6-icmp", "igmp"},
}
# ECS's expected event.type values per event.category (the categorisation
# reference, "Expected event types for category ..."; ECS 8.x).  A pair
# outside this table is not an ECS categorisation (e.g. "indicator" exists
# only for category threat).
CATEGORY_TYPES = {
    "api": {"access", "admin", "allowed", "change", "creation", "deletion", "denied", "end", "info", "start", "user"},
    "authentication": {"start", "end", "info"},
    "configuration": {"access", "change", "creation", "deletion", "info"},
    "database": {"access", "change", "info", "error"},
    "driver": {"change", "end", "info", "start"},
    "email": {"info"},
    "file": {"access", "change", "creation", "deletion", "info"},
    "host": {"access", "change", "end", "info", "start"},
    "iam": {"admin", "change", "creation", "deletion", "group", "info", "user"},
    "intrusion_detection": {"allowed", "denied", "info"},
    "library": {"start"},
    "malware": {"info"},
    "network": {"access", "allowed", "connection", "denied", "end", "info", "protocol", "start"},
    "package": {"access", "change", "deletion", "info", "installation", "start"},
    "process": {"access", "change", "end", "info", "start"},
    "registry": {"access", "change", "creation", "deletion"},
    "session": {"start", "end", "info"},
    "threat": {"indicator"},
    "vulnerability": {"info"},
    "web": {"access", "error", "info"},
}
# The categorisation smbscope documents for each event.action (README's
# ndjson table): kind, category, type.
ACTIONS = {
    "smb-connection": ("event", "network", "start"), "smb-connection-end": ("event", "network", "end"),
    "netbios-flow": ("event", "network", "start"), "netbios-flow-end": ("event", "network", "end"),
    "violation": ("alert", "network", "protocol"), "finding": ("event", "network", "info"),
    "summary": ("metric", "network", "info"),
}
# Standard server ports per transport (dissector/transport/classify.c); the
# others (direct, nbt, nbt-nonstandard-port, unknown-start: TCP): 139 and 445.
STANDARD_PORTS = {"quic": (443,), "rdma-iwarp": (5445,), "rdma-roce": (4791,)}


def readme_keys(readme):
    """The keys of README's ndjson table: first column, backquoted; a
    `.name` cell continues the previous key's prefix."""
    text = open(readme, encoding="utf-8").read()
    start = text.index("### ndjson events")
    end = text.index("\n## ", start)
    keys = {}
    for line in text[start:end].splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        prev = None
        for k in re.findall(r"`([^`]+)`", cells[0]):
            if k.startswith(".") and prev:
                k = prev.rsplit(".", 1)[0] + k
            keys[k] = cells[2] if len(cells) > 2 else ""
            prev = k
    return keys


def events(smbscope, capture, extra):
    key = os.path.splitext(capture)[0] + ".keylog"
    args = ["--tls-keylog", key] if os.path.exists(key) else []
    p = subprocess.run([smbscope, "-q", "-T", "ndjson"] + extra + args + [capture], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    if p.returncode not in (0, 1, 3):
        expect("%s: exit 0, 1 or 3" % os.path.basename(capture), False, p.stderr.decode(errors="replace"))
        return []
    return [json.loads(line) for line in p.stdout.decode().splitlines()]


def check_categorisation(pairs):
    """Every kind/category/type written is a pair ECS expects, and the
    one README documents for its event.action."""
    off_ecs = sorted(p for p in pairs if p[2] not in CATEGORY_TYPES.get(p[1], ()))
    expect("every event.category/event.type pair is one ECS expects (%d combinations)" % len(pairs), not off_ecs,
           off_ecs)
    undocumented = sorted(p for p in pairs if ACTIONS.get(p[3]) != p[:3])
    expect("each event.action has its documented kind/category/type", not undocumented, undocumented)
    expect("the inputs produce every event.action but the interval ones", {p[3] for p in pairs} == set(ACTIONS),
           sorted({p[3] for p in pairs} ^ set(ACTIONS)))


def check_verdict_lines(lines):
    """Violations and findings: ECS's rule fields, and smbscope.violation
    telling one from the other (what event.type no longer says)."""
    bad = [e for e in lines if e.get("smbscope.violation") != (e["event.action"] == "violation")
           or e.get("event.kind") != ("alert" if e["event.action"] == "violation" else "event")
           or e.get("rule.ruleset") != ("smbscope-policy" if e["event.action"] == "violation" else "smbscope-findings")
           or not e.get("rule.name")]
    kinds = {e["event.action"] for e in lines}
    expect("violation and finding lines: smbscope.violation, rule.ruleset, rule.name (%d lines)" % len(lines),
           not bad and kinds == {"violation", "finding"}, bad[:3] or kinds)


def manifest_rows(samples):
    import csv
    with open(os.path.join(samples, "MANIFEST.tsv"), encoding="utf-8") as f:
        return [r for r in csv.DictReader(f, delimiter="\t") if r["transport"] != "-"]


def check_alt_port(conns, samples, smbscope):
    """smb.alt_port of every SMB connection event against the manifest
    (tshark's server port and transport) and against alt_port of the JSON
    report's connections[] of the same sample."""
    by_tuple = {(r["file"], r["client"], int(r["client_port"]), r["server"], int(r["server_port"])): r
                for r in manifest_rows(samples)}
    wrong, matched, alt_files, reports = [], 0, set(), {}
    for cap, ev in conns:
        r = by_tuple.get((cap, ev.get("client.ip"), ev.get("client.port"), ev.get("server.ip"),
                          ev.get("server.port")))
        if r is None:
            continue
        matched += 1
        want = int(r["server_port"]) not in STANDARD_PORTS.get(r["transport"], (139, 445))
        if want:
            alt_files.add(cap)
        if cap not in reports:
            reports[cap] = json_conns(smbscope, os.path.join(samples, cap))
        js = reports[cap].get((ev["client.ip"], ev["client.port"], ev["server.ip"], ev["server.port"]))
        if ev.get("smb.alt_port") is not want or (js is not None and js is not want):
            wrong.append((cap, ev["event.action"], ev["server.port"], ev.get("smb.alt_port"), want, js))
    expect("smb.alt_port equals the manifest's port and transport, and the JSON's alt_port (%d events)" % matched,
           matched > 40 and not wrong, wrong)
    want_alt = {"quic8443-smb3_11.pcap", "smb8445-smb3_11.pcap", "nbss-on-8445.pcap"}
    expect("alternative ports seen: QUIC on 8443, SMB and NBSS on 8445", want_alt <= alt_files, sorted(alt_files))
    std = {cap for cap, ev in conns if cap.startswith("quic443-") and ev.get("smb.alt_port") is False}
    expect("QUIC on 443 is its standard port", std, sorted(std))


def json_conns(smbscope, capture):
    key = os.path.splitext(capture)[0] + ".keylog"
    args = ["--tls-keylog", key] if os.path.exists(key) else []
    p = subprocess.run([smbscope, "-q", "-T", "json", "--connections", "all"] + args + [capture],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    conns = json.loads(p.stdout.decode()).get("connections") or []
    return {(c["client"], c["client_port"], c["server"], c["server_port"]): c.get("alt_port") for c in conns}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples", required=True)
    ap.add_argument("--readme", required=True)
    a = ap.parse_args()
    documented = readme_keys(a.readme)
    expect("README's ndjson table lists keys", len(documented) > 40, sorted(documented))
    with tempfile.TemporaryDirectory() as tmp:
        many = os.path.join(tmp, "many.pcap")
        subprocess.run([sys.executable, os.path.join(HERE, "..", "bench", "gen_capture.py"), "--many", "300",
                        "--clients", "30", "--servers", "3", many], check=True, stdout=subprocess.DEVNULL)
        caps = sorted(glob.glob(os.path.join(a.samples, "*.pcap"))) + [many]
        seen, bad_type, bad_value, pairs = {}, {}, {}, set()
        verdict_lines, conns = [], []
        for policy in ([], ["--require-signing", "--require-encryption", "--require-kerberos"]):
            for cap in caps:
                for ev in events(a.smbscope, cap, policy):
                    for k, v in ev.items():
                        seen.setdefault(k, os.path.basename(cap))
                        if k in ECS and not ECS[k](v):
                            bad_type.setdefault(k, v)
                        if k in ALLOWED and v not in ALLOWED[k]:
                            bad_value.setdefault(k, v)
                    pairs.add((ev.get("event.kind"), ev.get("event.category"), ev.get("event.type"),
                               ev.get("event.action")))
                    if ev.get("event.action") in ("violation", "finding"):
                        verdict_lines.append(ev)
                    if ev.get("event.action") in ("smb-connection", "smb-connection-end") and not policy:
                        conns.append((os.path.basename(cap), ev))
    undocumented = sorted(k for k in seen if k not in documented)
    expect("every key written is in README's ndjson table (%d keys)" % len(seen), not undocumented,
           {k: seen[k] for k in undocumented})
    # keys of live capture, intervals and the capture filter do not occur on files read whole
    live_only = ("smbscope.capture.", "smbscope.run.", "smbscope.filter")
    unwritten = sorted(k for k in documented if k not in seen and not k.startswith(live_only))
    expect("every key of README's table is written (live, interval and filter keys aside)", not unwritten,
           unwritten)
    misplaced = sorted(k for k in seen if not (k in ECS or k.startswith(OWN)))
    expect("every key is an ECS field or under smb., netbios. or smbscope.", not misplaced, misplaced)
    not_ecs = sorted(k for k in seen if k.startswith(ECS_SETS) and k not in ECS)
    expect("keys under ECS field sets are ECS fields", not not_ecs, not_ecs)
    expect("ECS fields have ECS's types (dates RFC 3339 UTC, IP addresses, ports, counts)", not bad_type, bad_type)
    expect("event.kind/category/type/outcome and network.type take ECS's allowed values", not bad_value, bad_value)
    check_categorisation(pairs)
    check_verdict_lines(verdict_lines)
    check_alt_port(conns, a.samples, a.smbscope)
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
