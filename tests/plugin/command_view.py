"""The smbscope command's side of the plugin comparisons: its JSON report of
a capture read as the same keys the plugin's fields give (tests/plugin/
plugin_test.py)."""
import collections
import json
import re
import subprocess

from wsenv import Failure


def dash(v):
    return None if v in (None, "", "-") else v


# Transports the command reports and the plugin does not yet: their rows are
# left out of every plugin comparison, and said so (an open item, not a pass).
NOT_IN_PLUGIN = ("rdma-iwarp", "rdma-roce", "quic")


class Command:
    """The smbscope command's JSON report of one capture (None: unreadable)."""

    def __init__(self, cmd, capture):
        p = subprocess.run(cmd + [capture], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # 1: policy violated, 3: inconclusive, still a report; 2: an input
        # error, with the report of what was read (a truncated file) or of
        # nothing (a format libpcap cannot read, e.g. Solaris snoop, which
        # tshark's wiretap reads).
        if p.returncode not in (0, 1, 2, 3):
            raise Failure("%s exited %d: %s" % (" ".join(cmd), p.returncode, p.stderr.decode()[-300:]))
        self.doc = json.loads(p.stdout.decode("utf-8"))
        self.readable = not (p.returncode == 2 and all(i.get("error") and not i.get("packets")
                                                       for i in self.doc["inputs"]))

    def flows(self):
        flows = collections.defaultdict(set)
        nb = {}
        for f in (self.doc.get("netbios") or {}).get("flows", []):
            key = (f.get("proto", "udp"), f["client"], int(f["client_port"]), f["server"], int(f["server_port"]))
            nb[key] = (dash(f.get("service")), dash(f.get("state")))
        for c in self.doc.get("connections", []):
            if c.get("transport") in NOT_IN_PLUGIN:
                continue
            key = ("tcp", c["client"], int(c["client_port"]), c["server"], int(c["server_port"]))
            svc, state = nb.pop(key, (None, None))
            flows[key].add((dash(c.get("transport")), dash(c.get("dialect")), svc, state))
        for key, (svc, state) in nb.items():
            flows[key].add((None, None, svc, state))
        return flows

    def words(self):
        """Per connection: the signing mode, signed PDUs seen, the encryption
        word and the first established session's authentication (the text
        report's AUTH column)."""
        out = {}
        for c in self.doc.get("connections", []):
            if c.get("transport") in NOT_IN_PLUGIN:
                continue
            key = ("tcp", c["client"], int(c["client_port"]), c["server"], int(c["server_port"]))
            sig = c.get("signing") or {}
            enc = c.get("encryption") or {}
            auth = None
            for r in c.get("sessions") or []:
                mech = r.get("mechanism")
                auth = ("anonymous" if r.get("anonymous") else "guest" if r.get("guest")
                        else mech if mech not in (None, "none") else None)
                if auth:
                    break
            out[key] = (sig.get("mode"), "1" if sig.get("signed_seen") else "0",
                        "encrypted" if enc.get("encrypted") else "unencrypted", auth)
        return out

    def undecided(self):
        """Rules left undecided by what a connection's capture lacks."""
        rules = set()
        for u in (self.doc.get("verdict") or {}).get("unknowns", []):
            if u.get("reason") in CONNECTION_GAPS:
                rules |= set(u.get("rules") or [])
        return rules

    def violations(self):
        """(client, cport, server, sport) -> rules, and the violations that
        name no conversation (NetBIOS without IP, flows beyond a cap)."""
        by_conv = collections.defaultdict(set)
        loose = []
        not_in_plugin = {(c["client"], int(c["client_port"]), c["server"], int(c["server_port"]))
                         for c in self.doc.get("connections", []) if c.get("transport") in NOT_IN_PLUGIN}
        for v in (self.doc.get("verdict") or {}).get("violations", []):
            key = violation_endpoints(v)
            if key in not_in_plugin:
                continue
            if key:
                by_conv[key].add(v["rule"])
            else:
                loose.append(v)
        return dict(by_conv), loose


# The command's unknowns that stand for one connection's missing evidence
# (the others are about the whole input: filter, drops, no packets).
CONNECTION_GAPS = ("mid-stream", "content-lost", "negotiate-not-decoded", "logon-not-seen")
ENDPOINTS = re.compile(r"(\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d+) -> (\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d+)")


def violation_endpoints(v):
    if "client" in v:  # structured (null for an aggregate of many flows)
        if v["client"] is None or v.get("server_port") is None:
            return None
        return (v["client"], int(v["client_port"]), v["server"], int(v["server_port"]))
    m = ENDPOINTS.search(v.get("detail") or "")
    if not m:
        return None
    return (m.group(1).strip("[]"), int(m.group(2)), m.group(3).strip("[]"), int(m.group(4)))
