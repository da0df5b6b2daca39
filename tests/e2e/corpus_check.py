#!/usr/bin/python3
"""corpus_check.py - smbscope over every public capture in ../shared/corpus.

Captures nobody on this project wrote (Zeek, nDPI, tcpdump test traces,
broken and fuzzed files).  For each file: smbscope must exit 0, 1 or 2 (never
crash: under the ASan build a sanitizer report is a failure), print valid
JSON, and agree with the tshark catalogue (CATALOG.tsv) on the facts both
can see:
  - every SMB2 dialect tshark saw offered/selected is in smbscope's report;
  - every SMB1 dialect string tshark saw offered is in smbscope's report;
  - UDP 137 / 138 packet counts equal the NBNS / NBDGM ledger totals.
Known, explained differences are listed in EXPECTED_DIFFERENCES with the
reason; anything else fails.

Usage: corpus_check.py --smbscope BIN [--corpus DIR]
Exit status: 0 ok, 1 a failure, 77 corpus absent (meson: skipped).
"""

import argparse
import csv
import json
import os
import subprocess
import sys

from absent import absent

# Catalogue dialect codes -> smbscope short names (dissector/smb/dialect.c).
SMB2_NAMES = {"0x0202": "2.0.2", "0x0210": "2.1", "0x0222": "2.2.2", "0x0224": "2.2.4", "0x02ff": "2.x",
              "0x0300": "3.0", "0x0302": "3.0.2", "0x0310": "3.1.0", "0x0311": "3.1.1"}

# file -> {check: reason}.  Each entry says why smbscope and tshark differ.
EXPECTED_DIFFERENCES = {
    "ntop__nDPI/dos_win98_smb_netbeui.pcap": {
        "SMB1 dialects offered": "SMB over NetBEUI (LLC) and IPX, not TCP/IP: smbscope counts these NetBIOS "
                                 "frames (netbios.non_ip) but decodes SMB over TCP only",
    },
}


def parse_dialects(field):
    """'smb2:0x0202,0x0210;smb1:NT LM 0.12|SMB 2.002' -> ({codes}, [strings])"""
    smb2, smb1 = set(), []
    for part in filter(None, field.split(";")):
        kind, _, rest = part.partition(":")
        if kind == "smb2":
            smb2 |= {SMB2_NAMES.get(c.lower(), c.lower()) for c in rest.split(",") if c}
        elif kind == "smb1":
            smb1 += [s for s in rest.split("|") if s]
    return smb2, smb1


def check(smbscope, path, row):
    problems = []
    proc = subprocess.run([smbscope, "--format", "json", "-q", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=120)
    err = proc.stderr.decode(errors="replace")
    if proc.returncode not in (0, 1, 2, 3):
        return ["exit status %d: %s" % (proc.returncode, err.strip()[:400])]
    if "Sanitizer" in err or "runtime error" in err:
        return ["sanitizer report: %s" % err.strip()[:400]]
    try:
        doc = json.loads(proc.stdout)
    except ValueError as e:
        return ["invalid JSON: %s" % e]
    if proc.returncode == 2:
        # Input error: the report must say why.
        if not any(i.get("error") for i in doc["inputs"]):
            problems.append("exit 2 without an input error in the report")
        return problems
    conns = doc["connections"]
    offered = {d for c in conns for d in c["dialects_offered"]}
    chosen = {c["dialect"] for c in conns if c["dialect"]}
    smb1_offered = {d for c in conns for d in c["smb1_dialects_offered"]}
    want_offered, want_smb1 = parse_dialects(row["offered_dialects"])
    want_selected, _ = parse_dialects(row["selected_dialects"])
    # 2.x (0x02FF) is an intermediate answer; smbscope reports the final dialect.
    want_selected.discard("2.x")
    if not want_offered <= offered:
        problems.append("SMB2 dialects offered: tshark %s, smbscope %s" % (sorted(want_offered), sorted(offered)))
    if not want_selected <= chosen:
        problems.append("SMB2 dialects selected: tshark %s, smbscope %s" % (sorted(want_selected), sorted(chosen)))
    if not set(want_smb1) <= smb1_offered:
        problems.append("SMB1 dialects offered: tshark %s, smbscope %s" % (sorted(want_smb1), sorted(smb1_offered)))
    # NetBIOS without IP: NetBEUI frames (to the NetBIOS LLC SAP) and NetBIOS
    # over IPX, counted by tshark on the files the catalogue says carry LLC/IPX.
    if "has_llc" in row["notes"] or "has_ipx" in row["notes"]:
        non_ip = doc["netbios"].get("non_ip") or {}
        for key, flt in (("netbeui_frames", "llc.dsap == 0xf0 || llc.dsap == 0xf1"), ("nbipx_frames", "nbipx")):
            t = subprocess.run([os.environ.get("TSHARK", "tshark"), "-n", "-r", path, "-Y", flt], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, timeout=120)
            want = len(t.stdout.splitlines())
            if non_ip.get(key, 0) != want:
                problems.append("%s: tshark %d (%s), smbscope %d" % (key, want, flt, non_ip.get(key, 0)))
    flows = doc["netbios"]["flows"]
    for svc, col in (("nbns", "udp_137_packets"), ("nbdgm", "udp_138_packets")):
        got = sum(f["packets"] for f in flows if f["service"] == svc and f["proto"] == "udp")
        if got != int(row[col] or 0):
            problems.append("%s packets: tshark %s, smbscope %d" % (svc, row[col], got))
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--corpus", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                     "..", "..", "..", "shared", "corpus"))
    a = ap.parse_args()
    catalog = os.path.join(a.corpus, "CATALOG.tsv")
    if not os.path.exists(catalog):
        return absent("corpus not found at %s" % a.corpus)
    with open(catalog, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    failures = 0
    for row in rows:
        path = os.path.join(a.corpus, row["relpath"])
        problems = check(a.smbscope, path, row)
        expected = EXPECTED_DIFFERENCES.get(row["relpath"], {})
        unexplained = [p for p in problems if not any(p.startswith(k) for k in expected)]
        status = "FAIL" if unexplained else "ok"
        print("%-4s %s%s" % (status, row["relpath"], "".join("\n       " + p for p in problems)))
        failures += bool(unexplained)
    print("%d files, %d failed" % (len(rows), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
