#!/usr/bin/python3
"""manifest_check.py - smbscope's JSON report against samples/MANIFEST.tsv.

MANIFEST.tsv holds, per capture, facts derived from tshark's dissection
(tests/e2e/tshark_facts.py); this script runs smbscope on each capture and
checks that every connection and every NetBIOS flow it reports agrees, and
that it reports nothing the manifest does not know.

Usage: manifest_check.py --smbscope BIN --samples DIR [CAPTURE-NAME...]
Exit status: 0 all agree, 1 a disagreement (listed on stderr), 2 usage error.
"""

import argparse
import csv
import json
import os
import subprocess
import sys

CONN_FIELDS = ["transport", "smb1_dialects_offered", "dialects_offered", "dialect", "smb_version"]


def load_manifest(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    by_file = {}
    for r in rows:
        by_file.setdefault(r["file"], []).append(r)
    return by_file


def split(v):
    return [] if v in ("", "-") else v.split("|")


def expected_conn(r):
    return {
        "transport": None if r["transport"] == "-" else r["transport"],
        "smb1_dialects_offered": split(r["smb1_dialects_offered"]),
        "dialects_offered": split(r["dialects_offered"]),
        "dialect": None if r["dialect"] == "-" else r["dialect"],
        "smb_version": None if r["smb_version"] == "-" else int(r["smb_version"]),
    }


def key(proto, c, cp, s, sp):
    return (proto, c, int(cp), s, int(sp))


def keylog_for(path):
    """The key log beside a QUIC capture (NAME.keylog), as tshark_quic.py uses it."""
    base = path[:-5] if path.endswith(".pcap") else os.path.splitext(path)[0]
    return base + ".keylog" if os.path.exists(base + ".keylog") else None


def zero_rtt(note):
    """N of a `0-rtt:N` note (tshark_quic.py), else 0."""
    for part in note.split(";"):
        if part.startswith("0-rtt:"):
            return int(part[6:])
    return 0


def check_quic(got, r, where):
    """SMB-over-QUIC members against a kind=quic row."""
    errors = []
    q = got.get("quic") or {}
    stream = got.get("stream") or {}
    for name, value, want in (
            ("sni", q.get("sni") or "-", r["sni"]),
            ("alpn", "|".join(q.get("alpn") or []) or "-", r["alpn"]),
            ("quic_version", q.get("version") or "-", r["quic_version"]),
            ("packets", stream.get("packets_c2s", 0) + stream.get("packets_s2c", 0), int(r["packets"])),
            ("retry", q.get("retry"), "retry" in r["note"].split(";")),
            ("handshake_completed", q.get("handshake_completed"), "handshake" in r["note"].split(";")),
            ("zero_rtt_packets", q.get("zero_rtt_packets"), zero_rtt(r["note"]))):
        if value != want:
            errors.append("%s: %s: smbscope %r, tshark %r" % (where, name, value, want))
    return errors


def check_capture(smbscope, path, rows):
    errors = []
    cmd = [smbscope, "--format", "json", "-q", "--allow-netbios", "--allow-smb1", path]
    if keylog_for(path):
        cmd += ["--tls-keylog", keylog_for(path)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode not in (0, 1, 3):
        return ["%s: exit status %d: %s" % (path, proc.returncode, proc.stderr.decode(errors="replace").strip())]
    try:
        doc = json.loads(proc.stdout)
    except ValueError as e:
        return ["%s: invalid JSON: %s" % (path, e)]

    conns = {key(c.get("carrier", "tcp"), c["client"], c["client_port"], c["server"], c["server_port"]): c
             for c in doc["connections"]}
    flows = {key(f["proto"], f["client"], f["client_port"], f["server"], f["server_port"]): f
             for f in doc["netbios"]["flows"]}
    want_conns, want_flows = set(), set()
    for r in rows:
        k = key(r["kind"], r["client"], r["client_port"], r["server"], r["server_port"])
        where = "%s %s %s:%s -> %s:%s" % (os.path.basename(path), r["kind"], r["client"], r["client_port"],
                                          r["server"], r["server_port"])
        quic_smb = r["kind"] == "quic" and r["transport"] != "-"
        rdma_smb = r["transport"] in ("rdma-iwarp", "rdma-roce")  # RoCEv2 rows are kind udp
        if quic_smb or ((r["kind"] == "tcp" or rdma_smb) and r["transport"] != "-" and
                        (r["smb_version"] != "-" or r["nbss_types"] != "-")):
            want_conns.add(k)
            got = conns.get(k)
            if got is None:
                errors.append("%s: connection missing from smbscope's report" % where)
            else:
                exp = expected_conn(r)
                for f in CONN_FIELDS:
                    if got.get(f) != exp[f]:
                        errors.append("%s: %s: smbscope %r, tshark %r" % (where, f, got.get(f), exp[f]))
                if quic_smb:
                    errors += check_quic(got, r, where)
                for name, value, want in (("encrypted_pdus", got["encryption"]["encrypted_pdus"], r["encrypted_pdus"]),
                                          ("signed_pdus", got["signing"]["signed_pdus"], r["signed_pdus"])):
                    if str(value) != want:
                        errors.append("%s: %s: smbscope %r, tshark %s" % (where, name, value, want))
        if r["netbios_service"] != "-":
            want_flows.add(k)
            got = flows.get(k)
            if got is None:
                errors.append("%s: NetBIOS flow missing from smbscope's report" % where)
                continue
            for f, exp in (("service", r["netbios_service"]), ("state", r["netbios_state"]),
                           ("packets", int(r["packets"]))):
                if got.get(f) != exp:
                    errors.append("%s: netbios %s: smbscope %r, tshark %r" % (where, f, got.get(f), exp))
    for k in conns:
        if k not in want_conns:
            errors.append("%s: smbscope reports connection %s the manifest does not have" % (os.path.basename(path), k))
    for k in flows:
        if k not in want_flows:
            errors.append("%s: smbscope reports NetBIOS flow %s the manifest does not have" % (os.path.basename(path), k))
    return errors


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples", required=True)
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    manifest = load_manifest(os.path.join(a.samples, "MANIFEST.tsv"))
    names = a.names or sorted(manifest)
    errors, checked = [], 0
    for name in names:
        if name not in manifest:
            errors.append("%s: not in MANIFEST.tsv" % name)
            continue
        errors += check_capture(a.smbscope, os.path.join(a.samples, name), manifest[name])
        checked += 1
    for e in errors:
        print(e, file=sys.stderr)
    print("%d captures checked, %d disagreements" % (checked, len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
