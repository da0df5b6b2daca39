"""The smbscope command's side of the plugin comparisons: its JSON report of
a capture read as the same keys the plugin's fields give (tests/plugin/
plugin_test.py)."""
import collections
import json
import re
import subprocess

from wsenv import Failure


# Decode losses the plugin decides (plugin/loss.c), as the command counts
# them, from the command's JSON report.
def _stats(doc):
    return doc.get("stats") or {}


def _wlan(doc):
    """Every input an 802.11 capture (bare, radiotap, PPI)."""
    kinds = [i.get("link_type") for i in doc.get("inputs") or []]
    return bool(kinds) and all(k in ("IEEE802_11", "IEEE802_11_RADIO", "PPI") for k in kinds)


def _losses(doc):
    return (doc.get("evidence") or {}).get("decode_losses") or {}


PLUGIN_LOSSES = {"truncated": lambda d: _losses(d).get("truncated", 0),
                 "malformed": lambda d: _losses(d).get("malformed", 0),
                 "iwarp-crc": lambda d: _stats(d).get("iwarp_crc_bad_fpdus", 0),
                 "roce-icrc": lambda d: _stats(d).get("roce_icrc_bad_packets", 0),
                 "encrypted-link": lambda d: _losses(d).get("encrypted_link", 0),
                 "encrypted-esp": lambda d: _losses(d).get("encrypted_esp", 0),
                 # IP datagrams and 802.11 MSDUs together in the command; the
                 # plugin counts the 802.11 MSDUs whose last fragment came
                 # (IP fragments are the command's only: README, Limits), so
                 # on 802.11 captures only (decode_loss.py's have no IP
                 # fragments)
                 "fragment-incomplete": lambda d: _losses(d).get("fragment_datagrams_lost", 0)
                 if _wlan(d) else 0,
                 "quic-undecryptable": lambda d: (_stats(d).get("quic") or {}).get("undecryptable_initials", 0)
                 + (_stats(d).get("quic") or {}).get("undecryptable_packets", 0)}


def dash(v):
    return None if v in (None, "", "-") else v


# The kind of flow a connection is, as samples/MANIFEST.tsv and the plugin's
# flow keys name it: SMB over QUIC rows are "quic", SMB Direct over RoCEv2
# (UDP 4791) "udp", every other connection (SMB Direct over iWARP too) "tcp".
CONN_KINDS = {"quic": "quic", "rdma-roce": "udp"}


# QUIC versions as the command's JSON and samples/MANIFEST.tsv name them.
QUIC_VERSION_NAMES = {0x00000001: "1", 0x6B3343CF: "2"}


def conn_kind(transport):
    return CONN_KINDS.get(transport, "tcp")


def conn_key(c):
    return (conn_kind(c.get("transport")), c["client"], int(c["client_port"]), c["server"], int(c["server_port"]))


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
            key = conn_key(c)
            svc, state = nb.pop(key, (None, None))
            flows[key].add((dash(c.get("transport")), dash(c.get("dialect")), svc, state))
        for key, (svc, state) in nb.items():
            flows[key].add((None, None, svc, state))
        return flows

    def words(self):
        """Per connection: the signing mode, signed PDUs seen, the encryption
        word, the first established session's authentication (the text
        report's AUTH column), alt_port, and for SMB over QUIC the SNI and
        QUIC version."""
        out = {}
        for c in self.doc.get("connections", []):
            key = conn_key(c)
            sig = c.get("signing") or {}
            enc = c.get("encryption") or {}
            auth = None
            for r in c.get("sessions") or []:
                if not r.get("established"):
                    continue  # a failed logon authenticated nothing
                mech = r.get("mechanism")
                auth = ("anonymous" if r.get("anonymous") else "guest" if r.get("guest")
                        else mech if mech not in (None, "none") else None)
                if auth:
                    break
            quic = c.get("quic") or {}
            out[key] = (sig.get("mode"), "1" if sig.get("signed_seen") else "0",
                        "encrypted" if enc.get("encrypted") else "unencrypted", auth,
                        "1" if c.get("alt_port") else "0", dash(quic.get("sni")), quic.get("version"))
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
        for v in (self.doc.get("verdict") or {}).get("violations", []):
            key = violation_endpoints(v)
            if key:
                by_conv[key].add(v["rule"])
            else:
                loose.append(v)
        return dict(by_conv), loose


# The command's unknowns that stand for one connection's missing evidence
# (the others are about the whole input: filter, drops, no packets).
CONNECTION_GAPS = ("mid-stream", "content-lost", "negotiate-not-decoded", "logon-not-seen", "no-keys")
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
