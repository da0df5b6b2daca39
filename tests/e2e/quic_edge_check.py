#!/usr/bin/python3
"""quic_edge_check.py - the command on edge captures made from the samples, against tshark.

  migrated   samples/quic443-smb3_11.pcap with the client NAT-rebound to a
             new UDP port after the handshake (tests/e2e/quic_edge.py).
             tshark (quic.connection.number follows the connection IDs)
             sees one connection; the command must report one SMB over QUIC
             connection with tshark's client, ports, packet count, and with
             the key log its dialect and signed PDUs (a 4-tuple match would
             split it and lose the SMB after the rebinding).
  roce-neg   the first frames of samples/rdma-roce-4791.pcap: only the SMB
             Direct negotiate.  tshark_facts.py calls it an rdma-roce
             connection; so must the command (no dialect).
  iwarp-neg  the first frames of samples/rdma-iwarp-5445.pcap: TCP handshake,
             MPA request/reply, SMBD negotiate.  tshark dissects the SMBD
             negotiate request and response and no SMB2 (tshark_facts.py
             counts no connection without NBSS or SMB); the command must
             report one rdma-iwarp connection from the SYN's sender, no
             dialect (the plugin counts it too).
  new-cid    samples/quic443-smb3_11.pcap whose client moves to a connection
             ID the server announced in NEW_CONNECTION_ID, from a new UDP
             port (tests/e2e/quic_nci.py, re-protected with the key log).
             With the key log tshark keeps one connection and so must the
             command (every packet, dialect); without it neither can link
             the moved packets: the command's connection has exactly the
             packets of tshark's keyless one, and fewer.
  v2         QUIC version 2 after Version Negotiation on UDP 9443
             (tests/e2e/quic_v2.py: a reserved-version Initial, the server's
             Version Negotiation offering 2 and 1, the ClientHello as a v2
             Initial): tshark shows the three versions and decrypts the v2
             Initial; the command reports one SMB over QUIC connection,
             version "2", tshark's SNI and ports, alt_port, and loses nothing.

Facts from tests/e2e/tshark_facts.py on the same files.  The plugin side of
both is in tests/plugin/plugin_test.py (samples).

Usage: quic_edge_check.py --smbscope BIN --samples DIR   Exit: 0 ok, 1 a check failed.
"""

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import quic_edge  # noqa: E402
import quic_nci  # noqa: E402
import quic_v2  # noqa: E402


def facts(paths):
    out = subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tshark_facts.py")]
                         + paths, stdout=subprocess.PIPE, check=True).stdout.decode()
    rows = {}
    for r in csv.DictReader(out.splitlines(), delimiter="\t"):
        rows.setdefault(r["file"], []).append(r)
    return rows


def report(smbscope, pcap, keylog=None):
    cmd = [smbscope, "--format", "json", "-q"] + (["--tls-keylog", keylog] if keylog else []) + [pcap]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, check=False)
    if proc.returncode not in (0, 1, 3):
        raise RuntimeError("smbscope exit %d on %s" % (proc.returncode, pcap))
    return json.loads(proc.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples", required=True)
    args = ap.parse_args()
    failures = []

    def check(what, got, want):
        if got != want:
            failures.append("%s: %r, want %r (tshark)" % (what, got, want))

    with tempfile.TemporaryDirectory() as tmp:
        mig = os.path.join(tmp, "migrated.pcap")
        keylog = os.path.join(tmp, "migrated.keylog")
        old, new, first = quic_edge.migrated_copy(os.path.join(args.samples, "quic443-smb3_11.pcap"), mig)
        shutil.copy(os.path.join(args.samples, "quic443-smb3_11.keylog"), keylog)
        roce = os.path.join(tmp, "roce-neg.pcap")
        quic_edge.negotiate_only_copy(os.path.join(args.samples, "rdma-roce-4791.pcap"), roce,
                                      quic_edge.ROCE_NEGOTIATE_FRAMES)
        iwarp = os.path.join(tmp, "iwarp-neg.pcap")
        quic_edge.negotiate_only_copy(os.path.join(args.samples, "rdma-iwarp-5445.pcap"), iwarp,
                                      quic_edge.IWARP_NEGOTIATE_FRAMES)
        v2 = os.path.join(tmp, "v2.pcap")
        quic_v2.version2_copy(os.path.join(args.samples, "quic443-smb3_11.pcap"), v2, 9443)
        rows = facts([mig, roce, v2])
        want = rows.get("migrated.pcap", [])
        if len(want) != 1 or want[0]["transport"] != "quic":
            print("FAIL: tshark does not see one SMB over QUIC connection in the migrated copy: %s" % want)
            return 1
        w = want[0]
        for keys in (None, keylog):
            label = "migrated%s" % (" (keys)" if keys else "")
            conns = report(args.smbscope, mig, keys)["connections"]
            check(label + ": connections", len(conns), 1)
            if not conns:
                continue
            c = conns[0]
            check(label + ": transport", c["transport"], "quic")
            check(label + ": client", (c["client"], c["client_port"], c["server"], c["server_port"]),
                  (w["client"], int(w["client_port"]), w["server"], int(w["server_port"])))
            check(label + ": packets", c["stream"]["packets_c2s"] + c["stream"]["packets_s2c"], int(w["packets"]))
            if keys:
                check(label + ": dialect", c["dialect"], w["dialect"])
                check(label + ": signed PDUs", c["signing"]["signed_pdus"], int(w["signed_pdus"]))
        nci = os.path.join(tmp, "nci.pcap")
        _, _, moved = quic_nci.new_cid_copy(os.path.join(args.samples, "quic443-smb3_11.pcap"), keylog, nci)

        def conn_frames(keys):
            out = subprocess.run([os.environ.get("TSHARK", "tshark"), "-n", "-r", nci, "-T", "fields",
                                  "-e", "quic.connection.number", "-e", "quic.frame_type", "-E", "occurrence=a"]
                                 + (["-o", "tls.keylog_file:" + keys] if keys else []),
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout.decode()
            rows = [(line.split("\t") + [""])[:2] for line in out.splitlines()]
            return sum(1 for r in rows if r[0] == "0"), sum(1 for r in rows if "24" in r[1].split(","))

        with_keys, nci_frames = conn_frames(keylog)
        without, _ = conn_frames(None)
        check("new-cid: tshark (frames with keys, NEW_CONNECTION_ID frames, frames without keys < with)",
              (with_keys, nci_frames, without < with_keys), (sum(1 for _ in quic_edge._records(open(nci, "rb").read())),
                                                            1, True))
        for keys, want_packets in ((keylog, with_keys), (None, without)):
            label = "new-cid%s" % (" (keys)" if keys else "")
            conns = [c for c in report(args.smbscope, nci, keys)["connections"] if c["transport"] == "quic"]
            check(label + ": connections", len(conns), 1)
            if conns:
                c = conns[0]
                check(label + ": packets", c["stream"]["packets_c2s"] + c["stream"]["packets_s2c"], want_packets)
                check(label + ": dialect", c["dialect"], "3.1.1" if keys else None)
        # QUIC version 2 after Version Negotiation, on UDP 9443 (any port):
        # tshark decrypts the v2 Initial, the reserved version is not QUIC
        # to either, nothing is lost
        want = [(r["transport"], r["client"], int(r["client_port"]), r["server"], int(r["server_port"]), r["sni"],
                 r["quic_version"]) for r in rows.get("v2.pcap", [])]
        doc = report(args.smbscope, v2)
        check("v2: tshark's connection", [w[0] + " " + w[6] for w in want], ["quic 2"])
        check("v2: connections", [(c["transport"], c["client"], c["client_port"], c["server"], c["server_port"],
                                   c["quic"]["sni"], c["quic"]["version"]) for c in doc["connections"]], want)
        check("v2: alt_port, outcome, unknowns", ([c["alt_port"] for c in doc["connections"]],
                                                  doc["verdict"]["outcome"], doc["verdict"]["unknowns"]),
              ([True], "pass", []))
        vn = subprocess.run([os.environ.get("TSHARK", "tshark"), "-n", "-r", v2, "-T", "fields", "-e", "quic.version",
                             "-e", "quic.supported_version", "-E", "occurrence=a"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, check=True).stdout.decode().split()
        check("v2: tshark's versions", vn, ["0x1a2a3a4a", "0x00000000", "0x6b3343cf,0x00000001", "0x6b3343cf"])
        want = rows.get("roce-neg.pcap", [])
        conns = report(args.smbscope, roce)["connections"]
        check("roce-neg: connections", [(c["transport"], c["client"], c["client_port"], c["dialect"]) for c in conns],
              [(r["transport"], r["client"], int(r["client_port"]), None) for r in want])
        check("roce-neg: tshark's connection", [(r["transport"], r["dialect"]) for r in want], [("rdma-roce", "-")])
        out = subprocess.run([os.environ.get("TSHARK", "tshark"), "-n", "--disable-protocol", "artemis", "-r", iwarp,
                              "-T", "fields", "-e", "tcp.stream", "-e", "tcp.flags.syn", "-e", "tcp.flags.ack",
                              "-e", "ip.src", "-e", "tcp.srcport", "-e", "smb_direct.version.min",
                              "-e", "smb_direct.version.negotiated", "-e", "smb2.cmd"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout.decode()
        t = [(line.split("\t") + [""] * 8)[:8] for line in out.splitlines()]
        syn = [(r[3], int(r[4])) for r in t if r[1] in ("1", "True") and r[2] in ("0", "False")]
        negs = [(bool(r[5]), bool(r[6])) for r in t if r[5]]
        check("iwarp-neg: tshark", (len({r[0] for r in t}), negs, [r[7] for r in t if r[7]]),
              (1, [(True, False), (True, True)], []))
        conns = report(args.smbscope, iwarp)["connections"]
        check("iwarp-neg: connections", [(c["transport"], c["client"], c["client_port"], c["dialect"]) for c in conns],
              [("rdma-iwarp", syn[0][0], syn[0][1], None)] if syn else [])
    for f in failures:
        print("FAIL:", f)
    if not failures:
        print("ok: client port %d -> %d from frame %d: one SMB over QUIC connection; SMBD-negotiate-only "
              "RoCEv2 pair and iWARP connection reported; QUIC v2 after Version Negotiation on 9443"
              % (old, new, first))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
