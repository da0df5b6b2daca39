#!/usr/bin/python3
"""hosts_fix_check.py - hosts[] of the JSON report stays small at many hosts
(issue 13: 8 MiB at 170,000 connections) without losing what a host must
fix (README "hosts[]", "fix_catalog").

  * every listed host has fix_rules[] (its rules, then its findings) and
    fix_role; fix_catalog holds each of those rules once (words, the
    remedy for a client and for a server) and each remedy once;
  * fix[] (the full objects, kept for the first hosts) equals what
    fix_rules[], fix_role and fix_catalog give, entry by entry;
  * hosts_summary.fix_hosts counts per rule and to_fix are exact;
  * on a generated capture of 9,000 clients, all violating
    --require-signing: fix[] detailed for the first 250 hosts only (null
    after), one line per host, hosts[] within its byte budget (3 MiB, plus
    the line that crossed it), listing_capped, every host counted.

Usage: hosts_fix_check.py --smbscope BIN --samples DIR
"""

import argparse
import collections
import glob
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FIX_DETAILED = 250
HOSTS_BYTES = 3 << 20
failures = []


def expect(name, cond, detail=""):
    print("%-4s %s%s" % ("ok" if cond else "FAIL", name, "" if cond else ": " + str(detail)[:1500]))
    if not cond:
        failures.append(name)


def report(smbscope, args):
    p = subprocess.run([smbscope, "-q", "-T", "json"] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=120)
    if p.returncode not in (0, 1, 3):
        expect("smbscope %s: exit 0, 1 or 3" % " ".join(args[-1:]), False, p.stderr.decode(errors="replace"))
        return None, ""
    text = p.stdout.decode()
    return json.loads(text), text


def from_catalog(doc, h):
    """The fix[] entries fix_rules[], fix_role and fix_catalog describe."""
    cat = doc["fix_catalog"]
    out = []
    for r in h["fix_rules"]:
        c = cat["rules"][r]
        rid = c["remedy_" + h["fix_role"]]
        out.append({"rule": r, "violation": c["violation"], "severity": c["severity"], "title": c["title"],
                    "remedy": cat["remedies"][rid] if rid else None})
    return out


def check_consistent(label, doc):
    hosts = doc["hosts"]
    missing = [h["address"] for h in hosts if "fix_rules" not in h or h.get("fix_role") not in ("client", "server")]
    expect("%s: every host has fix_rules[] and fix_role (%d hosts)" % (label, len(hosts)), not missing, missing)
    if missing:
        return
    detailed = [h for h in hosts if h["fix"] is not None]
    differ = [(h["address"], h["fix"], from_catalog(doc, h)) for h in detailed if h["fix"] != from_catalog(doc, h)]
    expect("%s: fix[] equals fix_rules[] + fix_role + fix_catalog (%d hosts)" % (label, len(detailed)), not differ,
           differ[:2])
    used = {r for h in hosts for r in h["fix_rules"]}
    expect("%s: fix_catalog.rules holds the rules of the listed hosts, no other" % label,
           set(doc["fix_catalog"]["rules"]) == used, sorted(set(doc["fix_catalog"]["rules"]) ^ used))
    ids = {c[k] for c in doc["fix_catalog"]["rules"].values() for k in ("remedy_client", "remedy_server")} - {None}
    expect("%s: fix_catalog.remedies holds the remedies the rules name, no other" % label,
           set(doc["fix_catalog"]["remedies"]) == ids, sorted(set(doc["fix_catalog"]["remedies"]) ^ ids))
    hs = doc["hosts_summary"]
    if not hs["listing_capped"]:
        counts = collections.Counter(r for h in hosts for r in h["fix_rules"])
        expect("%s: hosts_summary.fix_hosts counts the hosts per rule" % label, hs["fix_hosts"] == dict(counts),
               (hs["fix_hosts"], counts))
        expect("%s: hosts_summary.to_fix counts the hosts with a rule or finding" % label,
               hs["to_fix"] == sum(1 for h in hosts if h["fix_rules"]), hs["to_fix"])
    return used


def check_many(smbscope, tmp):
    n = 9000
    cap = os.path.join(tmp, "many.pcap")
    subprocess.run([sys.executable, os.path.join(HERE, "..", "bench", "gen_capture.py"), "--many", str(n),
                    "--clients", str(n), "--servers", "2", cap], check=True, stdout=subprocess.DEVNULL)
    doc, text = report(smbscope, ["--require-signing", cap])
    if doc is None:
        return
    check_consistent("many", doc)
    hosts, hs = doc["hosts"], doc["hosts_summary"]
    expect("many: fix[] detailed for the first %d hosts, null after" % FIX_DETAILED,
           all(h["fix"] is not None for h in hosts[:FIX_DETAILED])
           and all(h["fix"] is None for h in hosts[FIX_DETAILED:]) and hs["fix_detailed"] == FIX_DETAILED,
           hs["fix_detailed"])
    expect("many: every host must fix signing (fix_hosts, to_fix exact: %d clients and 2 servers)" % n,
           hs["fix_hosts"] == {"signing": n + 2} and hs["to_fix"] == n + 2, hs)
    expect("many: the two servers ranked first", {h["address"] for h in hosts[:2]} ==
           {h["address"] for h in hosts if "smb-server" in h["roles"]}, [h["address"] for h in hosts[:2]])
    start = text.index('\n  "hosts": [\n') + len('\n  "hosts": [\n')
    end = text.index('\n  ],\n  "hosts_summary"', start)
    lines = text[start:end].split("\n")
    expect("many: one line per host", len(lines) == len(hosts), (len(lines), len(hosts)))
    size = end - start
    longest = max(len(x) + 1 for x in lines)
    expect("many: hosts[] within its budget (%d bytes, %d hosts)" % (size, len(hosts)),
           size <= HOSTS_BYTES + longest and size > HOSTS_BYTES - 2 * longest, size)
    expect("many: listing capped, every host counted",
           hs["listing_capped"] and hs["listed"] == len(hosts) < n + 2 and hs["listed"] + hs["not_listed"] == n + 2
           and hs["total"] == n + 2, hs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples", required=True)
    a = ap.parse_args()
    caps = sorted(glob.glob(os.path.join(a.samples, "*.pcap")))
    used = set()
    for label, policy in (("default", []), ("strict", ["--require-signing", "--require-encryption",
                                                       "--require-kerberos", "--min-dialect", "3.0"])):
        doc, _ = report(a.smbscope, policy + caps)
        if doc is not None:
            used |= check_consistent("samples, %s policy" % label, doc) or set()
    expect("the samples name rules and findings (both kinds in the catalog)", len(used) >= 6, sorted(used))
    with tempfile.TemporaryDirectory() as tmp:
        check_many(a.smbscope, tmp)
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
