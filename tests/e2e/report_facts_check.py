#!/usr/bin/python3
"""report_facts_check.py - the facts of smbscope's report against tshark.

The facts the text report prints (tests/golden holds two such reports, kept
only as a change detector) are asserted here against tshark's dissection of
the same capture, from the JSON report:
  inputs     packet count, first and last timestamp
  per SMB2 connection (keyed by addresses and ports)
             first/last seen, bytes each way (streams without loss or
             retransmission), dialects offered and chosen, security mode and
             capabilities of both sides, max read/write, negotiate contexts
             (hash algorithms, ciphers, signing algorithms, netname) offered
             and chosen, the cipher, NTLM user/domain/workstation (a failed
             logon's too), the status of each session's final SESSION_SETUP
             response, shares and their types, the NBSS called and calling
             names
  NetBIOS    the names asked and answered in each NBNS flow
Facts checked elsewhere against tshark (samples/MANIFEST.tsv, built by
tshark_facts.py, and manifest_check.py): transport, dialect, SMB version,
signed and encrypted PDU counts, NetBIOS flow service, state and packets.

usage: report_facts_check.py --smbscope BIN --samples DIR [CAPTURE-NAME...]
(default: every capture in DIR)
Exit status: 0 all agree, 1 a disagreement, 77 tshark missing (skipped;
failed under CI=true).
"""
import argparse
import collections
import datetime
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from absent import absent  # noqa: E402
import tshark_pass  # noqa: E402

# Values from MS-SMB2 2.2.3/2.2.4/2.2.3.1 and 2.2.10, written as smbscope names them.
DIALECTS = {0x0202: "2.0.2", 0x0210: "2.1", 0x0300: "3.0", 0x0302: "3.0.2", 0x0311: "3.1.1"}
CAPS = [(0x01, "DFS"), (0x02, "LEASING"), (0x04, "LARGE_MTU"), (0x08, "MULTI_CHANNEL"),
        (0x10, "PERSISTENT_HANDLES"), (0x20, "DIRECTORY_LEASING"), (0x40, "ENCRYPTION")]
SEC_MODE = [(0x01, "SIGNING_ENABLED"), (0x02, "SIGNING_REQUIRED")]
HASHES = {1: "SHA-512"}
CIPHERS = {1: "AES-128-CCM", 2: "AES-128-GCM", 3: "AES-256-CCM", 4: "AES-256-GCM"}
SIGNING = {0: "HMAC-SHA256", 1: "AES-CMAC", 2: "AES-GMAC"}
SHARE_TYPES = {1: "disk", 2: "pipe", 3: "print"}


def iso(epoch):
    """tshark's frame.time_epoch as smbscope writes times (microseconds, cut)."""
    sec, _, frac = epoch.partition(".")
    t = datetime.datetime.fromtimestamp(int(sec), datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + (frac + "000000")[:6] + "Z"


def bits(v, table):
    n = int(v, 16)
    return [name for bit, name in table if n & bit]


def tshark_rows(path):
    """Every frame's fields, from the one tshark run per capture the tests
    share (tshark_pass.py: its FIELDS hold the fields read here)."""
    return tshark_pass.rows(os.environ.get("TSHARK", "tshark"), path)


class Conn:
    """What tshark says about one TCP stream."""

    def __init__(self):
        self.times, self.bytes, self.syn_from = [], collections.Counter(), None
        self.first = None
        self.facts = {}
        self.users, self.trees, self.types = set(), [], []
        self.session_status = {}

    def add(self, r, src, dst):
        self.times.append(r["frame.time_epoch"][0])
        self.first = self.first or (src, dst)
        self.bytes[(src, dst)] += int(r["tcp.len"][0]) if r["tcp.len"] else 0
        if r["tcp.flags.syn"][:1] == ["1"] and r["tcp.flags.ack"][:1] == ["0"]:
            self.syn_from = (src, dst)
        for n, c in enumerate(r["nbss.called_name"]):
            self.facts["called_name"] = c
            self.facts["calling_name"] = r["nbss.calling_name"][n] if n < len(r["nbss.calling_name"]) else None
        if len(r["smb2.cmd"]) != 1:  # compound frames: fields cannot be told apart
            return
        cmd, resp = int(r["smb2.cmd"][0]), r["smb2.flags.response"][:1] == ["1"]
        side = "server" if resp else "client"
        if cmd == 0:
            if r["smb2.dialect"]:
                d = [DIALECTS.get(int(x, 16), x) for x in r["smb2.dialect"]]
                self.facts["dialect" if resp else "dialects_offered"] = d[0] if resp else d
            if r["smb2.capabilities"]:
                self.facts["capabilities." + side] = bits(r["smb2.capabilities"][0], CAPS)
            if r["smb2.sec_mode"]:
                self.facts["security_mode." + side] = bits(r["smb2.sec_mode"][0], SEC_MODE)
            if resp and r["smb2.max_read_size"]:
                self.facts["max_read"] = int(r["smb2.max_read_size"][0])
                self.facts["max_write"] = int(r["smb2.max_write_size"][0])
            ctx = "response" if resp else "request"
            for f, table, name in (("hash_algorithm", HASHES, "hash_algorithms"), ("cipher_id", CIPHERS, "ciphers"),
                                   ("signing_id", SIGNING, "algorithms")):
                vals = r["smb2.negotiate_context." + f]
                if vals:
                    self.facts["%s.%s" % (ctx, name)] = [table.get(int(x, 16), x) for x in vals]
            if r["smb2.negotiate_context.netname"]:
                self.facts[ctx + ".netname"] = r["smb2.negotiate_context.netname"][0]
        elif cmd == 1 and not resp and r["ntlmssp.auth.username"]:
            # tshark writes NULL for an empty string
            self.users.add(tuple(None if v == "NULL" else v for v in
                                 (r["ntlmssp.auth.username"][0], r["ntlmssp.auth.domain"][0],
                                  r["ntlmssp.auth.hostname"][0])))
        elif cmd == 1 and resp and r["smb2.sesid"]:
            # tshark's Info column names the status of an error response
            m = re.search(r"Error: (\w+)", r["_ws.col.Info"][0] if r["_ws.col.Info"] else "")
            status = m.group(1) if m else "STATUS_SUCCESS"
            if status != "STATUS_MORE_PROCESSING_REQUIRED":
                self.session_status[r["smb2.sesid"][0]] = status
        elif cmd == 3 and not resp and r["smb2.tree"]:
            self.trees.append(r["smb2.tree"][0])
        elif cmd == 3 and resp and r["smb2.share_type"]:
            self.types.append(SHARE_TYPES.get(int(r["smb2.share_type"][0], 16)))


def tshark_name(n):
    """A NetBIOS name as smbscope writes it: tshark pads the wildcard name
    '*' with NULs (shown <00>) and adds the type in parentheses."""
    n = n.split(" (")[0]
    return re.sub(r"^\*(<00>)+", "*<00>", n)


def smbscope_name(n):
    """tshark shows the bytes of a name that are not printable as <xx>."""
    return re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: "<%s>" % m.group(1).lower(), n)


def endpoint(r, which):
    a = r["ip." + which] or r["ipv6." + which]
    return a[0] if a else None


def contexts(c, side):
    """The JSON report's negotiate contexts of one side as the flat facts."""
    out = {}
    for ctx in ((c.get("negotiate_contexts") or {}).get(side) or {}).get("contexts", []):
        for name in ("hash_algorithms", "ciphers", "algorithms"):
            if name in ctx:
                out["%s.%s" % (side, name)] = ctx[name]
        if "netname" in ctx:
            out[side + ".netname"] = ctx["netname"]
    return out


def check_conn(where, c, t, errors):
    def expect(what, got, want):
        if got != want:
            errors.append("%s: %s: smbscope %r, tshark %r" % (where, what, got, want))
    cs = ((c["client"], c["client_port"]), (c["server"], c["server_port"]))
    expect("first_seen", c["first_seen"], iso(min(t.times, key=float)))
    expect("last_seen", c["last_seen"], iso(max(t.times, key=float)))
    s = c["stream"]
    if not (s["gaps"] or s["retransmissions"] or s["midstream"]):
        expect("bytes client->server", s["bytes_c2s"], t.bytes[cs])
        expect("bytes server->client", s["bytes_s2c"], t.bytes[(cs[1], cs[0])])
    if t.syn_from:
        expect("client (SYN sender)", cs, t.syn_from)
    nbss = c.get("nbss") or {}
    for f in ("called_name", "calling_name"):
        if f in t.facts:
            expect(f, nbss.get(f), t.facts[f])
    if "dialect" not in t.facts:  # no SMB2 negotiation: the manifest covers the rest
        return
    mine = {"dialect": c["dialect"], "dialects_offered": c["dialects_offered"],
            "max_read": c.get("max_read"), "max_write": c.get("max_write")}
    for side in ("client", "server"):
        mine["capabilities." + side] = (c.get("capabilities") or {}).get(side)
        mine["security_mode." + side] = (c.get("security_mode") or {}).get(side)
    mine.update(contexts(c, "request"))
    mine.update(contexts(c, "response"))
    for k, want in sorted(t.facts.items()):
        if k not in ("called_name", "calling_name"):
            expect(k, mine.get(k), want)
    if "response.ciphers" in t.facts:
        expect("cipher", (c.get("encryption") or {}).get("cipher"), t.facts["response.ciphers"][0])
    users = {(x.get("user"), x.get("domain"), x.get("workstation"))
             for x in c.get("sessions", []) if x.get("mechanism") == "ntlm" and x.get("user")}
    # every named user of an AUTHENTICATE, whether the logon succeeded or
    # failed (smb445-logon-failure: the failed logon's session record)
    expect("NTLM users", sorted(users), sorted(u for u in t.users if u[0]))
    # each session's final SESSION_SETUP status, as tshark names it
    mine = {x["session_id"]: x.get("status") for x in c.get("sessions", [])}
    expect("session status", {k: mine.get(k) for k in t.session_status}, t.session_status)
    for x in c.get("sessions", []):
        expect("session %s established" % x["session_id"], x.get("established"),
               x.get("status") == "STATUS_SUCCESS")
    expect("shares", sorted(x["path"] for x in c.get("shares", [])), sorted(t.trees))
    if len(t.trees) == len(t.types):
        expect("share types", sorted((x["path"], x.get("type")) for x in c.get("shares", [])),
               sorted(zip(t.trees, t.types)))


def check_capture(smbscope, path):
    errors = []
    p = subprocess.run([smbscope, "--format", "json", "-q", "--allow-netbios", "--allow-smb1", path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode not in (0, 1) or p.stderr:
        return ["%s: exit status %d, stderr %r" % (path, p.returncode, p.stderr[-300:])]
    doc = json.loads(p.stdout)
    conns, nbns, times = collections.defaultdict(Conn), collections.defaultdict(set), []
    for r in tshark_rows(path):
        times.append(r["frame.time_epoch"][0])
        src, dst = endpoint(r, "src"), endpoint(r, "dst")
        if r["tcp.stream"] and r["tcp.srcport"] and len(r["tcp.stream"]) == 1:
            conns[r["tcp.stream"][0]].add(r, (src, int(r["tcp.srcport"][0])), (dst, int(r["tcp.dstport"][0])))
        elif r["nbns.name"] and r["udp.srcport"]:
            ports = (int(r["udp.srcport"][0]), int(r["udp.dstport"][0]))
            key = (src, ports[0], dst, ports[1]) if ports[1] == 137 else (dst, ports[1], src, ports[0])
            nbns[key].update(tshark_name(n) for n in r["nbns.name"])
    name = os.path.basename(path)
    i = doc["inputs"][0]
    for what, got, want in (("packets", i["packets"], len(times)),
                            ("first_seen", i["first_seen"], iso(min(times, key=float))),
                            ("last_seen", i["last_seen"], iso(max(times, key=float)))):
        if got != want:
            errors.append("%s: input %s: smbscope %r, tshark %r" % (name, what, got, want))
    by_tuple = {}
    for t in conns.values():
        a, b = t.first
        by_tuple[(a, b)] = by_tuple[(b, a)] = t
    for c in doc["connections"]:
        if c.get("ip_proto") == "udp":
            continue  # SMB Direct over RoCEv2: no TCP stream; rdma_samples_check.py checks it
        cs = ((c["client"], c["client_port"]), (c["server"], c["server_port"]))
        where = "%s %s:%d -> %s:%d" % (name, cs[0][0], cs[0][1], cs[1][0], cs[1][1])
        if c.get("carrier") == "quic":
            continue  # SMB over QUIC: checked against tshark's QUIC dissection by manifest_check.py
        if cs not in by_tuple:
            errors.append("%s: tshark has no such TCP stream" % where)
            continue
        check_conn(where, c, by_tuple[cs], errors)
    for f in doc["netbios"]["flows"]:
        key = (f["client"], f["client_port"], f["server"], f["server_port"])
        # tshark's nbns.name: the names asked and answered (not those of a
        # node status answer, which smbscope lists too)
        if f["proto"] == "udp" and f["service"] == "nbns" and key in nbns:
            if not nbns[key] <= {smbscope_name(n) for n in f.get("names") or []}:
                errors.append("%s: nbns %s names: smbscope %r, tshark %r" % (name, key, f.get("names"),
                                                                              sorted(nbns[key])))
    return errors, len(doc["connections"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smbscope", required=True)
    ap.add_argument("--samples", required=True)
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    if not shutil.which("tshark"):
        return absent("tshark not installed")
    names = a.names or sorted(n for n in os.listdir(a.samples) if n.endswith((".pcap", ".pcapng", ".pcap.gz")))
    if not names:
        print("no capture in %s" % a.samples)
        return 1
    failed = 0
    for n in names:
        result = check_capture(a.smbscope, os.path.join(a.samples, n))
        errors, conns = result if isinstance(result, tuple) else (result, 0)
        for e in errors:
            print("FAIL " + e)
        print("%-4s %s (%d connections)" % ("ok" if not errors else "FAIL", n, conns))
        failed += bool(errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
