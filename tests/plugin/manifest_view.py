"""The expected side of the plugin comparisons (tests/plugin/plugin_test.py):
samples/MANIFEST.tsv (tshark's own facts, tests/e2e/tshark_facts.py) read as
the plugin's flows, expert items and statistics, and the ways a capture is
read (SMB over QUIC: with its key log and without)."""
import collections
import csv
import glob
import os
import sys

from command_view import dash
from wsenv import SKIP

NO_DIALECT = "(no negotiate seen)"
STAT_TABLES = ("SMB connections by transport", "SMB connections by dialect", "NetBIOS flows by service and state")


def read_manifest(samples):
    path = os.path.join(samples, "MANIFEST.tsv")
    if not os.path.exists(path):
        return None
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def manifest_dialect(r, keyless):
    """The manifest's dialect of a row; SMB over QUIC read without the key log
    shows none (the manifest's QUIC facts are tshark's with the key log)."""
    return None if keyless and r["kind"] == "quic" else dash(r["dialect"])


def manifest_flows(rows, keyless=False):
    """key -> (transport, dialect, service, state), as tshark_facts.py saw them."""
    flows = collections.defaultdict(list)
    for r in rows:
        key = (r["kind"], r["client"], int(r["client_port"]), r["server"], int(r["server_port"]))
        state = dash(r["netbios_state"])
        flows[key].append((dash(r["transport"]), manifest_dialect(r, keyless), dash(r["netbios_service"]), state))
    return flows


def keylog_for(capture):
    """NAME.keylog beside NAME.pcap (SMB over QUIC samples), or None."""
    path = os.path.splitext(capture)[0] + ".keylog"
    return path if os.path.exists(path) else None


def modes(ts, capture):
    """(label, tshark options, smbscope options, keyless) per way to read a
    capture: with its key log when it has one (tshark's tls.keylog_file, the
    command's --tls-keylog), and always without."""
    out = []
    kl = keylog_for(capture)
    if kl:
        local = ts.capture(kl)
        out.append(("key log", ["-o", "tls.keylog_file:" + local], ["--tls-keylog", kl], False))
    out.append(("no key log" if kl else "", [], [], bool(kl)))
    return out


# Samples whose transport Wireshark itself cannot dissect, so a plugin that
# reads Wireshark's fields cannot see it (the command can: its own decoders).
WIRESHARK_BLIND = {
    "rdma-iwarp-midstream-5445.pcap": "tshark 4.0's iwarp_mpa needs the MPA startup, which a mid-stream"
                                      " capture lacks (no decode-as for it either)",
}


def samples_or_skip(args):
    samples = args.samples or os.path.join(args.source_root, "samples")
    rows = read_manifest(samples)
    if rows is not None:
        # A QUIC connection without ALPN "smb" is no flow of the plugin's nor
        # of the command's: the comparisons then require that neither shows it.
        rows = [r for r in rows if not (r["kind"] == "quic" and not dash(r["transport"]))]
    caps = sorted(glob.glob(os.path.join(samples, "*.pcap")))
    for cap in [c for c in caps if os.path.basename(c) in WIRESHARK_BLIND]:
        print("# not compared: %s: %s" % (os.path.basename(cap), WIRESHARK_BLIND[os.path.basename(cap)]))
        caps.remove(cap)
    if rows is None or not caps:
        print("SKIP: no samples/*.pcap with MANIFEST.tsv under %s" % samples)
        sys.exit(SKIP)
    by_file = collections.defaultdict(list)
    for r in rows:
        by_file[r["file"]].append(r)
    return caps, by_file


# Standard server ports per transport (dissector/transport/classify.c's
# transport_is_alt_port); the others: 139 and 445.
STANDARD_PORTS = {"quic": (443,), "rdma-iwarp": (5445,), "rdma-roce": (4791,)}


def alt_port_expected(r):
    """One "alternative port" expert item: SMB over QUIC at its ClientHello,
    the other transports at their first SMB message."""
    transport = dash(r["transport"])
    if not transport or int(r["server_port"]) in STANDARD_PORTS.get(transport, (139, 445)):
        return False
    return transport == "quic" or bool(dash(r["dialect"]) or dash(r["smb_version"]))


def expected_stats(rows, keyless=False):
    t, d, n = STAT_TABLES
    c = collections.Counter()
    for r in rows:
        if dash(r["transport"]):
            c[t + "/" + r["transport"]] += 1
            c[d + "/" + (manifest_dialect(r, keyless) or NO_DIALECT)] += 1
        if dash(r["netbios_service"]):
            c[n + "/" + r["netbios_service"] + " " + r["netbios_state"]] += 1
    out = dict(c)
    out["columns"] = "Value|Count"
    return out
